"""fastlogit.plot: coefficient paths and cross-validation curves (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np
import pytest

import fastlogit

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")

from fastlogit.plot import plot_cv, plot_path  # noqa: E402


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (rng.random(300) < 1 / (1 + np.exp(-X @ [1.0, -1.0, 0.5, 0, 0, 0]))).astype(float)
    fp = fastlogit.path(X, 1, y, n_lams=12, feature_names=list("abcdef"))
    cvr = fastlogit.cv(X, 1, y, n_lams=10, n_folds=3, refit=False)
    return fp, cvr


def test_plot_path_draws_one_line_per_feature(fits):
    import matplotlib.pyplot as plt

    fp, _ = fits
    for xvar, xlabel in (("lambda", "log(lam)"), ("norm", "L1 norm")):
        fig = plot_path(fp, xvar=xvar, label=2)
        ax = fig.axes[0]
        assert ax.get_xlabel() == xlabel
        lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(fp)]
        assert len(lines) == fp.n_features
        np.testing.assert_allclose(lines[0].get_ydata(), fp.coef[:, 0])
        plt.close(fig)
    with pytest.raises(ValueError, match="xvar"):
        plot_path(fp, xvar="dev")


def test_plot_cv_marks_lam_min_and_lam_1se(fits):
    import matplotlib.pyplot as plt

    _, cvr = fits
    fig, ax = plt.subplots()
    assert plot_cv(cvr, ax=ax) is fig
    xs = sorted(float(ln.get_xdata()[0]) for ln in ax.get_lines()
                if len(ln.get_xdata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1])
    assert np.allclose(xs, sorted([np.log(cvr.lam_min), np.log(cvr.lam_1se)]))
    plt.close(fig)
