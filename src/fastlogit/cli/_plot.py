"""Pictures for the command line (matplotlib, optional): calibration of a fit, the toy demo.

Figures are built with matplotlib's object API (``Figure``), never pyplot, so
nothing touches matplotlib's global state or needs a display.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaincinv

from fastlogit._core._special import sigmoid
from fastlogit.cli._util import CliError, one_line, require


def _figure(**kwargs: Any) -> Any:
    require("matplotlib", "--plot")
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=120)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot write the plot to {path}: {one_line(exc)}") from None


def jeffreys_interval(k: np.ndarray, n: np.ndarray, alpha: float = 0.05
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval for a binomial proportion k/n: Beta(k + 1/2, n - k + 1/2) quantiles.

    Its coverage is close to nominal even for small n or proportions near 0
    or 1, where the normal (Wald) interval fails; the bound is 0 (1) when
    k = 0 (k = n), as Brown, Cai and DasGupta (2001) recommend. Works for
    non-integer (weighted) counts.

    Examples
    --------
    >>> lo, hi = jeffreys_interval(np.array([5.0, 0.0]), np.array([10.0, 10.0]))
    >>> lo.round(3), hi.round(3)
    (array([0.224, 0.   ]), array([0.776, 0.217]))
    """
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    lo = np.where(k > 0, betaincinv(k + 0.5, n - k + 0.5, alpha / 2), 0.0)
    hi = np.where(k < n, betaincinv(k + 0.5, n - k + 0.5, 1 - alpha / 2), 1.0)
    return lo, hi


def calibration_bins(p: np.ndarray, n: np.ndarray, k: np.ndarray, bins: int = 10) -> dict:
    """Group rows by predicted probability into bins of about equal trials.

    Parameters
    ----------
    p : ndarray of shape (n_rows,)
        Predicted success probabilities.
    n, k : ndarray of shape (n_rows,)
        Trials and successes (times sample weights, if any).
    bins : int
        Number of bins (fewer when there are fewer distinct rows).

    Returns
    -------
    dict of ndarrays, one entry per non-empty bin
        ``predicted`` (trial-weighted mean of p), ``observed`` (sum k / sum n),
        ``lower``/``upper`` (95% Jeffreys interval of observed), ``trials``.

    Examples
    --------
    >>> p = np.array([0.1, 0.2, 0.8, 0.9]); n = np.array([10.0, 10, 10, 10])
    >>> out = calibration_bins(p, n, np.array([1.0, 2, 8, 9]), bins=2)
    >>> out["predicted"], out["observed"], out["trials"]
    (array([0.15, 0.85]), array([0.15, 0.85]), array([20., 20.]))
    """
    live = n > 0
    p, n, k = p[live], n[live], k[live]
    order = np.argsort(p, kind="stable")
    p, n, k = p[order], n[order], k[order]
    total = float(n.sum())
    if total <= 0:
        raise CliError("no trials to draw a calibration plot from")
    mid = np.cumsum(n) - 0.5 * n  # each row goes to the bin holding its middle trial
    idx = np.minimum((bins * mid / total).astype(np.int64), bins - 1)
    trials = np.bincount(idx, weights=n, minlength=bins)
    succ = np.bincount(idx, weights=k, minlength=bins)
    pred = np.bincount(idx, weights=n * p, minlength=bins)
    used = trials > 0
    trials, succ, pred = trials[used], succ[used], pred[used]
    lo, hi = jeffreys_interval(succ, trials)
    return {"predicted": pred / trials, "observed": succ / trials, "lower": lo, "upper": hi,
            "trials": trials}


def plot_calibration(path: str, p: np.ndarray, n: np.ndarray, k: np.ndarray, bins: int,
                     title: str) -> dict:
    """Predicted vs observed success rate by bin, with 95% binomial error bars; returns the bins."""
    cal = calibration_bins(p, n, k, bins)
    fig = _figure(figsize=(6.0, 6.4))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    yerr = np.vstack([cal["observed"] - cal["lower"], cal["upper"] - cal["observed"]])
    ax.errorbar(cal["predicted"], cal["observed"], yerr=yerr, fmt="o", color="C0", capsize=3,
                label="observed rate (95% Jeffreys interval)")
    ax.set_ylabel("observed success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    hist.bar(cal["predicted"], cal["trials"], width=0.02, color="C0")
    hist.set_xlabel("predicted probability (trial-weighted mean in each bin)")
    hist.set_ylabel("trials")
    hist.set_xlim(-0.02, 1.02)
    fig.tight_layout()
    _save(fig, path)
    return cal


def plot_toy(path: str, x: np.ndarray, y: np.ndarray, curves: list, title: str) -> None:
    """The points (x, y) and fitted sigmoids; curves are (label, w0, w1, linestyle)."""
    fig = _figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    jitter = np.random.default_rng(0).uniform(-0.02, 0.02, size=y.shape)  # show ties
    ax.scatter(x, y + jitter, c=np.where(y > 0, "C1", "C0"), edgecolor="k", zorder=3,
               label="data (label 0 / 1)")
    span = float(np.ptp(x)) or 1.0
    grid = np.linspace(x.min() - 0.5 * span, x.max() + 0.5 * span, 400)
    for label, w0, w1, style in curves:
        ax.plot(grid, sigmoid(w0 + w1 * grid), ls=style, label=label)
    ax.axhline(0.5, color="0.8", lw=0.8)
    ax.set_xlabel("feature value x")
    ax.set_ylabel("P(label = 1 | x)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    _save(fig, path)
