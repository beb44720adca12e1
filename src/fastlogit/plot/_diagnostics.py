"""Pictures of a fitted binomial model: calibration, coefficients, residuals.

Each function takes a fitted result (``fastlogit.fit``'s ``LogitResult``), draws
one figure with matplotlib's object API and returns the ``Figure``; pyplot's global
state is never touched, so the functions work without a display and in threads.
Pass ``ax=`` to draw into an existing Axes instead (its figure is returned).
matplotlib is optional: it is imported when a function is called, and its absence
raises an ImportError that says what to install.

Show a returned figure in a notebook by leaving it as the cell's value; save it
with ``fig.savefig("name.png")``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from scipy.special import betaincinv, expit

__all__ = ["binomial_interval", "calibration", "calibration_bins", "coefficients", "residuals"]

_INSTALL = 'pip install "fastlogit[plot]" (or pip install matplotlib)'


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """(figure, axes): the given Axes and its figure, or a new Figure with one Axes."""
    if ax is not None:
        return ax.figure, ax
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"fastlogit.plot needs matplotlib: {_INSTALL}") from exc
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1) (1 - the intervals' coverage), got {alpha}")
    return alpha


def binomial_interval(k: Any, n: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval of a binomial proportion ``k / n``.

    The ``alpha/2`` and ``1 - alpha/2`` quantiles of Beta(k + 1/2, n - k + 1/2);
    the lower bound is 0 when ``k = 0`` and the upper bound 1 when ``k = n``
    (Brown, Cai and DasGupta, 2001). Its coverage stays close to nominal for
    small ``n`` and for proportions near 0 or 1, where the normal (Wald)
    interval fails. Non-integer (weighted) counts are accepted.

    Parameters
    ----------
    k, n : array_like of shape (n_bins,)
        Successes and trials, ``0 <= k <= n``, ``n > 0``.
    alpha : float, default 0.05
        1 - coverage.

    Returns
    -------
    lower, upper : ndarray of shape (n_bins,)

    Raises
    ------
    ValueError
        If ``alpha`` is not in (0, 1), or a count is negative, or ``k > n``.

    Examples
    --------
    >>> from fastlogit.plot import binomial_interval
    >>> lo, hi = binomial_interval([5.0, 0.0], [10.0, 10.0])
    >>> lo.round(3), hi.round(3)
    (array([0.224, 0.   ]), array([0.776, 0.217]))
    """
    alpha = _check_alpha(alpha)
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError("binomial_interval needs 0 <= k <= n and n > 0 in every bin")
    lo = np.where(k > 0, betaincinv(k + 0.5, n - k + 0.5, alpha / 2), 0.0)
    hi = np.where(k < n, betaincinv(k + 0.5, n - k + 0.5, 1 - alpha / 2), 1.0)
    return lo, hi


