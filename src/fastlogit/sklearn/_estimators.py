"""The estimators themselves; the package docstring states their conventions and stopping rule."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "fastlogit.LogisticRegression and fastlogit.BinomialRegressor need scikit-learn: "
        "pip install fastlogit[sklearn]"
    ) from exc

from fastlogit._core import _special
from fastlogit._input._aggregate import aggregate as _aggregate
from fastlogit._input._validate import as_design
from fastlogit._models._fit import fit as _fit_binomial
from fastlogit._models._multinomial import fit_multinomial as _fit_multinomial
from fastlogit.backend._objective import linear_predictor
from fastlogit.backend._softmax_objective import softmax_scores
from fastlogit.sklearn._common import (
    _FACTR,
    _class_weights,
    _core_penalty,
    _proportions,
    _refit_warnings,
    _require_y,
    _resolve_lam,
    _SparseInput,
    _threads,
    _validate_data,
)

__all__ = ["BinomialRegressor", "LogisticRegression"]

class LogisticRegression(_SparseInput, ClassifierMixin, BaseEstimator):
    """Regularised logistic regression for binary and multiclass labels, scikit-learn style.

    Binary labels fit the binomial model (``coef_`` of shape (1, n_features));
    three or more classes fit the multinomial (softmax) model in the
    symmetric parametrisation, as scikit-learn's LogisticRegression does.
    Minimises ``sum_i s_i loss_i + 1/C [(1 - r)/2 ||w||^2 + r ||w||_1]``, r = l1_ratio
    (0 unless asked for; intercepts unpenalised).

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", None}, default "l2"
        None fits without a penalty. "l1" and "elasticnet" (lasso and the
        elastic net, through the core's bound-constrained L-BFGS-B with exact
        zeros) are for two classes; the multinomial model is ridge-only.
    C : float, default 1.0
        Inverse of the penalty on the summed (weighted) loss; np.inf: none.
    lam : float, optional
        The penalty directly (lam = 1 / C); give C or lam, not both.
    l1_ratio : float in [0, 1], optional
        The L1 share of the penalty: required with "elasticnet", 1 for "l1";
        with "l2", a ratio given alone is used as the mix (scikit-learn >= 1.8
        reads it so).
    fit_intercept : bool, default True
    tol : float, default 1e-4
        Stop when the largest entry of the gradient of the mean penalised
        loss (standardised coordinates) is below tol (see the module notes).
    max_iter : int, default 1000
        L-BFGS-B iterations.
    class_weight : dict or "balanced", optional
        Multiplies the sample weights of each class (scikit-learn's rule).
    warm_start : bool, default False
        Start from the previous fit's coefficients when the classes and
        features agree.
    n_jobs : int, optional
        Kernel threads: None follows OMP_NUM_THREADS, -1 all cores.
    aggregate : bool, default False
        Collapse duplicate rows of X first (``fastlogit.aggregate``) and fit
        the distinct rows with their pooled counts: the same model, and
        faster when distinct rows repeat several times on average (0/1 or
        low-cardinality categorical features); a cost without benefit when
        rows are nearly all distinct.
    verbose : int, default 0
        > 0 prints one line per iteration.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names (a pandas DataFrame).

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogit import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = LogisticRegression(C=10.0).fit(X, ["no", "no", "yes", "yes"])
    >>> clf.predict([[0.5], [2.5]])
    array(['no', 'yes'], dtype='<U3')
    >>> clf.predict_proba([[1.5]]).round(3)
    array([[0.5, 0.5]])
    """

    def __init__(self, penalty: Any = "l2", *, C: float = 1.0, lam: Optional[float] = None,
                 l1_ratio: Optional[float] = None, fit_intercept: bool = True,
                 tol: float = 1e-4, max_iter: int = 1000, class_weight: Any = None,
                 warm_start: bool = False, n_jobs: Optional[int] = None,
                 aggregate: bool = False, verbose: int = 0) -> None:
        self.penalty = penalty
        self.C = C
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.aggregate = aggregate
        self.verbose = verbose

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Class labels (two for the binomial model, more for the multinomial).
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For a single class, invalid parameters or malformed input.
        """
        _require_y(self, y)
        X, y = _validate_data(self, X, y)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        y_enc = y_enc.reshape(-1)
        if classes.shape[0] < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {classes[0]!r}")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            sw = sw * _class_weights(self.class_weight, classes, y, sw)[y_enc]
        binary = classes.shape[0] == 2
        options = dict(lam=_resolve_lam(self.C, self.lam, self.penalty),
                       fit_intercept=bool(self.fit_intercept), factr=_FACTR, pgtol=self.tol,
                       max_iter=self.max_iter,
                       threads=_threads(self.n_jobs),
                       verbose=bool(self.verbose),
                       **_core_penalty(self.penalty, self.l1_ratio, binary))
        x0 = self._warm_start_point(classes, X.shape[1])
        if binary:
            if self.aggregate:
                agg = _aggregate(X, y_enc, sw, kind="binomial")
                res = _refit_warnings(_fit_binomial, agg.X, agg.n, agg.k, x0=x0, **options)
            else:
                res = _refit_warnings(_fit_binomial, X, y=y_enc, sample_weight=sw, x0=x0,
                                      **options)
            coef, intercept = res.coef[None, :], np.array([res.intercept])
        else:
            if self.aggregate:
                agg = _aggregate(X, y_enc, sw, kind="multinomial")
                res = _refit_warnings(_fit_multinomial, agg.X, counts=agg.k, x0=x0, **options)
            else:
                res = _refit_warnings(_fit_multinomial, X, y=y_enc, sample_weight=sw, x0=x0,
                                      **options)
            coef, intercept = res.coef, res.intercept
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.n_iter_ = np.array([res.n_iter])
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> LogisticRegression:
        """Update the model with one more batch of a stream (two classes).

        One pass of mini-batch stochastic steps over the rows (``fastlogit.partial_fit``),
        continuing the optimiser state of the previous call. The penalty 1/C is on the
        summed loss of all rows streamed so far. A ``fit`` ends the stream.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like of shape (2,), optional
            All labels of the stream: required on the first call (unless a ``fit``
            set ``classes_``), and if given later, the same.
        sample_weight : array_like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            No classes on the first call, changed classes, labels outside classes,
            more than two classes, class_weight="balanced", malformed input.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogit import LogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(2000, 2))
        >>> y = (X[:, 0] + 0.3 * rng.normal(size=2000) > 0).astype(int)
        >>> clf = LogisticRegression()
        >>> for rows in np.array_split(np.arange(2000), 10):
        ...     clf = clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        >>> clf.predict([[-1.0, 0.0], [1.0, 0.0]])
        array([0, 1])
        """
        from fastlogit.sklearn._stream import classifier_partial_fit

        return classifier_partial_fit(self, X, y, classes, sample_weight, _threads(self.n_jobs))

    def _warm_start_point(self, classes: np.ndarray, p: int) -> Any:
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        previous = getattr(self, "classes_", None)
        if previous is None or not np.array_equal(previous, classes) or \
                self.coef_.shape[1] != p:
            return None
        if self.fit_intercept:
            start = np.column_stack([self.intercept_, self.coef_])
        else:
            start = self.coef_
        return start[0] if classes.shape[0] == 2 else start

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: shape (n_samples,) for two classes, (n_samples, n_classes) otherwise."""
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        design = as_design(X, "X")
        threads = _threads(self.n_jobs)
        if self.coef_.shape[0] == 1:
            return linear_predictor(design, float(self.intercept_[0]), self.coef_[0], None,
                                    threads)
        return softmax_scores(design, self.intercept_, np.ascontiguousarray(self.coef_.T), None,
                              0, threads)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log class probabilities, shape (n_samples, n_classes), finite for any scores."""
        check_is_fitted(self)
        if self.coef_.shape[0] == 1:
            z = self.decision_function(X)
            return np.column_stack([_special.log_sigmoid(-z), _special.log_sigmoid(z)])
        X = _validate_data(self, X, reset=False)
        return softmax_scores(as_design(X, "X"), self.intercept_,
                              np.ascontiguousarray(self.coef_.T), None, 2,
                              _threads(self.n_jobs))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self)
        if self.coef_.shape[0] == 1:
            z = self.decision_function(X)
            return np.column_stack([_special.sigmoid(-z), _special.sigmoid(z)])
        X = _validate_data(self, X, reset=False)
        return softmax_scores(as_design(X, "X"), self.intercept_,
                              np.ascontiguousarray(self.coef_.T), None, 1,
                              _threads(self.n_jobs))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]


