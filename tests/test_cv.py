"""fastlogit.cv: folds split rows (checked against fits on the row subsets themselves),
reproducible folds, glmnet's curve and standard errors, the one-standard-error rule, the
refit, and bad input."""

import io
from contextlib import redirect_stdout

import numpy as np
import pytest
from conftest import random_problem
from scipy.special import xlogy

import fastlogit
from fastlogit._selection._cv import choose, make_folds

FAST = dict(threads=1)


def binomial_deviance(X, n, k, s, o, coef, intercept):
    z = X @ coef + intercept + (0 if o is None else o)
    s = np.ones_like(n) if s is None else s
    sat = xlogy(k, k) + xlogy(n - k, n - k) - xlogy(n, n)
    return 2 * np.sum(s * (sat + n * np.logaddexp(0, z) - k * z))


def test_fold_deviance_equals_fits_on_row_subsets():
    """Each fold's curve equals a path fitted on the other rows only (rows removed, not
    zero-weighted), scored by a numpy deviance on the held-out rows: the trials of a row
    never cross a split."""
    X, n, k, s, o = random_problem(m=240, p=8, seed=41)
    res = fastlogit.cv(X, n, k, sample_weight=s, offset=o, n_lams=8, n_folds=3, seed=5,
                       l1_ratio=0.7, factr=10.0, pgtol=1e-10, **FAST)
    assert res.folds.shape == (240,) and set(res.folds) == {0, 1, 2}
    for f in range(3):
        test = res.folds == f
        train = ~test
        fp = fastlogit.path(X[train], n[train], k[train], sample_weight=s[train],
                            offset=o[train], lams=res.lams, l1_ratio=0.7, factr=10.0,
                            pgtol=1e-10, **FAST)
        dev = [binomial_deviance(X[test], n[test], k[test], s[test], o[test], fp.coef[j],
                                 fp.intercept[j]) for j in range(len(res.lams))]
        W = np.sum(s[test] * n[test])
        assert res.fold_weight[f] == pytest.approx(W)
        np.testing.assert_allclose(res.fold_deviance[f], np.array(dev) / W, rtol=1e-6)


