"""Separation and one-sided data: the warnings every fitting entry point gives when the
maximum-likelihood estimate does not exist (fit, fit_multinomial, path, the estimators).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from fastlogit._models._inference import SeparationWarning

#: A penalty this small relative to the total weight sum(s n) cannot keep the coefficients
#: of separated data from running away in practice (they reach |z| > 18 on some rows):
#: such fits are checked for separation like unpenalised ones (e.g. LogisticRegression
#: with C = 1e10, a path ending at lam = 0).
WEAK_PENALTY = 1e-6


def weak_penalty(lam: float, total_trials: float) -> bool:
    """True when lam is 0 or too small to matter against separation (see WEAK_PENALTY)."""
    return lam <= WEAK_PENALTY * total_trials


def warn_if_separated(objective: Any, b: float, w: np.ndarray,
                      names: Optional[tuple] = None, stacklevel: int = 3) -> None:
    """R's check after an unpenalised fit: fitted probabilities numerically 0 or 1.

    R (glm.fit) warns when a fitted probability is within 10 eps of 0 or 1,
    a point its IRLS iterations reach on separated data. fastlogit's solvers
    stop on the gradient, earlier on a diverging fit, so the threshold here is
    ``SEPARATED_Z``: |z| > 18.4, a probability within 1e-8 of 0 or 1, where a
    row's pull on the coefficients is at the solvers' tolerance. As in R, a
    very strong predictor can trigger it without separation. The features
    named are those contributing most to z on the rows concerned (|w_j x_ij|),
    the ones running away.
    """
    loss = objective.loss
    z = loss.linear_predictor(b, w)
    live = loss.sn > 0
    rows = np.flatnonzero(live & (np.abs(z) > SEPARATED_Z))
    if rows.size == 0:
        return
    who = _runaway_features(loss.design.matrix, rows, w, names)
    warn_separated(rows.size, int(np.count_nonzero(live)), who, stacklevel)


def _runaway_features(matrix: Any, rows: np.ndarray, w: np.ndarray,
                      names: Optional[tuple]) -> str:
    X = matrix[rows[:_NAMING_ROWS]]  # a few rows, for naming
    if w.size:
        peak = abs(X.multiply(w) if hasattr(X, "multiply") else X * w).max(axis=0)
        peak = peak.toarray() if hasattr(peak, "toarray") else peak  # CSR: a sparse row
        contrib = np.asarray(peak, dtype=np.float64).ravel()
    else:
        contrib = np.zeros(0)
    order = np.argsort(-contrib)[:5]
    top = contrib[order[0]] if order.size else 0.0
    big = [int(j) for j in order if contrib[j] > 0 and contrib[j] >= 0.25 * top]
    label = (lambda j: names[j]) if names else (lambda j: f"x{j}")
    return (" Largest contributions to z on those rows: "
            + ", ".join(f"{label(j)} (coef {w[j]:.3g})" for j in big) + "." if big else "")


def warn_separated(n_rows: int, n_live: int, who: str = "", stacklevel: int = 3,
                   where: str = "") -> None:
    """The SeparationWarning of every entry point (n_rows of n_live rows within 1e-8);
    ``stacklevel`` as if ``warnings.warn`` were called where this is called."""
    warnings.warn(
        f"{where}fitted probabilities numerically 0 or 1 occurred ({n_rows} of "
        f"{n_live} rows within 1e-8 of 0 or 1). The data are probably "
        f"(quasi-)separated: the unpenalised estimate does not exist and the coefficients "
        f"diverge.{who} Use a larger lam (smaller C), or drop or merge the features that "
        "separate the data.",
        SeparationWarning, stacklevel=stacklevel + 1,
    )


def warn_if_all_one_outcome(total_successes: float, total_trials: float,
                            fit_intercept: bool, stacklevel: int = 3) -> None:
    """All failures (every k = 0) or all successes (k = n): the intercept's estimate is
    -inf or +inf. The fit stops where the gradient is at the solvers' tolerance (an
    intercept near -+20 and huge standard errors), which means nothing by itself."""
    if not fit_intercept or total_trials <= 0:
        return
    if total_successes <= 0 or total_successes >= total_trials:
        kind = "no successes (every k = 0)" if total_successes <= 0 else \
            "no failures (every k = n)"
        warnings.warn(
            f"the data have {kind}: the maximum-likelihood intercept is "
            f"{'-' if total_successes <= 0 else '+'}infinity; the fitted intercept is only "
            "where the solver stopped and its standard errors and p-values are meaningless. "
            "Fit data with both outcomes, or fix the intercept (fit_intercept=False with an "
            "offset).", SeparationWarning, stacklevel=stacklevel)


SEPARATED_Z = 18.42  # sigmoid(-18.42) = 1.0e-8
_NAMING_ROWS = 10_000
