"""cv's held-out measures besides the deviance (glmnet's type.measure)."""

from __future__ import annotations

import numpy as np
import pytest

import fastlogit
from fastlogit._selection._cv_measures import auc, held_out_total


def test_auc_matches_scikit_learn_with_ties_and_weights():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    z = np.round(rng.normal(size=200), 1)  # ties
    y = (rng.random(200) < 1 / (1 + np.exp(-z))).astype(float)
    s = rng.uniform(0.5, 2, 200)
    ref = metrics.roc_auc_score(y, z, sample_weight=s)
    assert auc(z, s * y, s * (1 - y)) == pytest.approx(ref, rel=1e-12)


def test_counts_equal_expanded_trials():
    rng = np.random.default_rng(1)
    z = rng.normal(size=30)
    n = rng.integers(1, 5, 30).astype(float)
    k = np.minimum(n, rng.integers(0, 5, 30)).astype(float)
    rows = np.repeat(np.arange(30), n.astype(int))
    y = np.concatenate([np.r_[np.ones(int(k[i])), np.zeros(int(n[i] - k[i]))]
                        for i in range(30)])
    ones = np.ones(rows.shape[0])
    # (not the deviance: its saturated model differs between grouped and expanded rows)
    for m in ("class", "mse", "mae"):
        assert held_out_total(m, z, n, k, np.ones(30)) == pytest.approx(
            held_out_total(m, z[rows], ones, y, ones), rel=1e-12)
    p = 1 / (1 + np.exp(-z[rows]))
    assert held_out_total("mse", z, n, k, np.ones(30)) == pytest.approx(np.sum((y - p) ** 2))
    assert held_out_total("class", z, n, k, np.ones(30)) == np.sum((p > 0.5) != (y == 1))


def test_cv_with_auc_picks_the_largest():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 8))
    y = (rng.random(300) < 1 / (1 + np.exp(-X @ [1.0, -1.0, 0.5, 0, 0, 0, 0, 0]))).astype(float)
    res = fastlogit.cv(X, 1, y, n_lams=10, n_folds=3, measure="auc", refit=False)
    assert res.index_min == int(np.argmax(res.cv_mean))
    assert res.settings["measure"] == "auc" and 0.5 < res.cv_mean.max() <= 1.0
    with pytest.raises(ValueError, match="measure"):
        fastlogit.cv(X, 1, y, n_lams=3, measure="f1")
