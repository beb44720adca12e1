"""Helpers shared by the scikit-learn estimators (sklearn.py) and their partial_fit
(_sklearn_stream.py): input validation across scikit-learn versions, the mapping of
scikit-learn's parameters onto the core's, and warnings. Imports scikit-learn: load it
only from those modules.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

import numpy as np
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight

from fastlogit._core._threads import resolve_threads
from fastlogit._solvers._base import ConvergenceWarning

_FACTR = 64.0  # scikit-learn's lbfgs: ftol = 64 * eps


def _validate_data(estimator: Any, X: Any, y: Any = None, reset: bool = True) -> Any:
    """scikit-learn's validate_data (>= 1.6) or the older method of the same job."""
    kwargs = dict(accept_sparse="csr", dtype=(np.float64, np.float32), reset=reset)
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        if y is None:
            return estimator._validate_data(X, **kwargs)
        return estimator._validate_data(X, y, **kwargs)
    if y is None:
        return validate_data(estimator, X, **kwargs)
    return validate_data(estimator, X, y, **kwargs)


def _require_y(estimator: Any, y: Any) -> None:
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y "
                         "is None")


def _threads(n_jobs: Optional[int]) -> int:
    """Kernel threads from n_jobs (None: OpenMP's default; -1: all cores; k: k threads).
    The kernels use fewer on small inputs by themselves (_rows.pxd, thread_count)."""
    return resolve_threads(_n_jobs_to_threads(n_jobs))


def _n_jobs_to_threads(n_jobs: Optional[int]) -> Optional[int]:
    if n_jobs is None or n_jobs == -1:
        return n_jobs
    if isinstance(n_jobs, numbers.Integral) and n_jobs < -1:
        # joblib's convention: -2 means all cores but one
        import os

        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return n_jobs


def _resolve_lam(C: float, lam: Optional[float], penalty: Any) -> float:
    """The penalty on the summed loss from scikit-learn's C, or lam given directly."""
    if penalty is None or penalty == "none":
        return 0.0
    if lam is not None:
        if C != 1.0:
            raise ValueError(f"give C or lam, not both (C={C}, lam={lam}); lam = 1 / C")
        return float(lam)
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or not C > 0:
        raise ValueError(f"C must be a positive number (np.inf for no penalty); got {C!r}")
    return 0.0 if np.isinf(C) else 1.0 / float(C)


def _core_penalty(penalty: Any, l1_ratio: Any, binary: bool) -> dict:
    """The core's ``l1_ratio`` from scikit-learn's penalty and l1_ratio.

    "l2" (with l1_ratio None or 0, or a ratio given alone, as scikit-learn >= 1.8 reads it),
    "l1" (ratio 1) and "elasticnet" (a ratio in [0, 1] required); None fits without a
    penalty. The L1 part exists for two classes only: the multinomial fit is ridge-only.
    """
    if penalty not in ("l2", "l1", "elasticnet", None, "none"):
        raise ValueError(f"penalty must be 'l2', 'l1', 'elasticnet' or None; got {penalty!r}")
    if penalty in (None, "none"):
        return {}
    if penalty == "elasticnet" and l1_ratio is None:
        raise ValueError("penalty='elasticnet' needs l1_ratio, a number in [0, 1]")
    if penalty == "l1":
        if l1_ratio not in (None, 1, 1.0):
            raise ValueError(f"penalty='l1' means l1_ratio=1; got l1_ratio={l1_ratio!r}")
        l1_ratio = 1.0
    if l1_ratio is None:
        return {}
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real) or \
            not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be a number in [0, 1]; got {l1_ratio!r}")
    if l1_ratio > 0 and not binary:
        raise ValueError("the L1 / elastic-net penalty is available for two classes only; the "
                         "multinomial fit takes penalty='l2' (or None)")
    return {"l1_ratio": float(l1_ratio)} if l1_ratio > 0 else {}


def _class_weights(class_weight: Any, classes: np.ndarray, y: np.ndarray,
                   sample_weight: np.ndarray) -> np.ndarray:
    """scikit-learn's class weights; "balanced" counts weighted samples where the
    installed scikit-learn does (>= 1.6), as its own LogisticRegression then does."""
    try:
        return compute_class_weight(class_weight, classes=classes, y=y,
                                    sample_weight=sample_weight)
    except TypeError:  # scikit-learn < 1.6
        return compute_class_weight(class_weight, classes=classes, y=y)


def _refit_warnings(fit: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a core fit, re-issuing its ConvergenceWarning as scikit-learn's, so that
    scikit-learn's own warning filters (and GridSearchCV users) see it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = fit(*args, **kwargs)
    for w in caught:
        category = SklearnConvergenceWarning if issubclass(w.category, ConvergenceWarning) \
            else w.category
        warnings.warn(str(w.message), category, stacklevel=3)
    return res


class _SparseInput:
    """Both estimators take scipy sparse X (CSR directly; other formats are converted)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.sparse = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"X_types": ["2darray", "sparse"]}


def _proportions(estimator: Any, X: Any, y: Any, sample_weight: Any, reset: bool = True
                 ) -> tuple[Any, np.ndarray, np.ndarray, Optional[float]]:
    """BinomialRegressor's data: (X, y = k/n in [0, 1], n = sample_weight >= 0, the
    per-trial penalty alpha, or None when lam is given directly)."""
    X, y = _validate_data(estimator, X, y, reset=reset)
    y = np.asarray(y, dtype=np.float64)
    if y.size and (y.min() < 0 or y.max() > 1):
        i = int(np.flatnonzero((y < 0) | (y > 1))[0])
        raise ValueError(f"y must be the observed proportion k/n in [0, 1]; sample {i} has "
                         f"y={y[i]:g}. Pass the trials n as sample_weight.")
    n = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if n.size and n.min() < 0:
        i = int(np.flatnonzero(n < 0)[0])
        raise ValueError(f"sample_weight is the number of trials n and must be >= 0; "
                         f"sample {i} has {n[i]:g}")
    if estimator.lam is not None:
        if estimator.alpha != 1.0:
            raise ValueError("give alpha or lam, not both; lam = alpha * sum(sample_weight)")
        return X, y, n, None
    alpha = estimator.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0; got {alpha!r}")
    return X, y, n, float(alpha)
