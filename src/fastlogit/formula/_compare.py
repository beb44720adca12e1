"""Model comparison: ``anova`` (R's anova.glm for nested fits), ``drop1`` and Wald tests of
linear hypotheses (car's linearHypothesis)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from scipy import stats

from fastlogit.formula._frame import require_formula_libraries

TESTS = ("Chisq", "LRT", "F")


def _check_models(models: Sequence[Any]) -> None:
    from fastlogit.formula._result import GLMResult

    if not models:
        raise ValueError("anova needs a fitted model: anova(m) or anova(m_small, m_big)")
    for i, m in enumerate(models):
        if not isinstance(m, GLMResult):
            raise TypeError(f"anova takes GLMResult objects (from fastlogit.glm); argument {i} "
                            f"is {type(m).__name__}")
    first = models[0]
    for m in models[1:]:
        if m.nobs != first.nobs or m.frame.encoding.response != first.frame.encoding.response:
            raise ValueError(
                "the models were not fitted to the same rows and response (nobs "
                f"{first.nobs} vs {m.nobs}, response {first.frame.encoding.response!r} vs "
                f"{m.frame.encoding.response!r}); refit them on the same data")


def anova(*models: Any, test: Optional[str] = "Chisq") -> Any:
    """Analysis of deviance, as R's ``anova(m1, m2, ..., test=)`` and ``anova(m, test=)``.

    Parameters
    ----------
    *models : GLMResult
        Two or more fits to the same rows and response, usually nested, in order;
        or one fit, whose terms are then added one by one in the formula's order
        (R's sequential table, each line refitted).
    test : {"Chisq", "LRT", "F", None}, default "Chisq"
        "Chisq" (= "LRT"): the deviance change over the dispersion of the
        largest model against chi2(Df). "F": (change / Df) / dispersion against
        F(Df, residual df of the largest model): the test for quasibinomial
        fits. None: the table alone.

    Returns
    -------
    pandas.DataFrame
        One row per model: "Resid. Df", "Resid. Dev", "Df", "Deviance" and the
        test's columns ("Pr(>Chi)", or "F" and "Pr(>F)"). For one model, rows
        "NULL" and one per term: "Df", "Deviance", "Resid. Df", "Resid. Dev" and
        the test's columns.

    Raises
    ------
    ValueError, TypeError
        For models on other rows or responses, another test.

    Examples
    --------
    >>> import pandas as pd, fastlogit
    >>> df = pd.DataFrame({"dose": [0, 1, 2, 3, 0, 1, 2, 3], "sex": list("mmmmffff"),
    ...                    "dead": [2, 4, 5, 8, 1, 3, 4, 6], "alive": [8, 6, 5, 2, 9, 7, 6, 4]})
    >>> small = fastlogit.glm("cbind(dead, alive) ~ dose", df)
    >>> big = fastlogit.glm("cbind(dead, alive) ~ dose + sex", df)
    >>> fastlogit.anova(small, big).round(4)
       Resid. Df  Resid. Dev   Df  Deviance  Pr(>Chi)
    0          6      2.1834  NaN       NaN       NaN
    1          5      0.6417  1.0    1.5416    0.2144
    """
    _, pd = require_formula_libraries()
    if test is not None and test not in TESTS:
        raise ValueError(f"test must be one of {TESTS} or None; got {test!r}")
    _check_models(models)
    if len(models) == 1:
        return _sequential(models[0], test)
    resdf = np.array([m.df_resid for m in models], dtype=np.float64)
    resdev = np.array([m.deviance for m in models])
    df = np.concatenate(([np.nan], -np.diff(resdf)))
    dev = np.concatenate(([np.nan], -np.diff(resdev)))
    table = pd.DataFrame({"Resid. Df": resdf.astype(int), "Resid. Dev": resdev, "Df": df,
                          "Deviance": dev})
    if test is None:
        return table
    big = models[int(np.argmin(resdf))]
    return _add_test(table, df, dev, big, test)


def _add_test(table: Any, df: np.ndarray, dev: np.ndarray, big: Any, test: str) -> Any:
    """R's stat.anova: the test columns, with the dispersion of the largest model."""
    scale = big.dispersion
    ok = (df != 0) & np.isfinite(df)
    if test in ("Chisq", "LRT"):
        vals = np.where(ok, dev / scale * np.sign(df), np.nan)
        vals[vals < 0] = np.nan
        table["Pr(>Chi)"] = stats.chi2.sf(vals, np.abs(df))
    else:
        df_scale = np.inf if big.family == "binomial" else float(big.df_resid)
        F = np.where(ok, dev / df / scale, np.nan)
        F[F < 0] = np.nan
        table["F"] = F
        table["Pr(>F)"] = stats.f.sf(F, np.abs(df), df_scale)
    return table


def _sequential(model: Any, test: Optional[str]) -> Any:
    """R's anova(m): the terms added one by one, in the formula's order."""
    from fastlogit.formula._glm import fit_frame

    _, pd = require_formula_libraries()
    enc = model.frame.encoding
    p = model.removed.shape[0]
    resdf = [model.nobs - int(enc.intercept)]
    resdev = [model.null_deviance]
    labels = ["NULL"]
    terms = list(enc.terms)
    for i, (label, _, _) in enumerate(terms):
        drop = np.zeros(p, dtype=bool)
        for _, cols, _ in terms[i + 1:]:
            drop[list(cols)] = True
        sub = model if not drop.any() else fit_frame(
            model.frame, family=model.family, cov_type="nonrobust",
            lam=float(model.fit.settings.get("lam", 0.0)), method=model.method,
            threads=model.fit.settings.get("threads"), max_iter=None, drop=drop,
            warn_aliased=False)
        labels.append(label)
        resdf.append(sub.df_resid)
        resdev.append(sub.deviance)
    rdf, rdev = np.array(resdf, dtype=np.float64), np.array(resdev)
    df = np.concatenate(([np.nan], -np.diff(rdf)))
    dev = np.concatenate(([np.nan], np.maximum(0.0, -np.diff(rdev))))
    table = pd.DataFrame({"Df": df, "Deviance": dev, "Resid. Df": rdf.astype(int),
                          "Resid. Dev": rdev}, index=labels)
    return table if test is None else _add_test(table, df, dev, model, test)


def _droppable(terms: tuple) -> list:
    """Terms not contained in a higher-order term (R's drop.scope)."""
    out = []
    for label, cols, factors in terms:
        fs = set(factors)
        if not any(set(f2) > fs for _, _, f2 in terms):
            out.append((label, cols))
    return out


def drop1(model: Any, test: Optional[str] = "Chisq") -> Any:
    """Drop each droppable term in turn and refit, as R's ``drop1(model, test=)``.

    Parameters
    ----------
    model : GLMResult
    test : {"Chisq", "LRT", "F", None}, default "Chisq"
        "Chisq": LRT = deviance change / dispersion against chi2(Df). "F": R's
        drop1 F test, (change / Df) / (deviance / residual df) against
        F(Df, residual df).

    Returns
    -------
    pandas.DataFrame
        Rows "<none>" and one per term: "Df", "Deviance", "AIC" (NaN for
        quasibinomial), then "LRT" and "Pr(>Chi)", or "F value" and "Pr(>F)".

    Raises
    ------
    ValueError
        For another test.

    Examples
    --------
    >>> import pandas as pd, fastlogit
    >>> df = pd.DataFrame({"dose": [0, 1, 2, 3, 0, 1, 2, 3], "sex": list("mmmmffff"),
    ...                    "dead": [2, 4, 5, 8, 1, 3, 4, 6], "alive": [8, 6, 5, 2, 9, 7, 6, 4]})
    >>> fastlogit.drop1(fastlogit.glm("cbind(dead, alive) ~ dose + sex", df)).round(3)
             Df  Deviance     AIC     LRT  Pr(>Chi)
    <none>  NaN     0.642  27.072     NaN       NaN
    dose    1.0    14.169  38.599  13.527     0.000
    sex     1.0     2.183  26.614   1.542     0.214
    """
    from fastlogit.formula._glm import fit_frame

    _, pd = require_formula_libraries()
    if test is not None and test not in TESTS:
        raise ValueError(f"test must be one of {TESTS} or None; got {test!r}")
    labels, dfs, devs, aics = ["<none>"], [np.nan], [model.deviance], [model.aic]
    p = model.removed.shape[0]
    for label, cols in _droppable(model.frame.encoding.terms):
        drop = np.zeros(p, dtype=bool)
        drop[list(cols)] = True
        sub = fit_frame(model.frame, family=model.family, cov_type="nonrobust",
                        lam=float(model.fit.settings.get("lam", 0.0)),
                        method=model.method, threads=model.fit.settings.get("threads"),
                        max_iter=None, drop=drop, warn_aliased=False)
        labels.append(label)
        dfs.append(model.rank - sub.rank)
        devs.append(sub.deviance)
        aics.append(sub.aic)
    dfs_a, dev_a = np.array(dfs, dtype=np.float64), np.array(devs)
    table = pd.DataFrame({"Df": dfs_a, "Deviance": dev_a, "AIC": np.array(aics)}, index=labels)
    if test in ("Chisq", "LRT"):
        lrt = np.maximum(0.0, (dev_a - dev_a[0]) / model.dispersion)
        lrt[0] = np.nan
        table["LRT"] = lrt
        table["Pr(>Chi)"] = stats.chi2.sf(lrt, dfs_a)
    elif test == "F":
        rdf = model.df_resid
        rms = dev_a[0] / rdf
        F = np.maximum(0.0, dev_a - dev_a[0]) / dfs_a / rms
        F[~(dfs_a >= 1e-4)] = np.nan
        table["F value"] = F
        table["Pr(>F)"] = stats.f.sf(F, dfs_a, rdf)
    return table


# -- Wald tests of linear hypotheses ------------------------------------------------------

_NUMBER = re.compile(r"\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?")


def _parse_side(text: str, names: Sequence[str], where: str) -> tuple[np.ndarray, float]:
    """Coefficients on the parameters and the constant of a linear expression."""
    by_length = sorted(range(len(names)), key=lambda j: -len(names[j]))
    coef, const = np.zeros(len(names)), 0.0
    i, sign, factor, expect_term = 0, 1.0, None, True
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if expect_term and ch in "+-":
            sign = -sign if ch == "-" else sign
            i += 1
            continue
        if not expect_term:
            if ch in "+-":
                sign, expect_term = (-1.0 if ch == "-" else 1.0), True
                i += 1
                continue
            if ch == "*":
                expect_term = True
                i += 1
                continue
            raise ValueError(f"cannot read the hypothesis {where!r} at {text[i:]!r}")
        j = None
        if ch == "`":
            end = text.find("`", i + 1)
            label = text[i + 1:end] if end > 0 else ""
            if label in names:
                j, i = list(names).index(label), end + 1
        else:
            for jj in by_length:
                if text.startswith(names[jj], i):
                    j = jj
                    i += len(names[jj])
                    break
        if j is not None:
            coef[j] += sign * (1.0 if factor is None else factor)
            factor, sign, expect_term = None, 1.0, False
            continue
        num = _NUMBER.match(text, i)
        if num is None:
            raise ValueError(f"the hypothesis {where!r} names an unknown coefficient at "
                             f"{text[i:]!r}; the coefficients are {list(names)}")
        value = sign * float(num.group())
        i = num.end()
        rest = text[i:].lstrip()
        if rest.startswith("*"):
            factor, sign = value, 1.0
            i = len(text) - len(rest) + 1
            continue
        const += value
        sign, expect_term = 1.0, False
    return coef, const


def hypothesis_matrix(hypothesis: Any, names: Sequence[str], rhs: Any = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(L, q) of the hypotheses L beta = q, from strings ("a = b", "2*x - y = 1") or a matrix."""
    if isinstance(hypothesis, str):
        hypothesis = [hypothesis]
    if isinstance(hypothesis, (list, tuple)) and all(isinstance(h, str) for h in hypothesis):
        rows, q = [], []
        for h in hypothesis:
            parts = h.split("=")
            if len(parts) > 2:
                raise ValueError(f"the hypothesis {h!r} has more than one '='")
            lc, lk = _parse_side(parts[0], names, h)
            rc, rk = _parse_side(parts[1], names, h) if len(parts) == 2 else (0 * lc, 0.0)
            rows.append(lc - rc)
            q.append(rk - lk)
        return np.array(rows), np.array(q)
    L = np.atleast_2d(np.asarray(hypothesis, dtype=np.float64))
    if L.shape[1] != len(names):
        raise ValueError(f"the hypothesis matrix needs one column per coefficient "
                         f"({len(names)}); got shape {L.shape}")
    q = np.zeros(L.shape[0]) if rhs is None else np.asarray(rhs, dtype=np.float64).reshape(-1)
    if q.shape[0] != L.shape[0]:
        raise ValueError(f"rhs must have one value per hypothesis ({L.shape[0]}); got {q.shape}")
    return L, q


@dataclass(frozen=True)
class WaldTest:
    """A Wald test of L beta = q: chi2 statistic (or F = chi2 / df) and its p-value."""

    statistic: float
    df: int
    pvalue: float
    test: str
    df_denom: float
    L: np.ndarray
    q: np.ndarray

    def __str__(self) -> str:
        if self.test == "F":
            return (f"Wald test of {self.df} linear hypothes{'is' if self.df == 1 else 'es'}: "
                    f"F = {self.statistic:.6g} on {self.df} and {self.df_denom:g} df, "
                    f"p = {self.pvalue:.4g}")
        return (f"Wald test of {self.df} linear hypothes{'is' if self.df == 1 else 'es'}: "
                f"Chisq = {self.statistic:.6g} on {self.df} df, p = {self.pvalue:.4g}")


def wald_test(model: Any, hypothesis: Any, rhs: Any = None, test: str = "Chisq") -> WaldTest:
    """Wald test of linear hypotheses on the coefficients, as car's ``linearHypothesis``.

    Parameters
    ----------
    model : GLMResult
    hypothesis : str, list of str, or array_like of shape (n_hypotheses, n_params)
        Equations over the coefficient names, e.g. ``"x1 = x2"``,
        ``["g[T.b] = 0", "2*x1 - x2 = 1"]`` (names may be quoted with backticks),
        or the matrix L of L beta = rhs over ``model.param_names``.
    rhs : array_like of shape (n_hypotheses,), optional
        With a matrix: the right-hand sides (default 0).
    test : {"Chisq", "F"}, default "Chisq"
        chi2 = (L b - q)^T (L V L^T)^{-1} (L b - q) on n_hypotheses df, with V
        the model's covariance (its cov_type), or F = chi2 / n_hypotheses on
        (n_hypotheses, df_resid) df.

    Returns
    -------
    WaldTest

    Raises
    ------
    ValueError
        For unknown names, a malformed equation, hypotheses on aliased
        coefficients, or linearly dependent hypotheses.

    Examples
    --------
    >>> import pandas as pd, fastlogit
    >>> df = pd.DataFrame({"dose": [0, 1, 2, 3, 0, 1, 2, 3], "sex": list("mmmmffff"),
    ...                    "dead": [2, 4, 5, 8, 1, 3, 4, 6], "alive": [8, 6, 5, 2, 9, 7, 6, 4]})
    >>> m = fastlogit.glm("cbind(dead, alive) ~ dose + sex", df)
    >>> print(fastlogit.wald_test(m, "sex[T.m] = 0"))
    Wald test of 1 linear hypothesis: Chisq = 1.51497 on 1 df, p = 0.2184
    """
    if test not in ("Chisq", "F"):
        raise ValueError(f"test must be 'Chisq' or 'F'; got {test!r}")
    names = model.param_names
    L, q = hypothesis_matrix(hypothesis, names, rhs)
    kept = model._kept
    on_aliased = np.abs(np.delete(L, kept, axis=1)).sum() > 0 if kept.size < len(names) else False
    if on_aliased:
        raise ValueError("the hypotheses involve aliased coefficients (NaN), which are not "
                         "estimated")
    Lk = L[:, kept]
    d = Lk @ model.fit.params - q
    M = Lk @ model._cov @ Lk.T
    try:
        stat = float(d @ np.linalg.solve(M, d))
    except np.linalg.LinAlgError:
        raise ValueError("the hypotheses are linearly dependent (L V L^T is singular); "
                         "drop the redundant ones") from None
    r = L.shape[0]
    if test == "F":
        F = stat / r
        return WaldTest(F, r, float(stats.f.sf(F, r, model.df_resid)), "F",
                        float(model.df_resid), L, q)
    return WaldTest(stat, r, float(stats.chi2.sf(stat, r)), "Chisq", np.inf, L, q)
