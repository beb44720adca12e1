"""fastlogit.plot: each figure renders to a real PNG with the expected axes.

The figures are checked by what a reader sees: the image file is a decodable
PNG of the expected size, and the axes carry the expected labels, points and
intervals. The intervals themselves are checked against scipy's beta
distribution (an independent reference for the Jeffreys interval).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="fastlogit.plot needs matplotlib")
matplotlib.use("Agg")

from matplotlib.image import imread  # noqa: E402
from scipy import stats  # noqa: E402

import fastlogit  # noqa: E402
from fastlogit import plot  # noqa: E402


@pytest.fixture(scope="module")
def binomial_fit():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    n = rng.integers(1, 30, size=400).astype(float)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-(X @ [1.0, -0.5, 0.0] + 0.2)))).astype(float)
    res = fastlogit.fit(X, n, k, lam=0.0, solver="newton", feature_names=["age", "dose", "x3"])
    return res, X, n, k


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(io.BytesIO(data), format="png")
    width, height = fig.get_size_inches() * 50
    assert image.shape[:2] == (round(height), round(width))
    assert image.std() > 0.01  # something is drawn, not a blank canvas
    return image


def test_calibration_on_training_rows(binomial_fit):
    res, X, n, k = binomial_fit
    fig = plot.calibration(res, bins=8)
    _png(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted probability"
    assert ax.get_ylabel() == "observed success rate"
    assert "95% binomial interval" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    # the bins' points are observed rates of groups of rows, in [0, 1]
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    x, y = points[0].get_data()
    assert 1 <= len(x) <= 8 and np.all((y >= 0) & (y <= 1))
    # total trials of the bins = all trials
    cal = plot.calibration_bins(res.fitted_proba, n, k, bins=8)
    assert cal["trials"].sum() == pytest.approx(n.sum())


def test_calibration_on_new_rows_and_labels(binomial_fit):
    res, X, n, k = binomial_fit
    _png(plot.calibration(res, X, n, k, bins=5, alpha=0.1))
    y = (k / n > 0.5).astype(float)
    fig = plot.calibration(res, X, y=y, title="held out")
    assert fig.axes[0].get_title() == "held out"


def test_binomial_interval_matches_beta_quantiles():
    k = np.array([0.0, 3.0, 7.5, 10.0])
    n = np.array([10.0, 10.0, 12.0, 10.0])
    lo, hi = plot.binomial_interval(k, n, alpha=0.05)
    ref_lo = stats.beta.ppf(0.025, k + 0.5, n - k + 0.5)
    ref_hi = stats.beta.ppf(0.975, k + 0.5, n - k + 0.5)
    np.testing.assert_allclose(lo[1:], ref_lo[1:], rtol=1e-10)
    np.testing.assert_allclose(hi[:3], ref_hi[:3], rtol=1e-10)
    assert lo[0] == 0.0 and hi[3] == 1.0


def test_coefficients(binomial_fit):
    res = binomial_fit[0]
    fig = plot.coefficients(res)
    _png(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "coefficient (95% confidence interval)"
    assert ax.get_ylabel() == "feature"
    labels = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert labels["age"] > labels["dose"] > labels["x3"]  # the first feature at the top
    # the error bars span conf_int
    ci = res.conf_int()[1:]
    bars = ax.collections[0].get_segments()
    spans = sorted((seg[0][0], seg[1][0]) for seg in bars)
    np.testing.assert_allclose(spans, sorted(map(tuple, ci)), rtol=1e-12)

    fig = plot.coefficients(res, intercept=True, sort=True, max_features=2, alpha=0.1)
    _png(fig)
    assert fig.axes[0].get_xlabel() == "coefficient (90% confidence interval)"
    assert len(fig.axes[0].get_yticklabels()) == 2


def test_residuals(binomial_fit):
    res = binomial_fit[0]
    fig = plot.residuals(res)
    _png(fig)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("fitted linear predictor", "deviance residual")
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], res.residuals("deviance"))
    fig = plot.residuals(res, "pearson", scale="response", bins=0)
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == (
        "fitted probability", "pearson residual")


def test_draws_into_given_axes(binomial_fit):
    from matplotlib.figure import Figure

    res = binomial_fit[0]
    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plot.calibration(res, ax=axes[0]) is fig
    assert plot.coefficients(res, ax=axes[1]) is fig
    assert plot.residuals(res, ax=axes[2]) is fig
    _png(fig)


@pytest.mark.parametrize("call, message", [
    (lambda r, X: plot.calibration(r, X), "pass n and k"),
    (lambda r, X: plot.calibration(r, X, [1.0], [1.0]), "rows"),
    (lambda r, X: plot.calibration(r, n=[1.0]), "pass X together"),
    (lambda r, X: plot.calibration(r, X, y=np.full(X.shape[0], 2.0)), "0/1 labels"),
    (lambda r, X: plot.calibration(r, bins=0), "bins"),
    (lambda r, X: plot.coefficients(r, alpha=1.5), "alpha"),
    (lambda r, X: plot.coefficients(r, max_features=0), "max_features"),
    (lambda r, X: plot.residuals(r, "raw"), "kind"),
    (lambda r, X: plot.residuals(r, scale="log"), "scale"),
])
def test_bad_arguments_are_named(binomial_fit, call, message):
    res, X = binomial_fit[:2]
    with pytest.raises(ValueError, match=message):
        call(res, X)


def test_missing_matplotlib_says_what_to_install(binomial_fit, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"fastlogit\[plot\]"):
        plot.residuals(binomial_fit[0])
