"""The text table of ``LogitResult.summary()``, in the spirit of statsmodels' summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_WIDTH = 78
_NAME_MAX = 32


def _num(x: float, digits: int = 4) -> str:
    """Fixed point for ordinary magnitudes, scientific otherwise."""
    if not np.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.{digits}f}"
    return f"{x:.{max(digits - 1, 1)}e}"


def _pvalue(p: float) -> str:
    if not np.isfinite(p):
        return str(p)
    if p < 1e-300:  # 2 Phi(-|z|) underflows beyond |z| = 37
        return "<1e-300"
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def _pair(left: tuple, right: tuple) -> str:
    half = _WIDTH // 2
    lk, lv = left
    rk, rv = right
    return f"{lk + ':':<20}{lv:>{half - 21}} " + f"{rk + ':':<20}{rv:>{half - 20}}"


@dataclass(frozen=True)
class Summary:
    """A fitted model's summary: ``str()`` gives the table, ``rows`` the coefficient lines.

    ``rows`` holds (name, coef, std err, z, p-value, lower, upper) per parameter.
    """

    text: str
    rows: tuple
    alpha: float

    @classmethod
    def of(cls, res: Any, alpha: float = 0.05) -> Summary:
        ci = res.conf_int(alpha)
        rows = tuple(
            (name, float(c), float(se), float(z), float(p), float(lo), float(hi))
            for name, c, se, z, p, lo, hi in zip(res.param_names, res.params, res.bse,
                                                 res.zvalues, res.pvalues, ci[:, 0], ci[:, 1])
        )
        lam = float(res.settings.get("lam", 0.0))
        head = [
            ("Rows", f"{res.n_rows}"), ("Log-likelihood", _num(res.loglik, 3)),
            ("Observations", f"{res.nobs}"), ("Deviance", _num(res.deviance, 3)),
            ("Df residuals", f"{res.df_resid}"), ("Null deviance", _num(res.null_deviance, 3)),
            ("Df model", f"{res.df_model}"), ("Pearson chi2", _num(res.pearson_chi2, 3)),
            ("Penalty lam", f"{lam:g}"), ("AIC", _num(res.aic, 3)),
            ("Solver", f"{res.solver}"), ("BIC", _num(res.bic, 3)),
            ("Iterations", f"{res.n_iter}"), ("Converged", f"{bool(res.converged)}"),
        ]
        width = min(max([len(r[0]) for r in rows] + [9]), _NAME_MAX)
        rule = max(_WIDTH, width + 69)
        lines = ["Binomial logistic regression (fastlogit)".center(rule).rstrip(), "=" * rule]
        for i in range(0, len(head), 2):
            lines.append(_pair(head[i], head[i + 1]))
        lo_lab, hi_lab = f"[{alpha / 2:.3g}", f"{1 - alpha / 2:.3g}]"
        lines += ["=" * rule,
                  f"{'':<{width}} {'coef':>12} {'std err':>11} {'z':>10} {'P>|z|':>10} "
                  f"{lo_lab:>10} {hi_lab:>10}",
                  "-" * rule]
        for name, c, se, z, p, lo, hi in rows:
            label = name if len(name) <= width else name[: width - 3] + "..."
            lines.append(f"{label:<{width}} {_num(c):>12} {_num(se):>11} {_num(z, 3):>10} "
                         f"{_pvalue(p):>10} {_num(lo, 3):>10} {_num(hi, 3):>10}")
        lines.append("=" * rule)
        if lam > 0:
            lines.append(
                f"Penalised fit (lam={lam:g}): standard errors are from the penalised Hessian,\n"
                "i.e. approximate posterior ones under the ridge's Gaussian prior; they ignore\n"
                "the shrinkage bias, and df/AIC/BIC count parameters nominally.")
        if not res.converged:
            lines.append(f"Warning: the solver did not converge ({res.message}).")
        return cls("\n".join(lines), rows, alpha)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def to_frame(self) -> Any:
        """The coefficient table as a pandas DataFrame indexed by parameter name.

        Returns
        -------
        pandas.DataFrame of shape (n_params, 6)
            Columns coef, std err, z, P>|z| and the interval bounds.

        Raises
        ------
        ImportError
            When pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise ImportError("Summary.to_frame() needs pandas: pip install pandas") from exc
        lo, hi = f"[{self.alpha / 2:g}", f"{1 - self.alpha / 2:g}]"
        columns = ["coef", "std err", "z", "P>|z|", lo, hi]
        return pd.DataFrame([r[1:] for r in self.rows], index=[r[0] for r in self.rows],
                            columns=columns)
