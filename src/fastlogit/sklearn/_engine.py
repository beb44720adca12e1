"""The fits behind the scikit-learn classifiers: labels and weights -> core fit -> coef.

One place calls the core for each model, so that LogisticRegression and
LogisticRegressionCV agree and an engine can be swapped in one line:

- two classes: ``fastlogit.fit`` (ridge, lasso, elastic net);
- three or more: ``fit_softmax``: ``fastlogit.fit_multinomial`` (L-BFGS-B for ridge, the
  coordinate-descent engine for an L1 part).

Classes with zero total weight (class_weight or sample weights) are left out of a
multinomial fit with an intercept and reported with coefficients 0 and intercept -inf:
the limit of the penalised fit as that class's weight goes to 0, so they are never
predicted (probability exactly 0).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit._input._aggregate import aggregate as _aggregate
from fastlogit._models._fit import fit as _fit_binomial
from fastlogit._models._multinomial import fit_multinomial as _fit_multinomial
from fastlogit._solvers._base import ConvergenceWarning

_FACTR = 64.0  # scikit-learn's lbfgs: ftol = 64 * eps


@dataclass(frozen=True)
class Fitted:
    """A fit in scikit-learn's layout: coef (n_rows_of_coef, p), intercept, n_iter."""

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool = True


def sklearn_warnings(fit: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a core fit; re-issue its ConvergenceWarning as scikit-learn's, worded as
    scikit-learn's ("lbfgs failed to converge after N iteration(s)...") so that
    scikit-learn's filters and GridSearchCV see it."""
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = fit(*args, **kwargs)
    n_iter = getattr(res, "n_iter", None)
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, ConvergenceWarning):
            after = f" after {int(n_iter)} iteration(s)" if np.ndim(n_iter) == 0 and \
                n_iter is not None else ""
            text = text.replace(" did not converge", f" failed to converge{after}", 1)
            warnings.warn(text, SklearnConvergenceWarning, stacklevel=3)
        else:
            warnings.warn(text, w.category, stacklevel=3)
    return res


def fit_binary(X: Any, y01: np.ndarray, sw: np.ndarray, lam: float, l1_ratio: float,
               options: dict, x0: Any = None, aggregate: bool = False) -> Fitted:
    """Binomial fit; coef of shape (1, p), intercept (1,)."""
    pen = dict(lam=lam, l1_ratio=l1_ratio) if l1_ratio > 0 else dict(lam=lam)
    if aggregate:
        agg = _aggregate(X, y01, sw, kind="binomial")
        res = sklearn_warnings(_fit_binomial, agg.X, agg.n, agg.k, x0=x0, **pen, **options)
    else:
        res = sklearn_warnings(_fit_binomial, X, y=y01, sample_weight=sw, x0=x0, **pen,
                               **options)
    return Fitted(res.coef[None, :], np.array([res.intercept]), int(res.n_iter),
                  bool(res.converged))


def fit_softmax(X: Any, labels: np.ndarray, counts: Optional[np.ndarray],
                sw: Optional[np.ndarray], lam: float, l1_ratio: float, options: dict,
                x0: Any = None) -> Any:
    """The multinomial fit for every penalty: the one call to switch engines.

    labels (n_rows,) in [0, K) with sw, or counts (n_rows, K); x0 per class
    [intercept, coef...]. Returns the core's result (coef (K, p), intercept (K,), n_iter).
    """
    pen = dict(lam=lam, l1_ratio=l1_ratio) if l1_ratio > 0 else dict(lam=lam)
    if counts is not None:
        return sklearn_warnings(_fit_multinomial, X, counts=counts, x0=x0, **pen, **options)
    return sklearn_warnings(_fit_multinomial, X, y=labels, sample_weight=sw, x0=x0, **pen,
                            **options)


def fit_multiclass(X: Any, y_enc: np.ndarray, sw: np.ndarray, K: int, lam: float,
                   l1_ratio: float, options: dict, x0: Optional[np.ndarray] = None,
                   aggregate: bool = False, classes: Optional[np.ndarray] = None) -> Fitted:
    """Multinomial fit over K classes, classes of zero weight left out (see the module).

    x0: (K, p + fit_intercept) per class [intercept, coef...] or None.
    """
    fit_intercept = bool(options.get("fit_intercept", True))
    totals = np.bincount(y_enc, weights=sw, minlength=K)
    # without an intercept a zero-weight class is fitted as any other, unless it has no rows
    keep = totals > 0 if fit_intercept else np.bincount(y_enc, minlength=K) > 0
    if keep.sum() < 2:
        names = np.asarray(classes if classes is not None else np.arange(K))
        shown = names[keep].tolist()  # plain Python values: labels print as given
        zero = names[~keep].tolist()
        raise ValueError(f"only class {shown} carries weight: classes {zero} have zero total "
                         "weight (class_weight times sample_weight); at least two classes "
                         "need positive weight")
    kept = np.flatnonzero(keep)
    remap = np.zeros(K, dtype=np.intp)
    remap[kept] = np.arange(kept.size)
    sub_x0 = None
    if x0 is not None and np.all(np.isfinite(x0[kept])):
        sub_x0 = x0[kept]
    if aggregate:
        agg = _aggregate(X, y_enc, sw, kind="multinomial")
        counts = np.ascontiguousarray(np.asarray(agg.k)[:, kept])
        res = fit_softmax(agg.X, None, counts, None, lam, l1_ratio, options, sub_x0)
    else:
        labels = remap[y_enc]  # rows of left-out classes have weight 0
        res = fit_softmax(X, labels, None, sw, lam, l1_ratio, options, sub_x0)
    coef = np.zeros((K, res.coef.shape[1]))
    intercept = np.full(K, -np.inf) if fit_intercept else np.zeros(K)
    coef[kept] = res.coef
    intercept[kept] = res.intercept
    return Fitted(coef, intercept, int(res.n_iter), bool(res.converged))


def starting_model(K: int, p: int, fit_intercept: bool, x0: Optional[np.ndarray]) -> Fitted:
    """max_iter=0: the model at the solver's start (zeros, or the warm start)."""
    rows = 1 if K == 2 else K
    if x0 is None:
        return Fitted(np.zeros((rows, p)), np.zeros(rows), 0, False)
    x0 = np.atleast_2d(x0)
    off = int(fit_intercept)
    intercept = x0[:, 0].copy() if fit_intercept else np.zeros(rows)
    return Fitted(np.array(x0[:, off:], dtype=np.float64), intercept, 0, False)


def warn_max_iter_zero() -> None:
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    warnings.warn("lbfgs failed to converge after 0 iteration(s): max_iter=0 returns the "
                  "starting model (coefficients at their starting values). Increase the "
                  "number of iterations (max_iter=0).", SklearnConvergenceWarning, stacklevel=3)
