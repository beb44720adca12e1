"""Statistical inference on a fitted binomial model, as R's ``glm`` and statsmodels report it.

``InferenceMixin`` gives ``LogitResult`` its covariance, standard errors,
tests, information criteria and residuals. Everything is computed on first
access from the training data the result keeps (views of the caller's arrays)
and cached.

Conventions (R's ``glm(cbind(k, n - k) ~ x, family = binomial, weights = s)``):
* params are [intercept, coef...] (coef alone without an intercept).
* Prior weights are s_i n_i; observations are the rows with s_i n_i > 0.
* cov_params() is the inverse of the penalised Hessian (observed = expected
  information for the logit link) at the fitted parameters.
* Tests and intervals are Wald's, on the normal distribution (the binomial
  dispersion is fixed at 1), as ``summary.glm`` and statsmodels report them.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from functools import cached_property
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
from scipy.special import ndtr, ndtri

from fastlogit._core import _special
from fastlogit._core._special import unit_deviances
from fastlogit._core._threads import single_threaded_blas
from fastlogit.backend._curvature import Curvature, Factor, penalty_diagonal
from fastlogit.backend._objective import L2Penalty

# Below this reciprocal condition number of the (Jacobi-scaled) Hessian,
# standard errors carry fewer than ~3 correct digits: warn.
_RCOND_WARN = 1e-13


def _small_blas(n_params: int) -> Any:
    """One BLAS thread for factorising a small Hessian: waking BLAS workers next to the
    kernels' (spinning) OpenMP threads costs ~0.1 s, the factorisation well under 1 ms."""
    return single_threaded_blas() if n_params <= 2000 else nullcontext()


class SeparationWarning(UserWarning):
    """The fit diverges: some fitted probabilities are numerically 0 or 1 (R's warning)."""


def null_linear_predictor(n: np.ndarray, k: np.ndarray, s: np.ndarray,
                          offset: Optional[np.ndarray], fit_intercept: bool) -> np.ndarray:
    """z of R's null model: offset + the intercept-only MLE (offset alone without intercept).

    Solves sum_i s_i n_i sigmoid(o_i + b) = sum_i s_i k_i for b by Newton's method
    safeguarded by bisection (the left side increases with b). When every
    trial is a failure (or a success) the MLE is -inf (+inf): z is then +-inf
    and every row is fitted exactly.
    """
    m = n.shape[0]
    o = np.zeros(m) if offset is None else offset
    if not fit_intercept:
        return o.copy()
    sn, sk = s * n, s * k
    total_n, total_k = float(sn.sum()), float(sk.sum())
    if total_k <= 0.0 or total_k >= total_n:
        return np.full(m, -np.inf if total_k <= 0.0 else np.inf)
    rate = total_k / total_n
    b = float(np.log(rate / (1.0 - rate)))
    if offset is None:
        return np.full(m, b)

    def score(b: float) -> tuple[float, float]:
        z = o + b
        p = _special.sigmoid(z)
        e = np.exp(-np.abs(z))
        return float(sn @ p) - total_k, float(sn @ (e / (1.0 + e) ** 2))

    b -= float(sn @ o) / total_n
    lo, hi, step = b, b, 1.0
    while score(lo)[0] > 0:
        lo -= step
        step *= 2
    step = 1.0
    while score(hi)[0] < 0:
        hi += step
        step *= 2
    b = min(max(b, lo), hi)
    for _ in range(200):
        g, h = score(b)
        if g == 0:
            break
        if g > 0:
            hi = b
        else:
            lo = b
        nb = b - g / h if h > 0 else 0.5 * (lo + hi)
        if not lo < nb < hi:
            nb = 0.5 * (lo + hi)
        if abs(nb - b) <= 4 * np.finfo(float).eps * max(1.0, abs(b)):
            b = nb
            break
        b = nb
    return o + b


