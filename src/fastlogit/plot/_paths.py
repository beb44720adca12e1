"""Coefficient paths and cross-validation curves, as glmnet's plot.glmnet and plot.cv.glmnet.

matplotlib is imported inside the functions (it is optional); each function draws on an
``ax`` given, or on a new figure, and returns the figure.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastlogit.plot._diagnostics import _new_axes


def plot_path(path_result: Any, xvar: str = "lambda", *, ax: Any = None,
              label: Optional[int] = None, figsize: tuple = (6.4, 4.8)) -> Any:
    """Coefficient paths of a ``fastlogit.path`` result, as glmnet's ``plot(fit)``.

    Parameters
    ----------
    path_result : PathResult
        The result of ``fastlogit.path`` (or ``CVResult.path``).
    xvar : {"lambda", "norm"}, default "lambda"
        Horizontal axis: log(lam) (largest lam on the left, as glmnet's
        ``xvar = "lambda"`` shows it), or the L1 norm of the coefficients
        (``xvar = "norm"``, glmnet's default).
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure.
    label : int, optional
        Name the ``label`` features with the largest coefficients at the last lam
        (by ``feature_names`` when the path has them, else by column number).
    figsize : tuple, default (6.4, 4.8)
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For an unknown ``xvar``.
    ImportError
        When matplotlib is not installed.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> from fastlogit.plot import plot_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> fp = fastlogit.path(X, 1, rng.integers(0, 2, 200), n_lams=10)
    >>> fig = plot_path(fp, xvar="norm")
    >>> fig.axes[0].get_xlabel()
    'L1 norm'
    """
    if xvar not in ("lambda", "norm"):
        raise ValueError(f"xvar must be 'lambda' or 'norm'; got {xvar!r}")
    fig, ax = _new_axes(ax, figsize)
    coef = np.asarray(path_result.coef)
    lams = np.asarray(path_result.lams, dtype=float)
    if xvar == "lambda":
        keep = lams > 0
        x = np.log(lams[keep])
        coef = coef[keep]
        ax.set_xlabel("log(lam)")
        ax.invert_xaxis()
    else:
        x = np.abs(coef).sum(axis=1)
        ax.set_xlabel("L1 norm")
    ax.plot(x, coef, linewidth=1.0)
    ax.axhline(0.0, color="0.6", linewidth=0.5)
    ax.set_ylabel("coefficient")
    top = ax.secondary_xaxis("top")
    top.set_xticks(x[:: max(1, len(x) // 6)])
    top.set_xticklabels([str(int(v)) for v in np.count_nonzero(coef, axis=1)[
        :: max(1, len(x) // 6)]])
    top.set_xlabel("nonzero coefficients")
    if label and coef.shape[0]:
        names = path_result.feature_names
        last = coef[-1]
        for j in np.argsort(-np.abs(last))[:label]:
            if last[j] != 0:
                ax.annotate(names[j] if names else str(j), (x[-1], last[j]), fontsize=8,
                            xytext=(3, 0), textcoords="offset points")
    return fig


def plot_cv(cv_result: Any, *, ax: Any = None, figsize: tuple = (6.4, 4.8)) -> Any:
    """The cross-validation curve of ``fastlogit.cv``, as glmnet's ``plot(cv.fit)``.

    The mean held-out deviance per trial against log(lam), with error bars of one standard
    error, and dashed lines at lam_min and lam_1se.

    Parameters
    ----------
    cv_result : CVResult
        The result of ``fastlogit.cv``.
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure.
    figsize : tuple, default (6.4, 4.8)
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        When matplotlib is not installed.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> from fastlogit.plot import plot_cv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 5))
    >>> res = fastlogit.cv(X, 1, rng.integers(0, 2, 300), n_lams=8, n_folds=3)
    >>> fig = plot_cv(res)
    >>> fig.axes[0].get_ylabel()
    'held-out deviance per trial'
    """
    fig, ax = _new_axes(ax, figsize)
    lams = np.asarray(cv_result.lams, dtype=float)
    keep = lams > 0
    x = np.log(lams[keep])
    mean = np.asarray(cv_result.cv_mean)[keep]
    se = np.asarray(cv_result.cv_se)[keep]
    ax.errorbar(x, mean, yerr=se, fmt="o", color="tab:red", ecolor="0.6", markersize=3,
                capsize=2)
    for lam, name in ((cv_result.lam_min, "lam_min"), (cv_result.lam_1se, "lam_1se")):
        if lam > 0:
            ax.axvline(np.log(lam), linestyle="--", color="0.3", linewidth=0.8)
            ax.annotate(name, (np.log(lam), 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize=8)
    ax.invert_xaxis()
    ax.set_xlabel("log(lam)")
    ax.set_ylabel("held-out deviance per trial")
    return fig