def calibration_bins(p: Any, n: Any, k: Any, bins: int = 10, alpha: float = 0.05
                     ) -> dict[str, np.ndarray]:
    """Group rows by predicted probability into bins of about equal numbers of trials.

    Rows are sorted by ``p``; each goes to the bin that holds its middle trial,
    so a bin is never split inside a row.

    Parameters
    ----------
    p : array_like of shape (n_rows,)
        Predicted success probabilities.
    n, k : array_like of shape (n_rows,)
        Trials and successes (times sample weights, if any).
    bins : int, default 10
        Number of bins (fewer come back when rows are fewer or very unequal).
    alpha : float, default 0.05
        1 - coverage of the binomial intervals.

    Returns
    -------
    dict of ndarray, one entry per non-empty bin
        ``predicted`` (trial-weighted mean of ``p``), ``observed`` (sum k / sum n),
        ``lower`` and ``upper`` (Jeffreys interval of ``observed``), ``trials``.

    Raises
    ------
    ValueError
        If the shapes differ, ``bins < 1``, or there are no trials.

    Examples
    --------
    >>> from fastlogit.plot import calibration_bins
    >>> out = calibration_bins([0.1, 0.2, 0.8, 0.9], [10, 10, 10, 10], [1, 2, 8, 9], bins=2)
    >>> out["predicted"], out["observed"], out["trials"]
    (array([0.15, 0.85]), array([0.15, 0.85]), array([20., 20.]))
    """
    p, n, k = (np.asarray(a, dtype=np.float64).ravel() for a in (p, n, k))
    if not p.shape == n.shape == k.shape:
        raise ValueError(f"p, n and k must have one entry per row; got lengths "
                         f"{p.size}, {n.size}, {k.size}")
    if int(bins) < 1:
        raise ValueError(f"bins must be a positive integer, got {bins}")
    bins = int(bins)
    live = n > 0
    p, n, k = p[live], n[live], k[live]
    total = float(n.sum())
    if total <= 0:
        raise ValueError("no trials (every n is 0): nothing to draw a calibration plot from")
    order = np.argsort(p, kind="stable")
    p, n, k = p[order], n[order], k[order]
    middle = np.cumsum(n) - 0.5 * n
    idx = np.minimum((bins * middle / total).astype(np.int64), bins - 1)
    trials = np.bincount(idx, weights=n, minlength=bins)
    successes = np.bincount(idx, weights=k, minlength=bins)
    predicted = np.bincount(idx, weights=n * p, minlength=bins)
    used = trials > 0
    trials, successes, predicted = trials[used], successes[used], predicted[used]
    lo, hi = binomial_interval(np.minimum(successes, trials), trials, alpha)
    return {"predicted": predicted / trials, "observed": successes / trials,
            "lower": lo, "upper": hi, "trials": trials}


def _outcomes(result: Any, X: Any, n: Any, k: Any, y: Any, offset: Any
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, n, k): predictions on (X, n, k) or (X, y), or the fit's own training rows."""
    if X is None:
        if n is not None or k is not None or y is not None:
            raise ValueError("pass X together with n and k (or y), or none of them to use "
                             "the training rows")
        try:
            train = result._train()  # the views of the training data the result keeps
        except (AttributeError, ValueError) as exc:
            raise ValueError("this result keeps no training data: pass X with n and k "
                             "(or y) to plot") from exc
        s = train.sample_weight
        n_arr = train.n if s is None else train.n * s
        k_arr = train.k if s is None else train.k * s
        return np.asarray(result.fitted_proba), np.asarray(n_arr), np.asarray(k_arr)
    if y is not None:
        if n is not None or k is not None:
            raise ValueError("pass either y (0/1 labels) or n and k, not both")
        k_arr = np.asarray(y, dtype=np.float64).ravel()
        if np.any((k_arr != 0) & (k_arr != 1)):
            raise ValueError("y must hold 0/1 labels; for counts pass n and k instead")
        n_arr = np.ones_like(k_arr)
    else:
        if n is None or k is None:
            raise ValueError("pass n and k (trials and successes), or y (0/1 labels), with X")
        n_arr = np.asarray(n, dtype=np.float64).ravel()
        k_arr = np.asarray(k, dtype=np.float64).ravel()
    p = np.asarray(result.predict_proba(X, offset=offset), dtype=np.float64)
    if not p.shape == n_arr.shape == k_arr.shape:
        raise ValueError(f"X has {p.size} rows but n/k (or y) have {n_arr.size}: "
                         f"pass one count per row")
    if np.any(n_arr < 0) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("counts must satisfy 0 <= k <= n in every row")
    return p, n_arr, k_arr


def draw_calibration(ax: Any, cal: dict, alpha: float = 0.05) -> None:
    """The bins of ``calibration_bins`` on ``ax``: observed against predicted rates with
    their intervals, and the diagonal of perfect calibration."""
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    yerr = np.vstack([cal["observed"] - cal["lower"], cal["upper"] - cal["observed"]])
    coverage = f"{100 * (1 - alpha):g}%"
    ax.errorbar(cal["predicted"], cal["observed"], yerr=yerr, fmt="o", color="C0",
                capsize=3, label=f"observed rate ({coverage} binomial interval)")
    ax.set_ylabel("observed success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", fontsize=8)