class InferenceMixin:
    """Inference on the training data, mixed into ``LogitResult``."""

    # provided by LogitResult
    coef: np.ndarray
    intercept: float
    settings: dict
    n_features: int
    feature_names: Optional[tuple]

    if TYPE_CHECKING:  # computed on first access by LogitResult (cached properties)
        @property
        def loglik(self) -> float: ...
        @property
        def deviance(self) -> float: ...
        @property
        def fitted_linear_predictor(self) -> np.ndarray: ...
        @property
        def fitted_proba(self) -> np.ndarray: ...

    def _train(self) -> Any:  # pragma: no cover - LogitResult defines it
        raise NotImplementedError

    def _row_weights(self) -> np.ndarray:  # pragma: no cover - LogitResult defines it
        raise NotImplementedError

    # -- parameters ----------------------------------------------------------

    @property
    def _fit_intercept(self) -> bool:
        return bool(self.settings.get("fit_intercept", True))

    @property
    def params(self) -> np.ndarray:
        """[intercept, coef...] (coef alone without an intercept), shape (n_params,)."""
        if self._fit_intercept:
            return np.concatenate(([self.intercept], self.coef))
        return np.array(self.coef, dtype=np.float64)

    @property
    def param_names(self) -> tuple:
        """Names of ``params``: "Intercept", then feature_names (or x0, x1, ...)."""
        names = self.feature_names or tuple(f"x{j}" for j in range(self.n_features))
        return (("Intercept",) if self._fit_intercept else ()) + tuple(names)

    # -- covariance and Wald statistics --------------------------------------

    def _curvature(self) -> Curvature:
        t = self._train()
        if float(self.settings.get("l1_ratio", 0.0) or 0.0) > 0:
            raise ValueError("standard errors are not available for L1/elastic-net fits "
                             "(l1_ratio > 0): the penalty has no Hessian at zero coefficients")
        l2_factor = self.settings.get("l2_penalty_factor")  # set by standardize_penalty
        penalty = L2Penalty(float(self.settings.get("lam", 0.0)),
                            self.settings.get("penalty_factor") if l2_factor is None
                            else l2_factor)
        sn = t.n if t.sample_weight is None else t.sample_weight * t.n
        threads = int(self.settings.get("threads") or 1)
        return Curvature(t.design, sn, t.offset, threads, self._fit_intercept,
                         penalty_diagonal(penalty, self.n_features))

    @cached_property
    def _hessian_factor(self) -> Factor:
        H = self._curvature().hessian(
            self.intercept, self.coef, "standard errors (cov_params)",
            "Select or aggregate features for inference, or keep the coefficients without "
            "standard errors.")
        try:
            with _small_blas(H.shape[0]):
                factor = Factor(H, overwrite=True)  # H is ours: factored in place
            del H
        except np.linalg.LinAlgError:
            raise ValueError(
                "the Hessian at the fitted parameters is singular, so standard errors are "
                "undefined: X has collinear columns or a column of zeros (lam=0), or the "
                "data are separated. Drop the redundant columns or fit with lam > 0."
            ) from None
        if factor.rcond < _RCOND_WARN:
            warnings.warn(
                f"the Hessian is nearly singular (reciprocal condition {factor.rcond:.1e}): "
                "standard errors are unreliable. Check for collinear columns or separation.",
                RuntimeWarning, stacklevel=3,
            )
        return factor

    @cached_property
    def _cov(self) -> np.ndarray:
        factor = self._hessian_factor
        with _small_blas(factor.scale.shape[0]):
            cov = factor.inverse()
        cov.setflags(write=False)
        return cov

    def cov_params(self) -> np.ndarray:
        """Covariance of ``params``: the inverse of the penalised Hessian at the fit.

        For lam = 0 this is the usual (Fisher) covariance of the maximum
        likelihood estimate, as R's ``vcov`` and statsmodels give it. For
        lam > 0 it is the inverse of X~^T D X~ + lam diag(0, c): the covariance
        of the Laplace approximation to the posterior under the Gaussian prior
        w_j ~ N(0, 1 / (lam c_j)) that the ridge penalty is. The standard errors,
        z-values and intervals derived from it are then approximate Bayesian
        ones: they do not account for the shrinkage bias of the penalised
        estimate, and are not frequentist sampling errors of it.

        Returns
        -------
        ndarray of shape (n_params, n_params)
            Intercept first when fitted; read-only, computed once.

        Raises
        ------
        ValueError
            When the dense Hessian would exceed ``fastlogit.backend._curvature.MAX_HESSIAN_BYTES``
            (1 GiB, about 11,500 parameters), names the size it would need; when
            the Hessian is singular; for L1 fits; without training data.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10],
        ...                     [2, 4, 5, 8], lam=0.0, solver="newton")
        >>> res.cov_params().round(4)
        array([[ 0.3948, -0.1756],
               [-0.1756,  0.1133]])
        """
        return self._cov

    @cached_property
    def bse(self) -> np.ndarray:
        """Standard errors of ``params``, sqrt(diag(cov_params())), shape (n_params,)."""
        return np.sqrt(np.diag(self._cov))

    @cached_property
    def zvalues(self) -> np.ndarray:
        """Wald statistics params / bse, shape (n_params,)."""
        return self.params / self.bse

    @property
    def tvalues(self) -> np.ndarray:
        """Alias of ``zvalues`` (statsmodels' name)."""
        return self.zvalues

    @cached_property
    def pvalues(self) -> np.ndarray:
        """Two-sided p-values ``2 Phi(-|z|)`` of the Wald tests, shape (n_params,)."""
        return 2.0 * ndtr(-np.abs(self.zvalues))

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Wald confidence intervals params -+ z_{1-alpha/2} bse.

        Parameters
        ----------
        alpha : float, default 0.05
            1 - coverage, in (0, 1).

        Returns
        -------
        ndarray of shape (n_params, 2)
            Lower and upper bounds.

        Raises
        ------
        ValueError
            For alpha outside (0, 1).

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10],
        ...                     [2, 4, 5, 8], lam=0.0, solver="newton")
        >>> res.conf_int().round(3)
        array([[-2.634, -0.171],
               [ 0.194,  1.513]])
        """
        alpha = float(alpha)
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        half = float(ndtri(1.0 - alpha / 2.0)) * self.bse
        return np.column_stack([self.params - half, self.params + half])

    # -- goodness of fit -----------------------------------------------------

    @cached_property
    def nobs(self) -> int:
        """Observations: rows with s_i n_i > 0 (R's ``nobs`` of a binomial glm)."""
        t = self._train()
        return int(np.count_nonzero(self._row_weights() * t.n))

    @property
    def df_model(self) -> int:
        """Coefficients besides the intercept: n_features (nominal, also for lam > 0)."""
        return self.n_features

    @property
    def df_resid(self) -> int:
        """nobs - n_params, as R's df.residual (without rank deficiency)."""
        return self.nobs - self.params.shape[0]

    @cached_property
    def null_deviance(self) -> float:
        """Deviance of the intercept-only model, fitted with the same offset and weights (as R)."""
        t = self._train()
        z = null_linear_predictor(t.n, t.k, self._row_weights(), t.offset, self._fit_intercept)
        if not np.all(np.isfinite(z)):
            return 0.0  # all failures or all successes: the null model fits every row exactly
        return float(unit_deviances(t.n, t.k, self._row_weights(), z).sum())

    @property
    def aic(self) -> float:
        """-2 loglik + 2 n_params (R's and statsmodels' AIC)."""
        return -2.0 * self.loglik + 2.0 * self.params.shape[0]

    @property
    def bic(self) -> float:
        """-2 loglik + log(nobs) n_params: R's BIC (statsmodels' ``bic_llf``).

        statsmodels' GLM ``bic`` is by default the older deviance-based
        deviance - df_resid log(nobs), which differs by a constant.
        """
        return -2.0 * self.loglik + np.log(self.nobs) * self.params.shape[0]

    @cached_property
    def pearson_chi2(self) -> float:
        """Pearson's statistic, the sum of squared Pearson residuals."""
        return float(np.sum(self.resid_pearson ** 2))

    # -- residuals -----------------------------------------------------------

    def _proportions(self) -> np.ndarray:
        t = self._train()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(t.n > 0, t.k / np.where(t.n > 0, t.n, 1.0), 0.0)

    @cached_property
    def resid_response(self) -> np.ndarray:
        """k/n - p per row (k/n read as 0 when n = 0), shape (n_rows,)."""
        return self._proportions() - self.fitted_proba

    @cached_property
    def resid_pearson(self) -> np.ndarray:
        """(k/n - p) sqrt(s n / (p (1 - p))) per row, shape (n_rows,); 0 where s n = 0."""
        t = self._train()
        pw = self._row_weights() * t.n
        z = self.fitted_linear_predictor
        e = np.exp(-np.abs(z))
        var = e / (1.0 + e) ** 2  # p (1 - p) without cancellation
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self.resid_response * np.sqrt(pw / var)
        return np.where(pw > 0, r, 0.0)

    @cached_property
    def resid_deviance(self) -> np.ndarray:
        """sign(k/n - p) sqrt(d_i), d_i the row's deviance contribution, shape (n_rows,)."""
        t = self._train()
        d = unit_deviances(t.n, t.k, self._row_weights(), self.fitted_linear_predictor)
        return np.sign(self.resid_response) * np.sqrt(d)

    def residuals(self, kind: str = "deviance") -> np.ndarray:
        """Residuals of the training rows, as R's ``residuals(fit, type=kind)``.

        Parameters
        ----------
        kind : {"deviance", "pearson", "response"}, default "deviance"

        Returns
        -------
        ndarray of shape (n_rows,)

        Raises
        ------
        ValueError
            For another kind.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10],
        ...                     [2, 4, 5, 8], lam=0.0, solver="newton")
        >>> res.residuals("response").round(3)
        array([ 0.003,  0.034, -0.076,  0.039])
        """
        kinds = {"deviance": "resid_deviance", "pearson": "resid_pearson",
                 "response": "resid_response"}
        if kind not in kinds:
            raise ValueError(f"kind must be one of {sorted(kinds)}, got {kind!r}")
        return getattr(self, kinds[kind])

    def summary(self, alpha: float = 0.05) -> Any:
        """A text table of the fit in the spirit of statsmodels' ``summary()``.

        Parameters
        ----------
        alpha : float, default 0.05
            For the (1 - alpha) confidence intervals.

        Returns
        -------
        Summary
            Prints as the table; ``to_frame()`` gives the coefficient table as a
            pandas DataFrame.

        Raises
        ------
        ValueError
            As ``cov_params``.

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10],
        ...                     [2, 4, 5, 8], lam=0.0, solver="newton",
        ...                     feature_names=["dose"])
        >>> print(res.summary())  # doctest: +ELLIPSIS
        Binomial logistic regression (fastlogit)
        ...
        Df residuals:                        2 Null deviance:                    8.012
        ...
        Intercept      -1.4025      0.6283     -2.232     0.0256     -2.634     -0.171
        dose            0.8534      0.3366      2.536     0.0112      0.194      1.513
        ...
        """
        from fastlogit._models._summary import Summary

        return Summary.of(self, alpha)
