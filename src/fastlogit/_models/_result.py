"""The fitted model: coefficients, predictions, and statistics computed on first access."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

import numpy as np
from scipy.special import gammaln

from fastlogit._core import _special
from fastlogit._core._threads import resolve_threads
from fastlogit._input._training import TrainingData
from fastlogit._input._validate import as_design, as_row_vector, check_feature_names
from fastlogit._models._inference import InferenceMixin
from fastlogit._models._pickling import VersionedPickle
from fastlogit.backend._objective import linear_predictor


@dataclass(frozen=True, repr=False, eq=False)
class LogitResult(VersionedPickle, InferenceMixin):
    """A fitted binomial logistic regression.

    Inference (computed on first access, see _inference.py): ``params``,
    ``cov_params()``, ``bse``, ``zvalues`` (``tvalues``), ``pvalues``,
    ``conf_int()``, ``null_deviance``, ``nobs``, ``df_model``, ``df_resid``,
    ``aic``, ``bic``, ``pearson_chi2``, ``resid_response``, ``resid_pearson``,
    ``resid_deviance``, ``residuals()``, ``summary()``.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        w, in the user's own parametrisation (never the standardised one).
    intercept : float
        b (0.0 when fit_intercept=False).
    objective : float
        F(b, w): the penalised negative log-likelihood without the constant
        sum_i s_i log C(n_i, k_i), unscaled.
    grad_norm : float
        ``max_j |dF/dtheta_j| / sum_i s_i n_i`` at the answer, in the standardised
        coordinates the solver works in: the quantity compared with ``pgtol``.
        With an L1 term or bounds, the largest violation of the optimality (KKT)
        conditions in the same units: per coefficient the distance from 0 of
        the subdifferential (the bounds' normal cone included).
    n_iter, n_fev : int
        Solver iterations and passes over X: objective+gradient evaluations,
        plus Hessians ("newton") or Hessian-vector products ("newton-cg").
    converged : bool
        The solver's convergence test held.
    message : str
        The solver's own account of why it stopped.
    solver : str
    settings : dict
        The options the fit used (lam, fit_intercept, factr, pgtol, max_iter,
        threads, ...).
    n_rows, n_features : int
    feature_names : tuple of str or None
    """

    coef: np.ndarray
    intercept: float
    objective: float
    grad_norm: float
    n_iter: int
    n_fev: int
    converged: bool
    message: str
    solver: str
    settings: dict
    n_rows: int
    n_features: int
    feature_names: Optional[tuple] = None
    _training: Optional[TrainingData] = field(default=None, repr=False)
    _sgd_state: Optional[Any] = field(default=None, repr=False)  # to continue: partial_fit

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (f"LogitResult({self.n_rows} rows x {self.n_features} features, "
                f"lam={self.settings.get('lam')}, objective={self.objective:.10g}, "
                f"{self.n_iter} iterations, {self.n_fev} evaluations, {state})")

    # -- predictions ---------------------------------------------------------

    def decision_function(self, X: Any, offset: Any = None, threads: Optional[int] = None
                          ) -> np.ndarray:
        """Linear predictor z = offset + intercept + X @ coef for new rows.

        Parameters
        ----------
        X : {ndarray, csr_matrix} of shape (n_rows, n_features)
            Dense or sparse, validated like the training X.
        offset : ndarray of shape (n_rows,), optional
        threads : int, optional
            As in ``fit``.

        Returns
        -------
        ndarray of shape (n_rows,)

        Raises
        ------
        ValueError
            When X has the wrong number of columns, or (a DataFrame, with the model
            fitted on named columns) other column names or another column order.
        """
        check_feature_names(X, self.feature_names)
        design = as_design(X, "X", self.n_features)
        off = as_row_vector(offset, "offset", design.n_rows)
        return linear_predictor(design, self.intercept, self.coef, off, resolve_threads(threads))

    def predict_proba(self, X: Any, offset: Any = None, threads: Optional[int] = None
                      ) -> np.ndarray:
        """Success probability sigmoid(z) of each new row, shape (n_rows,).

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit(np.eye(2), [4, 4], [3, 1], lam=0.1)
        >>> res.predict_proba(np.eye(2)).round(3)
        array([0.726, 0.274])
        """
        return _special.sigmoid(self.decision_function(X, offset, threads))

    # -- statistics on the training data ---------------------------------------

    def _train(self) -> TrainingData:
        if self._training is None:
            raise self._no_data_error()
        return self._training

    @cached_property
    def fitted_linear_predictor(self) -> np.ndarray:
        """z_i on the training rows, shape (n_rows,)."""
        t = self._train()
        threads = resolve_threads(self.settings.get("threads"))
        return linear_predictor(t.design, self.intercept, self.coef, t.offset, threads)

    @cached_property
    def fitted_proba(self) -> np.ndarray:
        """Fitted success probabilities on the training rows."""
        return _special.sigmoid(self.fitted_linear_predictor)

    def _row_weights(self) -> np.ndarray:
        t = self._train()
        return np.ones(t.n.shape[0]) if t.sample_weight is None else t.sample_weight

    @cached_property
    def loglik(self) -> float:
        """Binomial log-likelihood sum_i s_i log dbinom(k_i; n_i, p_i), constant included.

        The binomial coefficient uses log-gamma, so it is defined for
        non-integer counts too; for integer counts it equals R's logLik of
        ``glm(cbind(k, n - k) ~ ..., family = binomial, weights = s)``.
        """
        t = self._train()
        z = self.fitted_linear_predictor
        s = self._row_weights()
        log_choose = gammaln(t.n + 1) - gammaln(t.k + 1) - gammaln(t.n - t.k + 1)
        ll = t.k * _special.log_sigmoid(z) + (t.n - t.k) * _special.log_sigmoid(-z)
        return float(np.sum(s * (log_choose + ll)))

    @cached_property
    def deviance(self) -> float:
        """2 sum_i s_i [k log(k / (n p)) + (n - k) log((n - k) / (n (1 - p)))], as R reports it."""
        t = self._train()
        return float(_special.unit_deviances(t.n, t.k, self._row_weights(),
                                             self.fitted_linear_predictor).sum())

    def robust_cov(self, cov_type: str = "HC0", groups: Any = None) -> np.ndarray:
        """Sandwich covariance of ``params``: R's ``sandwich::vcovHC`` or ``vcovCL``.

        Parameters
        ----------
        cov_type : {"HC0", "HC1", "HC2", "HC3", "cluster"}, default "HC0"
        groups : array_like of shape (n_rows,), optional
            Cluster labels for "cluster" (G / (G - 1) adjustment, vcovCL's default).

        Returns
        -------
        ndarray of shape (n_params, n_params)
            Intercept first when fitted. Computed with one pass over the rows
            (two for HC2/HC3), never an n x n matrix.

        Raises
        ------
        ValueError
            For another cov_type, missing groups, leverage 1 (HC2/HC3), or
            as ``cov_params``.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10],
        ...                     [2, 4, 5, 8], lam=0.0, solver="newton")
        >>> np.sqrt(np.diag(res.robust_cov("HC0"))).round(4)
        array([0.0968, 0.0778])
        """
        from fastlogit._models._robust import robust_cov

        return robust_cov(self, cov_type, groups)