class BinomialRegressor(_SparseInput, RegressorMixin, BaseEstimator):
    """Logistic regression on binomial data in scikit-learn's regressor form.

    ``y`` is the observed proportion k/n of each row and ``sample_weight``
    its number of trials n; ``predict`` returns the fitted success
    probabilities. Following scikit-learn's GLM regressors (e.g.
    PoissonRegressor) the objective is the *mean* binomial deviance plus a
    ridge penalty:

        1 / (2 sum_i n_i) * sum_i n_i deviance_i + alpha/2 ||w||^2,

    the same minimiser as ``fastlogit.fit(X, n, k, lam=alpha * sum(n))``.

    Parameters
    ----------
    alpha : float, default 1.0
        Penalty on the mean loss (scikit-learn's GLM convention).
    lam : float, optional
        The penalty on the summed loss instead (fastlogit's convention);
        give alpha or lam, not both.
    fit_intercept : bool, default True
    tol, max_iter, warm_start, n_jobs, aggregate, verbose
        As in ``LogisticRegression``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogit import BinomialRegressor
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> reg = BinomialRegressor(alpha=0.0).fit(X, [0.2, 0.5, 0.8], sample_weight=[10, 10, 10])
    >>> reg.predict(X).round(3)
    array([0.2, 0.5, 0.8])
    """

    def __init__(self, alpha: float = 1.0, *, lam: Optional[float] = None,
                 fit_intercept: bool = True, tol: float = 1e-4, max_iter: int = 1000,
                 warm_start: bool = False, n_jobs: Optional[int] = None,
                 aggregate: bool = False, verbose: int = 0) -> None:
        self.alpha = alpha
        self.lam = lam
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.aggregate = aggregate
        self.verbose = verbose

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BinomialRegressor:
        """Fit to proportions y with trials sample_weight.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Observed proportions k/n in [0, 1].
        sample_weight : array_like of shape (n_samples,), optional
            Trials n per row (default 1: Bernoulli rows with y in [0, 1]).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            y outside [0, 1], negative weights, invalid parameters, malformed input.
        """
        _require_y(self, y)
        X, y, n, alpha = _proportions(self, X, y, sample_weight)
        lam = float(self.lam) if alpha is None else alpha * float(n.sum())
        x0 = None
        coef: Optional[np.ndarray] = getattr(self, "coef_", None)
        if self.warm_start and coef is not None and coef.shape[0] == X.shape[1]:
            x0 = np.r_[getattr(self, "intercept_", 0.0), coef] if self.fit_intercept else coef
        options = dict(lam=lam, fit_intercept=bool(self.fit_intercept), factr=_FACTR,
                       pgtol=self.tol, max_iter=self.max_iter,
                       threads=_threads(self.n_jobs), verbose=bool(self.verbose), x0=x0)
        if self.aggregate:
            agg = _aggregate(X, y, n, kind="binomial")
            res = _refit_warnings(_fit_binomial, agg.X, agg.n, agg.k, **options)
        else:
            res = _refit_warnings(_fit_binomial, X, n, n * y, **options)
        self.coef_ = res.coef
        self.intercept_ = float(res.intercept)
        self.n_iter_ = int(res.n_iter)
        return self

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> BinomialRegressor:
        """Update the model with one more batch of proportions y and trials sample_weight.

        One pass of mini-batch stochastic steps (``fastlogit.partial_fit``), continuing
        the previous call's optimiser state; the penalty is alpha per trial (the mean
        deviance's convention), or lam on the summed loss streamed so far.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Observed proportions k/n in [0, 1].
        sample_weight : array_like of shape (n_samples,), optional
            Trials n per row (default 1).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            y outside [0, 1], negative weights, a changed number of features.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogit import BinomialRegressor
        >>> X, y = np.tile([[0.0], [1.0], [2.0]], (50, 1)), np.tile([0.2, 0.5, 0.8], 50)
        >>> reg = BinomialRegressor(alpha=0.0)
        >>> for epoch in range(10):                 # ten passes over a stream of 15 pieces
        ...     for rows in np.array_split(np.arange(150), 15):
        ...         reg = reg.partial_fit(X[rows], y[rows], sample_weight=np.full(10, 10.0))
        >>> reg.predict([[0.0], [2.0]]).round(1)
        array([0.2, 0.8])
        """
        from fastlogit.sklearn._stream import regressor_partial_fit

        return regressor_partial_fit(self, X, y, sample_weight, _threads(self.n_jobs))

    def predict(self, X: Any) -> np.ndarray:
        """Fitted success probabilities, shape (n_samples,)."""
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        z = linear_predictor(as_design(X, "X"), self.intercept_, self.coef_, None,
                             _threads(self.n_jobs))
        return _special.sigmoid(z)
