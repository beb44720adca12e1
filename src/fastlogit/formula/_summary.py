"""The text of ``GLMResult.summary()``: R's ``summary.glm`` layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."))


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    for cut, mark in _STARS:
        if p < cut:
            return mark
    return ""


def _fmt(x: float, digits: int = 5) -> str:
    if not np.isfinite(x):
        return "NA"
    if x != 0 and (abs(x) < 1e-4 or abs(x) >= 1e6):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}" if abs(x) >= 10 ** digits else f"{x:.{max(digits - 1, 0)}f}"


def _pval(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    return "< 2e-16" if p < 2e-16 else f"{p:.3g}"


@dataclass(frozen=True)
class GLMSummary:
    """A GLM summary: ``str()`` is R's layout, ``to_frame()`` the coefficient table."""

    text: str
    table: Any  # pandas DataFrame
    alpha: float

    @classmethod
    def of(cls, m: Any, alpha: float = 0.05) -> GLMSummary:
        _ = alpha
        import pandas as pd

        stat = "t" if m.use_t else "z"
        table = pd.DataFrame({"Estimate": m.params, "Std. Error": m.bse,
                              f"{stat} value": m.tvalues, f"Pr(>|{stat}|)": m.pvalues})
        family = m.family
        lines = ["Call:", f"glm(formula = {m.formula}, family = {family})", ""]
        head = "Coefficients:"
        n_alias = int(m.aliased.sum())
        if n_alias:
            head += f" ({n_alias} not defined because of singularities)"
        lines.append(head)
        names = [str(i) for i in table.index]
        width = max(len(n) for n in names) if names else 0
        cols = [[_fmt(v) for v in table.iloc[:, j]] for j in range(3)]
        cols.append([_pval(v) for v in table.iloc[:, 3]])
        widths = [max(len(table.columns[j]), *(len(c) for c in cols[j])) for j in range(4)]
        lines.append(" " * width + " " + " ".join(f"{table.columns[j]:>{widths[j]}}"
                                                  for j in range(4)))
        for i, name in enumerate(names):
            cells = " ".join(f"{cols[j][i]:>{widths[j]}}" for j in range(4))
            lines.append(f"{name:<{width}} {cells} {_stars(table.iloc[i, 3])}".rstrip())
        lines += ["---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", ""]
        if m.cov_type != "nonrobust":
            lines.append(f"(Standard errors: {m.cov_type} sandwich covariance)")
        if family == "binomial":
            lines.append("(Dispersion parameter for binomial family taken to be 1)")
        else:
            lines.append(f"(Dispersion parameter for quasibinomial family taken to be "
                         f"{m.dispersion:.6g})")
        lines += [
            "",
            f"    Null deviance: {m.null_deviance:.{_dev_digits(m.null_deviance)}f}  on "
            f"{m.nobs - int(m.frame.encoding.intercept)}  degrees of freedom",
            f"Residual deviance: {m.deviance:.{_dev_digits(m.null_deviance)}f}  on "
            f"{m.df_resid}  degrees of freedom",
        ]
        if m.n_dropped:
            lines.append(f"  ({m.n_dropped} observation{'s' if m.n_dropped > 1 else ''} "
                         f"deleted due to missingness)")
        lines.append(f"AIC: {_fmt(m.aic)}" if np.isfinite(m.aic) else "AIC: NA")
        lines += ["", f"Number of iterations ({m.method}): {m.fit.n_iter}"]
        lam = float(m.fit.settings.get("lam", 0.0) or 0.0)
        if lam > 0:
            lines += ["", f"Penalised fit (lam={lam:g}): the Wald statistics, p-values and "
                          "intervals are those of a ridge-penalised estimate (approximate "
                          "posterior ones), not of R's unpenalised glm."]
        if m.method == "firth":
            lines += ["", "Firth's bias-reduced estimate (brglm2's AS_mean); Wald inference "
                          "from the information matrix at the estimate."]
        if not m.converged:
            lines += ["", f"Warning: the fit did not converge ({m.fit.message})."]
        return cls("\n".join(lines), table, alpha)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def to_frame(self) -> Any:
        """The coefficient table (Estimate, Std. Error, z or t value, p-value) as a DataFrame."""
        return self.table.copy()


def _dev_digits(x: float) -> int:
    return max(1, 5 - len(str(int(abs(x))))) if np.isfinite(x) else 1
