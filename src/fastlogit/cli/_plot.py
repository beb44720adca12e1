"""Pictures for the command line (matplotlib, optional): calibration of a fit, the toy demo.

The calibration bins and their binomial intervals are those of ``fastlogit.plot``.

Figures are built with matplotlib's object API (``Figure``), never pyplot, so
nothing touches matplotlib's global state or needs a display.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastlogit._core._special import sigmoid
from fastlogit.cli._util import CliError, one_line, require
from fastlogit.plot._diagnostics import calibration_bins, draw_calibration


def _figure(**kwargs: Any) -> Any:
    require("matplotlib", "--plot")
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=120)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot write the plot to {path}: {one_line(exc)}") from None


def plot_calibration(path: str, p: np.ndarray, n: np.ndarray, k: np.ndarray, bins: int,
                     title: str) -> dict:
    """Predicted vs observed success rate by bin, with 95% binomial error bars; returns the bins."""
    try:
        cal = calibration_bins(p, n, k, bins)
    except ValueError as exc:
        raise CliError(f"cannot draw the calibration plot: {exc}") from None
    fig = _figure(figsize=(6.0, 6.4))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    draw_calibration(ax, cal)
    ax.set_title(title, fontsize=10)
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
