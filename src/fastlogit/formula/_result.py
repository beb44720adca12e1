"""``GLMResult``: a formula fit with labelled (pandas) statistics, as R's glm and statsmodels.

The fit itself is a ``LogitResult`` on the non-aliased columns (``fit``);
this class maps its numbers back to every column of the formula (aliased
ones as NaN, R's NA), applies the family's dispersion and the chosen
covariance (cov_type), and encodes new data for ``predict``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

import numpy as np
from scipy import stats
from scipy.special import ndtri

from fastlogit._models._robust import check_cov_type, robust_cov
from fastlogit.formula._frame import ModelFrame, require_formula_libraries

FAMILIES = ("binomial", "quasibinomial")
# Above this many coefficients, a model with a many-level factor gets its standard errors
# from the factor-absorbing block formulas (_absorb.py) instead of the dense covariance.
ABSORB_MIN_PARAMS = 2000


@dataclass(frozen=True, repr=False, eq=False)
class GLMResult:
    """A fitted binomial GLM with R-style labelled statistics.

    Estimates and inference (pandas objects indexed by term name, e.g.
    ``agegp[T.35-44]``): ``params``, ``bse``, ``tvalues`` (``zvalues``),
    ``pvalues``, ``cov_params()``, ``conf_int()``, ``summary()``. Fit
    statistics: ``deviance``, ``null_deviance``, ``llf``, ``aic``, ``bic``,
    ``nobs``, ``df_resid``, ``df_model``, ``rank``, ``dispersion``
    (``scale``), ``pearson_chi2``, ``n_dropped``. Per row: ``fittedvalues``,
    ``resid_response``, ``resid_pearson``, ``resid_deviance``,
    ``resid_working``, ``hatvalues``. ``predict(newdata)`` encodes new data as
    the fit did; ``with_cov()`` switches the covariance.

    Attributes
    ----------
    fit : LogitResult
        The underlying fit on the non-aliased columns.
    frame : ModelFrame
        The encoded training rows (design, counts, offset, encoding).
    aliased : ndarray of bool, shape (n_columns,)
        Columns found linearly dependent on earlier ones (NaN coefficients).
    family : {"binomial", "quasibinomial"}
    cov_type : str
    method : str
        The solver used, or "firth".
    """

    fit: Any
    frame: ModelFrame
    removed: np.ndarray  # aliased or dropped by the caller (drop1, profiles)
    aliased: np.ndarray
    family: str
    cov_type: str
    method: str
    offset_column: Optional[str] = None
    has_offset_array: bool = False
    extra_offset: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        return (f"GLMResult({self.formula!r}, family={self.family!r}, nobs={self.nobs}, "
                f"deviance={self.deviance:.6g}, cov_type={self.cov_type!r})")

    # -- names -----------------------------------------------------------------

    @property
    def formula(self) -> str:
        return self.frame.encoding.formula

    @property
    def param_names(self) -> tuple:
        """Every coefficient of the formula, aliased ones included ("Intercept" first)."""
        enc = self.frame.encoding
        return (("Intercept",) if enc.intercept else ()) + enc.column_names

    @cached_property
    def _kept(self) -> np.ndarray:
        """Positions in param_names of the fitted (non-aliased) parameters."""
        shift = int(self.frame.encoding.intercept)
        cols = np.flatnonzero(~self.removed) + shift
        return np.concatenate((np.arange(shift), cols)).astype(np.intp)

    def _series(self, values: np.ndarray, name: Optional[str] = None) -> Any:
        _, pd = require_formula_libraries()
        full = np.full(len(self.param_names), np.nan)
        full[self._kept] = values
        return pd.Series(full, index=list(self.param_names), name=name)

    def _rows(self, values: np.ndarray, name: Optional[str] = None) -> Any:
        _, pd = require_formula_libraries()
        return pd.Series(values, index=self.frame.index, name=name)

    # -- estimates and covariance --------------------------------------------

    @property
    def params(self) -> Any:
        """Coefficients, a pandas Series over ``param_names`` (NaN where aliased)."""
        return self._series(self.fit.params)

    @cached_property
    def dispersion(self) -> float:
        """1 for binomial; Pearson chi2 / df_resid for quasibinomial (R's summary.glm)."""
        if self.family == "binomial":
            return 1.0
        return float(self.fit.pearson_chi2 / self.df_resid) if self.df_resid > 0 else np.nan

    @property
    def scale(self) -> float:
        """Alias of ``dispersion`` (statsmodels' name)."""
        return self.dispersion

    @cached_property
    def _absorbed(self) -> Optional[np.ndarray]:
        """The many-level factor's columns when the dense covariance is too big to form."""
        from fastlogit.formula._absorb import absorbable_block

        if self.rank <= ABSORB_MIN_PARAMS:
            return None
        return absorbable_block(self)

    @cached_property
    def _cov(self) -> np.ndarray:
        if self._absorbed is not None:
            raise ValueError(
                f"the full covariance of {self.rank} coefficients is not formed for a model "
                f"with a many-level factor (it would take {8 * self.rank ** 2 / 1e9:.1f} GB); "
                f"bse, tvalues, pvalues and conf_int() are computed exactly without it")
        if self.cov_type == "nonrobust":
            return self.fit.cov_params() * self.dispersion
        return robust_cov(self.fit, self.cov_type, self.frame.groups)

    def cov_params(self) -> Any:
        """Covariance of the coefficients (cov_type's), a DataFrame; NaN rows/columns where
        aliased (R's ``vcov(complete = TRUE)``).

        Returns
        -------
        pandas.DataFrame of shape (n_params, n_params)

        Raises
        ------
        ValueError
            For a model with a many-level factor whose dense covariance is not formed.

        Examples
        --------
        >>> import pandas as pd, fastlogit
        >>> df = pd.DataFrame({"dose": [0, 1, 2, 3], "dead": [2, 4, 5, 8],
        ...                    "alive": [8, 6, 5, 2]})
        >>> fastlogit.glm("cbind(dead, alive) ~ dose", df).cov_params().round(4)
                   Intercept    dose
        Intercept     0.3948 -0.1756
        dose         -0.1756  0.1133
        """
        _, pd = require_formula_libraries()
        P = len(self.param_names)
        full = np.full((P, P), np.nan)
        full[np.ix_(self._kept, self._kept)] = self._cov
        return pd.DataFrame(full, index=list(self.param_names), columns=list(self.param_names))

    @property
    def use_t(self) -> bool:
        """Whether Wald statistics are t (quasibinomial with its own covariance) or z."""
        return self.family == "quasibinomial" and self.cov_type == "nonrobust"

    @cached_property
    def _bse(self) -> np.ndarray:
        if self._absorbed is not None:
            from fastlogit.formula._absorb import absorbed_bse

            return absorbed_bse(self.fit, self._absorbed, self.cov_type, self.frame.groups,
                                self.dispersion)
        return np.sqrt(np.diag(self._cov))

    @property
    def bse(self) -> Any:
        """Standard errors (Series)."""
        return self._series(self._bse)

    @property
    def tvalues(self) -> Any:
        """Wald statistics params / bse (Series); t for quasibinomial, z otherwise."""
        return self._series(self.fit.params / self._bse)

    zvalues = tvalues

    def _pvalues(self, stat: np.ndarray) -> np.ndarray:
        if self.use_t:
            return 2.0 * stats.t.sf(np.abs(stat), self.df_resid)
        return 2.0 * stats.norm.sf(np.abs(stat))

    @property
    def pvalues(self) -> Any:
        """Two-sided p-values of the Wald statistics (Series)."""
        return self._series(self._pvalues(self.fit.params / self._bse))

    def conf_int(self, alpha: float = 0.05, method: str = "wald") -> Any:
        """Confidence intervals of the coefficients.

        Parameters
        ----------
        alpha : float, default 0.05
            1 - coverage.
        method : {"wald", "profile"}, default "wald"
            "wald": params -+ z_{1-alpha/2} bse with cov_type's bse (R's
            ``confint.default``). "profile": profile-likelihood intervals
            (MASS's ``confint.glm``), solved exactly rather than interpolated.

        Returns
        -------
        pandas.DataFrame of shape (n_params, 2)
            Columns "2.5 %" and "97.5 %" (for alpha = 0.05), as R labels them.

        Raises
        ------
        ValueError
            For alpha outside (0, 1) or another method.

        Examples
        --------
        >>> import pandas as pd, fastlogit
        >>> df = pd.DataFrame({"dose": [0, 1, 2, 3], "dead": [2, 4, 5, 8],
        ...                    "alive": [8, 6, 5, 2]})
        >>> fastlogit.glm("cbind(dead, alive) ~ dose", df).conf_int().round(3)
                    2.5 %  97.5 %
        Intercept  -2.634  -0.171
        dose        0.194   1.513
        """
        _, pd = require_formula_libraries()
        alpha = float(alpha)
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {alpha}")
        if method == "profile":
            from fastlogit.formula._profile import profile_interval

            lo, hi = profile_interval(self, alpha)
        elif method == "wald":
            half = float(ndtri(1.0 - alpha / 2.0)) * self._bse
            lo, hi = self.fit.params - half, self.fit.params + half
        else:
            raise ValueError(f"method must be 'wald' or 'profile'; got {method!r}")
        labels = [f"{100 * alpha / 2:g} %", f"{100 * (1 - alpha / 2):g} %"]
        return pd.DataFrame({labels[0]: self._series(lo), labels[1]: self._series(hi)})

    def with_cov(self, cov_type: str, groups: Any = None) -> GLMResult:
        """The same fit with another covariance (no refit).

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"}
        groups : array_like of shape (n_rows of data,) or str, optional
            Cluster labels for "cluster": a column name, or one label per row of
            the data the model was fitted on (rows dropped for missing values
            are dropped here too), or per fitted row.

        Returns
        -------
        GLMResult

        Raises
        ------
        ValueError
            For another cov_type, or groups missing (cluster) or not a column.

        Examples
        --------
        >>> import pandas as pd, fastlogit
        >>> df = pd.DataFrame({"dose": [0, 1, 2, 3], "dead": [2, 4, 5, 8],
        ...                    "alive": [8, 6, 5, 2]})
        >>> fastlogit.glm("cbind(dead, alive) ~ dose", df).with_cov("HC0").bse.round(4)
        Intercept    0.0968
        dose         0.0778
        dtype: float64
        """
        check_cov_type(cov_type, groups)
        frame = self.frame
        if groups is not None:
            if isinstance(groups, str):
                if frame.data is None or groups not in frame.data.columns:
                    raise ValueError(f"groups={groups!r} is not a column of the model's data")
                groups = frame.data[groups].to_numpy()
            g = np.asarray(groups)
            if g.ndim == 1 and g.shape[0] == frame.rows.size + frame.n_dropped \
                    and frame.n_dropped:
                g = g[frame.rows]
            frame = dataclasses.replace(frame, groups=g)
        return dataclasses.replace(self, cov_type=cov_type, frame=frame)

    # -- fit statistics --------------------------------------------------------

    @property
    def nobs(self) -> int:
        """Rows carrying trials (R's nobs)."""
        return self.fit.nobs

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values (R's 'observations deleted due to missingness')."""
        return self.frame.n_dropped

    @property
    def rank(self) -> int:
        """Estimated (non-aliased) coefficients."""
        return int(self._kept.size)

    @property
    def df_resid(self) -> int:
        """nobs - rank (R's df.residual)."""
        return self.nobs - self.rank

    @property
    def df_model(self) -> int:
        """rank - 1 with an intercept (statsmodels' df_model)."""
        return self.rank - int(self.frame.encoding.intercept)

    @property
    def deviance(self) -> float:
        return float(self.fit.deviance)

    @property
    def null_deviance(self) -> float:
        return float(self.fit.null_deviance)

    @property
    def pearson_chi2(self) -> float:
        return float(self.fit.pearson_chi2)

    @property
    def llf(self) -> float:
        """Binomial log-likelihood (R's logLik); NaN for quasibinomial."""
        return float(self.fit.loglik) if self.family == "binomial" else np.nan

    @property
    def aic(self) -> float:
        """-2 llf + 2 rank (R's AIC); NaN for quasibinomial."""
        return -2.0 * self.llf + 2.0 * self.rank

    @property
    def bic(self) -> float:
        """-2 llf + log(nobs) rank (R's BIC); NaN for quasibinomial."""
        return -2.0 * self.llf + np.log(self.nobs) * self.rank

    @property
    def converged(self) -> bool:
        return bool(self.fit.converged)

    # -- per row ---------------------------------------------------------------

    @property
    def fittedvalues(self) -> Any:
        """Fitted probabilities of the training rows (Series on the data's index)."""
        return self._rows(self.fit.fitted_proba)

    @property
    def resid_response(self) -> Any:
        return self._rows(self.fit.resid_response)

    @property
    def resid_pearson(self) -> Any:
        return self._rows(self.fit.resid_pearson)

    @property
    def resid_deviance(self) -> Any:
        return self._rows(self.fit.resid_deviance)

    @property
    def resid_working(self) -> Any:
        """(y - p) / (p (1 - p)), R's working residuals."""
        p = self.fit.fitted_proba
        t = self.frame
        y = np.divide(t.k, t.n, out=np.zeros_like(t.k), where=t.n > 0)
        return self._rows((y - p) / (p * (1.0 - p)))

    @property
    def hatvalues(self) -> Any:
        """Leverages (R's hatvalues)."""
        from fastlogit._models._robust import leverages

        return self._rows(leverages(self.fit))

    # -- predictions -----------------------------------------------------------

    def predict(self, newdata: Any = None, type: str = "response", se_fit: bool = False,
                offset: Any = None, alpha: float = 0.05) -> Any:
        """Predictions for new data (or the training rows), as R's ``predict.glm``.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Encoded as the fit's data were (same levels, contrasts and
            transforms); rows with a missing value give NaN. Default: the
            training rows.
        type : {"response", "link"}, default "response"
            Probabilities, or the linear predictor.
        se_fit : bool, default False
            Also return standard errors and (1 - alpha) confidence limits. On
            the link scale se = sqrt(x~^T V x~) (V = cov_params() of cov_type);
            for probabilities se is the delta method's, se_link p (1 - p), and
            the limits are the link-scale limits transformed (they stay in [0, 1]).
        offset : array_like of shape (n_rows of newdata,), optional
            The offset of the new rows, when the model was fitted with an offset
            array (a column name given to glm is read from newdata).
        alpha : float, default 0.05
            For the confidence limits.

        Returns
        -------
        pandas.Series or pandas.DataFrame
            The predictions; with se_fit, a DataFrame with columns fit, se_fit,
            lower, upper.

        Raises
        ------
        ValueError
            For a level of a factor the fit never saw (naming the column and the
            level), missing columns, another type, or a missing offset.

        Examples
        --------
        >>> import pandas as pd, fastlogit
        >>> df = pd.DataFrame({"dose": [0, 1, 2, 3], "dead": [2, 4, 5, 8],
        ...                    "alive": [8, 6, 5, 2]})
        >>> m = fastlogit.glm("cbind(dead, alive) ~ dose", df)
        >>> m.predict(pd.DataFrame({"dose": [1.5]}), se_fit=True).round(4)
              fit  se_fit   lower   upper
        0  0.4695  0.0873  0.3081  0.6375
        """
        from fastlogit.formula._predict import predict

        return predict(self, newdata, type, se_fit, offset, alpha)

    # -- tables ----------------------------------------------------------------

    def summary(self, alpha: float = 0.05) -> Any:
        """R's summary.glm: coefficient table, dispersion, deviances, AIC.

        Parameters
        ----------
        alpha : float, default 0.05
            For the intervals of ``GLMSummary.to_frame()``.

        Returns
        -------
        GLMSummary
            Prints as R's summary; ``to_frame()`` gives the coefficient table.

        Examples
        --------
        >>> import pandas as pd, fastlogit
        >>> df = pd.DataFrame({"dose": [0, 1, 2, 3], "dead": [2, 4, 5, 8],
        ...                    "alive": [8, 6, 5, 2]})
        >>> print(fastlogit.glm("cbind(dead, alive) ~ dose", df).summary())  # doctest: +ELLIPSIS
        Call:
        glm(formula = cbind(dead, alive) ~ dose, family = binomial)
        ...
        """
        from fastlogit.formula._summary import GLMSummary

        return GLMSummary.of(self, alpha)
