"""BinomialRegressor; LogisticRegression is in _classifier.py, LogisticRegressionCV in _cv.py
(the package docstring states their conventions and stopping rule)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from fastlogit._core import _special
from fastlogit._input._aggregate import aggregate as _aggregate
from fastlogit._input._validate import as_design
from fastlogit._models._fit import fit as _fit_binomial
from fastlogit.backend._objective import linear_predictor
from fastlogit.sklearn._common import (
    _FACTR,
    _proportions,
    _refit_warnings,
    _require_y,
    _SparseInput,
    _threads,
    _validate_data,
)

__all__ = ["BinomialRegressor"]


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

    Notes
    -----
    ``score`` is D^2, the fraction of the binomial deviance explained (scikit-learn's
    ``d2_log_loss_score`` for proportions), not R^2: for a proportion model the
    deviance is the natural measure of fit. 1 is a perfect fit, 0 no better than the
    intercept-only model (the weighted mean proportion), and it can be negative.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

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

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """D^2: the fraction of binomial deviance explained, 1 - D(model) / D(null).

        D is the binomial deviance of proportions y with trials sample_weight; the null
        model predicts the weighted mean proportion for every row (scikit-learn's
        ``d2_log_loss_score``, here for proportions).

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Observed proportions in [0, 1].
        sample_weight : array_like of shape (n_samples,), optional
            Trials per row (default 1).

        Returns
        -------
        float
            1 for a perfect fit, 0 for no better than the null model; may be negative.
            NaN when the null deviance is 0 (every proportion equal).

        Raises
        ------
        ValueError
            y outside [0, 1], negative weights, malformed input.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogit import BinomialRegressor
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> reg = BinomialRegressor(alpha=0.0).fit(X, [0.2, 0.5, 0.8], sample_weight=[10] * 3)
        >>> round(reg.score(X, [0.2, 0.5, 0.8], sample_weight=[10] * 3), 6)
        1.0
        """
        check_is_fitted(self)
        X, y, n, _ = _proportions(self, X, y, sample_weight, reset=False)
        p = self.predict(X)
        ybar = float(np.sum(n * y) / np.sum(n)) if np.sum(n) > 0 else 0.5
        model = _binomial_deviance(y, p, n)
        null = _binomial_deviance(y, np.full_like(y, ybar), n)
        return 1.0 - model / null if null > 0 else float("nan")


def _binomial_deviance(y: np.ndarray, p: np.ndarray, n: np.ndarray) -> float:
    """2 sum_i n_i [y_i log(y_i / p_i) + (1 - y_i) log((1 - y_i) / (1 - p_i))]."""
    from scipy.special import xlogy

    p = np.clip(p, np.finfo(np.float64).tiny, 1.0)
    q = np.clip(1.0 - p, np.finfo(np.float64).tiny, 1.0)
    terms = xlogy(y, y) - xlogy(y, p) + xlogy(1 - y, 1 - y) - xlogy(1 - y, q)
    return float(2.0 * np.sum(n * terms))