def calibration(result: Any, X: Any = None, n: Any = None, k: Any = None, *, y: Any = None,
                offset: Any = None, bins: int = 10, alpha: float = 0.05,
                ax: Any = None, title: Optional[str] = None) -> Any:
    """Calibration plot: observed against predicted success rate, with binomial intervals.

    Rows are grouped into ``bins`` bins of about equal numbers of trials by
    their predicted probability; each bin shows its observed rate (sum k /
    sum n) against its trial-weighted mean prediction, with a Jeffreys
    interval of coverage ``1 - alpha``. A well-calibrated model's points lie on
    the diagonal within their intervals. Without data, the fit's own training
    rows are used (sample weights multiply the counts).

    Parameters
    ----------
    result : LogitResult
        A fitted binomial model (``fastlogit.fit``).
    X : {ndarray, sparse matrix} of shape (n_rows, n_features), optional
        Rows to predict; held-out rows give the honest picture.
    n, k : array_like of shape (n_rows,), optional
        Trials and successes of the rows of ``X``.
    y : array_like of shape (n_rows,), optional
        0/1 labels instead of ``n`` and ``k``.
    offset : array_like of shape (n_rows,), optional
        Offsets of the rows of ``X``.
    bins : int, default 10
        Number of bins.
    alpha : float, default 0.05
        1 - coverage of the intervals.
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.
    title : str, optional
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If the data do not match (lengths, ``0 <= k <= n``), or no data are
        given and the result keeps no training data.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> from fastlogit.plot import calibration
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = (rng.random(500) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    >>> fig = calibration(fastlogit.fit(X, y=y), bins=5)
    >>> fig.axes[0].get_xlabel()
    'predicted probability'
    """
    p, n_arr, k_arr = _outcomes(result, X, n, k, y, offset)
    cal = calibration_bins(p, n_arr, k_arr, bins, alpha)
    fig, ax = _new_axes(ax, (5.2, 5.0))
    draw_calibration(ax, cal, alpha)
    ax.set_xlabel("predicted probability")
    ax.set_xlim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.set_title(title if title is not None else
                 f"Calibration: {len(cal['trials'])} bins of about "
                 f"{float(np.median(cal['trials'])):,.0f} trials", fontsize=10)
    return fig


def coefficients(result: Any, *, alpha: float = 0.05, intercept: bool = False,
                 sort: bool = False, max_features: Optional[int] = 40,
                 ax: Any = None, title: Optional[str] = None) -> Any:
    """Coefficient plot: each estimate with its Wald confidence interval.

    The intervals are those of ``result.conf_int(alpha)``. For a penalised
    fit (``lam > 0``) they are approximate Bayesian intervals (see
    ``LogitResult.cov_params``), not frequentist ones.

    Parameters
    ----------
    result : LogitResult
        A fitted binomial model that keeps its training data.
    alpha : float, default 0.05
        1 - coverage of the intervals.
    intercept : bool, default False
        Show the intercept too.
    sort : bool, default False
        Order by estimate instead of by feature.
    max_features : int or None, default 40
        Show only the coefficients largest in absolute value, at most this many
        (None: all).
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.
    title : str, optional
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If ``alpha`` is not in (0, 1) or ``max_features < 1``.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> from fastlogit.plot import coefficients
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> y = (rng.random(500) < 1 / (1 + np.exp(-X @ [1.0, -0.5, 0.0]))).astype(float)
    >>> fig = coefficients(fastlogit.fit(X, y=y, lam=0.0, feature_names=["a", "b", "c"]))
    >>> fig.axes[0].get_xlabel()
    'coefficient (95% confidence interval)'
    """
    alpha = _check_alpha(alpha)
    if max_features is not None and int(max_features) < 1:
        raise ValueError(f"max_features must be a positive integer or None, got {max_features}")
    params = np.asarray(result.params, dtype=np.float64)
    bounds = np.asarray(result.conf_int(alpha), dtype=np.float64)
    names = list(result.param_names)
    first = 0 if intercept else (1 if params.shape[0] == len(result.coef) + 1 else 0)
    keep = np.arange(first, params.shape[0])
    if max_features is not None and keep.size > int(max_features):
        largest = np.argsort(-np.abs(params[keep]), kind="stable")[: int(max_features)]
        keep = np.sort(keep[largest])
    if sort:
        keep = keep[np.argsort(params[keep], kind="stable")]
    shown = keep.size
    fig, ax = _new_axes(ax, (5.6, max(2.2, 0.9 + 0.28 * shown)))
    rows = np.arange(shown)[::-1]  # the first parameter at the top
    est = params[keep]
    err = np.vstack([est - bounds[keep, 0], bounds[keep, 1] - est])
    ax.axvline(0.0, color="0.6", lw=1, ls="--")
    ax.errorbar(est, rows, xerr=err, fmt="o", color="C0", capsize=3)
    ax.set_yticks(rows)
    ax.set_yticklabels([names[i] for i in keep], fontsize=8)
    ax.set_xlabel(f"coefficient ({100 * (1 - alpha):g}% confidence interval)")
    ax.set_ylabel("feature")
    hidden = params.shape[0] - first - shown
    default = "Coefficients" + (f" (the {shown} largest; {hidden} more)" if hidden else "")
    ax.set_title(title if title is not None else default, fontsize=10)
    return fig


