"""``fastlogit.LogisticRegressionCV``: scikit-learn's LogisticRegressionCV on warm-started paths.

Each fold (and each l1_ratio) walks the C grid once, from the smallest C (largest
penalty) up, every fit starting from the previous answer: two classes through
``fastlogit.path`` (strong-rule screening for an L1 part), more through a chain of
multinomial fits (``fit_softmax``). The held-out scores, the choice of C and l1_ratio,
the refit and every fitted attribute follow the installed scikit-learn release
(legacy or new attribute layout, its deprecation warnings). The scorer, the splitter
and metadata routing are scikit-learn's own.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np
from sklearn.model_selection import check_cv
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight

from fastlogit._selection._path import path as _path
from fastlogit.sklearn._classifier import _LinearClassifier
from fastlogit.sklearn._common import _class_weights, _require_y, _threads, _validate_data
from fastlogit.sklearn._cv_attrs import (
    CVScoring,
    cv_constraints,
    resolve_cv_options,
    routed_params,
    scorer_for_fold,
    set_cv_attributes,
)
from fastlogit.sklearn._engine import (
    _FACTR,
    Fitted,
    fit_binary,
    fit_multiclass,
    sklearn_warnings,
)
from fastlogit.sklearn._params import check_solver_options, validate_params


class LogisticRegressionCV(CVScoring, _LinearClassifier):
    """Logistic regression with C (and l1_ratio) chosen by cross-validation: scikit-learn's
    LogisticRegressionCV, parameter for parameter, on fastlogit's warm-started paths.

    Parameters
    ----------
    Cs : int or array_like of float, default 10
        The grid of C; an int n means ``np.logspace(-4, 4, n)``.
    l1_ratios : array_like of float in [0, 1], optional
        The grid of L1 shares (any number of classes). The default ("warn") and None
        mean ridge only, with scikit-learn's FutureWarning.
    fit_intercept : bool, default True
    cv : int, cross-validation generator or iterable, optional
        scikit-learn's ``check_cv`` (default StratifiedKFold(5)).
    dual : bool, default False
        True raises a ValueError (see LogisticRegression).
    penalty : {"l1", "l2", "elasticnet"}, default "deprecated"
        Deprecated by scikit-learn 1.8; when given it wins over ``l1_ratios``.
    scoring : str or callable, optional
        scikit-learn's scorers; None (and the default "warn") is accuracy.
    solver : str, default "lbfgs"
        Accepted; every name runs fastlogit's engine (see LogisticRegression).
    tol : float, default 1e-4
    max_iter : int, default 100
        Per fit along each path.
    class_weight : dict or "balanced", optional
        "balanced" weights come from the whole data, as in scikit-learn.
    n_jobs : int, optional
        Kernel threads of every fit (the folds run one after the other, each fit on
        all threads).
    verbose : int, default 0
    refit : bool, default True
        Refit on all the data at the best (C, l1_ratio) (summed fold scores), starting
        from the folds' mean answer; False averages the folds' best coefficients.
    intercept_scaling : float, default 1.0
        Accepted and has no effect (the intercept is never penalised).
    random_state : int, RandomState or None
        Accepted and has no effect (fits are deterministic; it never seeds ``cv``).
    use_legacy_attributes : bool, default "warn"
        scikit-learn's switch between the legacy attribute layout (dicts per class;
        the default, with a FutureWarning) and the new one (arrays, floats).

    Attributes
    ----------
    Cs_ : ndarray of shape (n_cs,)
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        ``[None]`` when no l1_ratios were given.
    scores_ : dict or ndarray
        Legacy: {class: (n_folds, n_cs[, n_l1_ratios])}; new: (n_folds, n_l1_ratios, n_cs).
    coefs_paths_ : dict or ndarray
        Legacy: {class: (n_folds, n_cs[, n_l1_ratios], n_dof)}; new: (n_folds,
        n_l1_ratios, n_cs, n_classes or 1, n_dof); n_dof = n_features + fit_intercept,
        the intercept last.
    C_, l1_ratio_ : ndarray of shape (1,) or (n_classes,), or float (new layout)
    n_iter_ : ndarray
        Legacy: (1, n_folds, n_cs[, n_l1_ratios]); new: (n_folds, n_l1_ratios, n_cs).
    classes_, coef_, intercept_, n_features_in_, feature_names_in_
        As in LogisticRegression.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogit import LogisticRegressionCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    >>> clf = LogisticRegressionCV(Cs=5, l1_ratios=(0.0,), scoring="neg_log_loss",
    ...                            use_legacy_attributes=False).fit(X, y)
    >>> clf.scores_.shape, clf.C_ in clf.Cs_
    ((5, 1, 5), True)
    """

    _parameter_constraints: dict = cv_constraints()

    def __init__(self, *, Cs: Any = 10, l1_ratios: Any = "warn", fit_intercept: bool = True,
                 cv: Any = None, dual: bool = False, penalty: Any = "deprecated",
                 scoring: Any = "warn", solver: str = "lbfgs", tol: float = 1e-4,
                 max_iter: int = 100, class_weight: Any = None, n_jobs: Optional[int] = None,
                 verbose: int = 0, refit: bool = True, intercept_scaling: float = 1.0,
                 random_state: Any = None, use_legacy_attributes: Any = "warn") -> None:
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **params: Any
            ) -> LogisticRegressionCV:
        """Cross-validate the grid, then fit at the best (C, l1_ratio).

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        sample_weight : array_like of shape (n_samples,), optional
            Weights of the fits and (as in scikit-learn) of the held-out scores.
        **params : dict
            Passed to the splitter and the scorer (scikit-learn's metadata routing).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A single class, invalid parameters (named), bad l1_ratios, ``dual=True``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from fastlogit import LogisticRegressionCV
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogisticRegressionCV(Cs=4, l1_ratios=(0.0,), scoring="accuracy",
        ...                            use_legacy_attributes=False).fit(X, y)
        >>> clf.coef_.shape
        (3, 4)
        """
        validate_params(self)
        check_solver_options(self)
        opts = resolve_cv_options(self)
        _require_y(self, y)
        X, y = _validate_data(self, X, y)
        X = X.astype(np.float64, copy=False)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = classes = encoder.classes_
        y_enc = encoder.transform(y).astype(np.intp)
        K = classes.shape[0]
        if K < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {classes[0]}.")
        splitter_params, score_params = routed_params(self, sample_weight, params)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y, **splitter_params))
        class_w = self._class_weight_vector(classes, y, sample_weight)
        sw_fit = _check_sample_weight(sample_weight, X, dtype=np.float64) * class_w[y_enc]
        sw_score = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        Cs = np.logspace(-4, 4, self.Cs) if isinstance(self.Cs, numbers.Integral) else \
            np.asarray(self.Cs, dtype=np.float64).reshape(-1)
        self.Cs_ = Cs
        ratios = opts.effective_ratios
        n_dof = X.shape[1] + int(self.fit_intercept)
        rows = 1 if K == 2 else K
        paths = np.zeros((len(folds), len(ratios), Cs.shape[0], rows, n_dof))
        scores = np.zeros((len(folds), len(ratios), Cs.shape[0]))
        n_iter = np.zeros((len(folds), len(ratios), Cs.shape[0]), dtype=np.int32)
        for f, (train, test) in enumerate(folds):
            score = scorer_for_fold(opts.scoring, classes, X, y, test, sw_score, score_params)
            for r, ratio in enumerate(ratios):
                fits = self._walk_grid(X[train], y_enc[train], sw_fit[train], K, Cs, ratio)
                for c, fitted in enumerate(fits):
                    paths[f, r, c] = _stack(fitted, self.fit_intercept)
                    n_iter[f, r, c] = fitted.n_iter
                    scores[f, r, c] = score(fitted)
        best = self._choose(X, y_enc, sw_fit, K, Cs, ratios, paths, scores)
        set_cv_attributes(self, opts, paths, scores, n_iter, best, X.shape[1])
        return self

    def _class_weight_vector(self, classes: np.ndarray, y: np.ndarray,
                             sample_weight: Any) -> np.ndarray:
        cw = self.class_weight
        if isinstance(cw, dict) and not set(cw) <= set(classes):
            raise ValueError("The given class_weight dict must have the class labels as keys; "
                             f"classes={classes} but key={cw.keys()}")
        if cw is None:
            return np.ones(classes.shape[0])
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        return _class_weights(cw, classes, y, sw if sw is not None else np.ones(len(y)))

    def _options(self) -> dict:
        return dict(fit_intercept=bool(self.fit_intercept), factr=_FACTR, pgtol=self.tol,
                    max_iter=max(int(self.max_iter), 1), threads=_threads(self.n_jobs),
                    verbose=self.verbose > 1)

    def _walk_grid(self, X: Any, y_enc: np.ndarray, sw: np.ndarray, K: int, Cs: np.ndarray,
                   ratio: float) -> list[Fitted]:
        """The fits at every C (in the order of Cs), walking from the smallest C up."""
        lams = np.where(np.isinf(Cs), 0.0, 1.0 / Cs)
        order = np.argsort(-lams, kind="stable")
        fits: list[Optional[Fitted]] = [None] * len(Cs)
        options = self._options()
        if K == 2:
            res = sklearn_warnings(_path, X, y=y_enc.astype(np.float64), sample_weight=sw,
                                   lams=lams[order], l1_ratio=ratio, **options)
            for i, j in enumerate(order):
                fits[j] = Fitted(res.coef[i][None, :], np.array([res.intercept[i]]),
                                 int(res.n_iter[i]), bool(res.converged[i]))
        else:
            x0 = None
            for j in order:
                fitted = fit_multiclass(X, y_enc, sw, K, float(lams[j]), ratio, options, x0)
                fits[j] = fitted
                x0 = _stack_front(fitted, self.fit_intercept)
        return [f for f in fits if f is not None]

    def _choose(self, X: Any, y_enc: np.ndarray, sw: np.ndarray, K: int, Cs: np.ndarray,
                ratios: list, paths: np.ndarray, scores: np.ndarray) -> dict:
        """The best (C, l1_ratio) and the final coefficients (refit or fold average)."""
        n_folds = paths.shape[0]
        if self.refit:
            total = scores.sum(axis=0).T  # (n_cs, n_l1): scikit-learn's tie-break order
            c, r = np.unravel_index(np.argmax(total), total.shape)
            # the refit starts where LogisticRegression's fit does (not from the folds'
            # mean, as scikit-learn's): coef_ is then exactly LogisticRegression(C=C_,
            # l1_ratio=l1_ratio_).fit's, however loose tol is
            lam = 0.0 if np.isinf(Cs[c]) else 1.0 / Cs[c]
            options = self._options()
            if self.max_iter == 0:
                start = paths[:, r, c].mean(axis=0)
                fitted = Fitted(start[:, :X.shape[1]], _intercepts(start, self.fit_intercept),
                                0)
            elif K == 2:
                fitted = fit_binary(X, y_enc.astype(np.float64), sw, lam, ratios[r], options)
            else:
                fitted = fit_multiclass(X, y_enc, sw, K, lam, ratios[r], options,
                                        classes=self.classes_)
            return dict(C=Cs[c], l1_index=[r], C_index=[c], coef=fitted.coef,
                        intercept=fitted.intercept)
        flat = scores.transpose(0, 2, 1).reshape(n_folds, -1)  # per fold (n_cs * n_l1)
        best = [np.unravel_index(i, (len(Cs), len(ratios))) for i in np.argmax(flat, axis=1)]
        w = np.mean([paths[f, r, c] for f, (c, r) in enumerate(best)], axis=0)
        return dict(C=float(np.mean([Cs[c] for c, _ in best])),
                    l1_index=[r for _, r in best], C_index=[c for c, _ in best],
                    coef=w[:, :X.shape[1]], intercept=_intercepts(w, self.fit_intercept))


def _stack(fitted: Fitted, fit_intercept: bool) -> np.ndarray:
    """scikit-learn's path layout: per class [coef..., intercept]."""
    if fit_intercept:
        return np.column_stack([fitted.coef, fitted.intercept])
    return np.asarray(fitted.coef)


def _stack_front(fitted: Fitted, fit_intercept: bool) -> Optional[np.ndarray]:
    """fastlogit's x0 layout: per class [intercept, coef...]."""
    if fit_intercept:
        start = np.column_stack([fitted.intercept, fitted.coef])
    else:
        start = np.asarray(fitted.coef)
    return start if np.all(np.isfinite(start)) else None


def _intercepts(w: np.ndarray, fit_intercept: bool) -> np.ndarray:
    return w[:, -1].copy() if fit_intercept else np.zeros(w.shape[0])