def test_curve_and_standard_errors_follow_glmnet():
    X, n, k, s, _ = random_problem(m=200, p=6, seed=42)
    res = fastlogit.cv(X, n, k, n_lams=10, n_folds=4, **FAST)
    D, W = res.fold_deviance, res.fold_weight
    mean = (D * W[:, None]).sum(0) / W.sum()
    se = np.sqrt((W[:, None] * (D - mean) ** 2).sum(0) / W.sum() / 3)
    np.testing.assert_allclose(res.cv_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(res.cv_se, se, rtol=1e-12)
    i_min = int(np.argmin(mean))
    assert res.lam_min == res.lams[i_min] and res.index_min == i_min
    ok = mean <= mean[i_min] + se[i_min]
    assert res.index_1se == int(np.flatnonzero(ok)[0]) and res.lam_1se >= res.lam_min


def test_choose_rule():
    mean = np.array([5.0, 3.0, 2.2, 2.0, 2.1, 2.0])
    se = np.array([0.1, 0.1, 0.1, 0.25, 0.1, 0.1])
    assert choose(mean, se) == (3, 2)  # first minimum; largest lam within one SE
    assert choose(np.array([1.0, 1.0]), np.zeros(2)) == (0, 0)


def test_folds_reproducible_and_balanced():
    a = make_folds(103, 5, None, 7)
    np.testing.assert_array_equal(a, make_folds(103, 5, None, 7))
    assert not np.array_equal(a, make_folds(103, 5, None, 8))
    counts = np.bincount(a)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 103
    gen = make_folds(10, 2, None, np.random.default_rng(3))
    assert set(gen) == {0, 1}
    X, n, k, s, _ = random_problem(m=90, p=4, seed=43)
    r1 = fastlogit.cv(X, n, k, n_lams=5, n_folds=3, seed=11, **FAST)
    r2 = fastlogit.cv(X, n, k, n_lams=5, n_folds=3, seed=11, **FAST)
    np.testing.assert_array_equal(r1.folds, r2.folds)
    np.testing.assert_array_equal(r1.cv_mean, r2.cv_mean)


def test_user_folds_and_expanded_rows():
    """Binomial rows against their expansion into 0/1 rows, each expanded row in its
    binomial row's fold: the same lam_min, the curves apart by a constant (the binomial
    saturated log-likelihood)."""
    rng = np.random.default_rng(44)
    X = rng.normal(size=(80, 4))
    n = rng.integers(1, 5, size=80).astype(float)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-X @ [1.0, -1, 0, 0]))).astype(float)
    labels = np.arange(80) % 4 * 10  # any integer labels
    res = fastlogit.cv(X, n, k, folds=labels, n_lams=8, factr=10.0, pgtol=1e-10, **FAST)
    assert res.n_folds == 4 and np.array_equal(res.folds, labels // 10)
    rep = n.astype(int)
    Xe = np.repeat(X, rep, axis=0)
    ye = np.concatenate([np.r_[np.ones(int(ki)), np.zeros(int(ni - ki))] for ni, ki in zip(n, k)])
    res_e = fastlogit.cv(Xe, y=ye, folds=np.repeat(labels, rep), lams=res.lams, factr=10.0,
                         pgtol=1e-10, **FAST)
    assert res_e.index_min == res.index_min
    diff = res.cv_mean - res_e.cv_mean
    np.testing.assert_allclose(diff, diff[0], atol=1e-7)


def test_refit_and_rule():
    X, n, k, s, _ = random_problem(m=200, p=8, seed=45)
    res = fastlogit.cv(X, n, k, n_lams=10, n_folds=3, rule="1se", factr=10.0, pgtol=1e-10,
                       **FAST)
    assert res.lam == res.lam_1se and res.result.settings["lam"] == res.lam_1se
    ref = fastlogit.fit(X, n, k, lam=res.lam_1se, l1_ratio=1.0, factr=10.0, pgtol=1e-10,
                        **FAST)
    np.testing.assert_allclose(res.result.coef, ref.coef, atol=1e-6)
    assert res.path.lams[-1] == res.lam_min and len(res.path) == res.index_min + 1
    np.testing.assert_allclose(res.path.result(res.index_min).coef,
                               fastlogit.fit(X, n, k, lam=res.lam_min, l1_ratio=1.0,
                                             factr=10.0, pgtol=1e-10, **FAST).coef, atol=1e-6)
    bare = fastlogit.cv(X, n, k, n_lams=4, n_folds=3, refit=False, **FAST)
    assert bare.result is None and bare.path is None
    assert "lam_min" in repr(bare)


def test_verbose_lines():
    X, n, k, s, _ = random_problem(m=60, p=3, seed=46)
    buf = io.StringIO()
    with redirect_stdout(buf):
        fastlogit.cv(X, n, k, n_lams=3, n_folds=2, verbose=True, **FAST)
    out = buf.getvalue()
    assert out.count("[1/2]") == 3 + 1 and out.count("[all]") >= 1  # header + 3 lams
    assert "fold 2/2" in out


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(n_folds=1), ValueError, "n_folds must be between 2"),
    (dict(n_folds=61), ValueError, "n_folds must be between 2"),
    (dict(n_folds=2.0), TypeError, "n_folds must be an integer"),
    (dict(folds=np.zeros(60, dtype=int)), ValueError, "at least 2 distinct folds"),
    (dict(folds=np.zeros(59, dtype=int)), ValueError, r"one per row of X, shape \(60,\)"),
    (dict(folds=np.zeros(60)), ValueError, "integer fold labels"),
    (dict(seed="a"), TypeError, "seed must be an integer"),
    (dict(rule="best"), ValueError, "rule must be 'min' or '1se'"),
])
def test_bad_input(kw, exc, msg):
    X, n, k, s, _ = random_problem(m=60, p=3, seed=47)
    with pytest.raises(exc, match=msg):
        fastlogit.cv(X, n, k, n_lams=3, **kw)


def test_fold_without_trials():
    X, n, k, s, _ = random_problem(m=60, p=3, seed=48)
    n, k = n.copy(), k.copy()
    folds = np.arange(60) % 3
    n[folds == 1] = 0.0
    k[folds == 1] = 0.0
    with pytest.raises(ValueError, match="fold 1 has no held-out trials"):
        fastlogit.cv(X, n, k, folds=folds, n_lams=3)