def residuals(result: Any, kind: str = "deviance", *, scale: str = "link", bins: int = 20,
              ax: Any = None, title: Optional[str] = None) -> Any:
    """Residuals of the training rows against the fitted values.

    R's first diagnostic plot of a ``glm``: each row's residual (``kind``, as
    ``result.residuals(kind)``) against its fitted linear predictor (or its
    fitted probability, ``scale="response"``), with the mean residual in
    ``bins`` bins of equal numbers of rows. Structure in the binned means (a
    curve, a trend) points to a missing term or a wrong link.

    Parameters
    ----------
    result : LogitResult
        A fitted binomial model that keeps its training data.
    kind : {"deviance", "pearson", "response"}, default "deviance"
        Which residuals.
    scale : {"link", "response"}, default "link"
        Fitted values as the linear predictor or as probabilities.
    bins : int, default 20
        Bins of the running mean (0: none).
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.
    title : str, optional
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        For an unknown ``kind`` or ``scale``, or a result without training data.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> from fastlogit.plot import residuals
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> n = np.full(300, 10.0)
    >>> k = rng.binomial(10, 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    >>> fig = residuals(fastlogit.fit(X, n, k))
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('fitted linear predictor', 'deviance residual')
    """
    if kind not in ("deviance", "pearson", "response"):
        raise ValueError(f"kind must be 'deviance', 'pearson' or 'response', got {kind!r}")
    if scale not in ("link", "response"):
        raise ValueError(f"scale must be 'link' or 'response', got {scale!r}")
    if int(bins) < 0:
        raise ValueError(f"bins must be 0 (no running mean) or positive, got {bins}")
    try:
        r = np.asarray(result.residuals(kind), dtype=np.float64)
        z = np.asarray(result.fitted_linear_predictor, dtype=np.float64)
    except (AttributeError, ValueError) as exc:
        raise ValueError("residuals need the training data; this result keeps none") from exc
    x = z if scale == "link" else expit(z)
    fig, ax = _new_axes(ax, (6.0, 4.2))
    alpha_pts = float(np.clip(30.0 / np.sqrt(max(r.size, 1)), 0.05, 0.8))
    ax.scatter(x, r, s=8, color="C0", alpha=alpha_pts, lw=0, label="rows")
    ax.axhline(0.0, color="0.4", lw=1, ls="--")
    if int(bins) > 0 and r.size >= 2 * int(bins):
        order = np.argsort(x, kind="stable")
        groups = np.array_split(order, int(bins))
        ax.plot([x[g].mean() for g in groups], [r[g].mean() for g in groups], "-o",
                color="C3", ms=3, lw=1.5, label=f"mean in {int(bins)} bins")
    ax.set_xlabel("fitted linear predictor" if scale == "link" else "fitted probability")
    ax.set_ylabel(f"{kind} residual")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title if title is not None else "Residuals against fitted values",
                 fontsize=10)
    return fig
