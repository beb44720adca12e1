"""fastlogit.path: independent fits at each lam, lam_max against scikit-learn and
statsmodels, the default sequence, screening, progress, and bad input."""

import io
import sys
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import numpy_loss_grad, random_problem
from test_penalties import numpy_kkt

import fastlogit

TIGHT = dict(factr=10.0, pgtol=1e-10, threads=1)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
def test_path_matches_independent_fits(l1_ratio):
    X, n, k, s, o = random_problem(m=300, p=10, density=0.5, seed=21)
    Xs = sp.csr_matrix(X)
    # fdev=0: every lam of the sequence, past glmnet's saturation stop
    fp = fastlogit.path(Xs, n, k, sample_weight=s, offset=o, n_lams=12, l1_ratio=l1_ratio,
                        fdev=0, **TIGHT)
    assert len(fp) == 12 and fp.coef.shape == (12, 10)
    assert np.all(fp.converged)
    for i, lam in enumerate(fp.lams):
        ref = fastlogit.fit(Xs, n, k, sample_weight=s, offset=o, lam=lam, l1_ratio=l1_ratio,
                            **TIGHT)
        np.testing.assert_allclose(fp.coef[i], ref.coef, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(fp.coef[i] == 0, ref.coef == 0)
        assert fp.intercept[i] == pytest.approx(ref.intercept, abs=1e-6)
        assert fp.objective[i] == pytest.approx(ref.objective, rel=1e-10)
        assert numpy_kkt(X, n, k, s, o, fp.result(i), lam, l1_ratio) < 1e-6
        assert fp.result(i).deviance == pytest.approx(fp.deviance[i], rel=1e-10)


def test_path_with_factors_and_bounds_matches_fits():
    X, n, k, s, _ = random_problem(m=300, p=8, seed=22, scale=1.0)
    c = np.array([0.0, 1, 1, 2, 1, 0.5, 1, 1])
    lo = np.array([-np.inf, 0, -0.2, -1, 0, -np.inf, -1, 0.05])
    hi = np.array([np.inf, np.inf, 0.2, 0, 1, 0.3, 1, 1])
    fp = fastlogit.path(X, n, k, n_lams=10, l1_ratio=0.8, penalty_factor=c, bounds=(lo, hi),
                        **TIGHT)
    # at lam_max: penalised features at 0 (or the bound nearest 0), feature 0 fitted
    assert fp.coef[0, 0] != 0
    np.testing.assert_array_equal(fp.coef[0, 1:], np.r_[0, 0, 0, 0, 0, 0, 0.05])
    for i in range(len(fp)):
        ref = fastlogit.fit(X, n, k, lam=fp.lams[i], l1_ratio=0.8, penalty_factor=c,
                            bounds=(lo, hi), **TIGHT)
        np.testing.assert_allclose(fp.coef[i], ref.coef, rtol=0, atol=1e-6)
        assert np.all((fp.coef[i] >= lo) & (fp.coef[i] <= hi))
        assert numpy_kkt(X, n, k, None, None, fp.result(i), fp.lams[i], 0.8, c, lo, hi) < 1e-6


def test_lam_max_matches_sklearn_l1_min_c():
    """With balanced 0/1 labels the null intercept is 0 and lam_max = 1 / l1_min_c of
    scikit-learn (its definition: the smallest C with a nonzero coefficient)."""
    svm = pytest.importorskip("sklearn.svm")
    rng = np.random.default_rng(23)
    X = rng.normal(size=(200, 5))
    y = np.r_[np.ones(100), np.zeros(100)]
    fp = fastlogit.path(X, y=y, n_lams=3, threads=1)
    c_min = svm.l1_min_c(X, y, loss="log", fit_intercept=False)
    assert fp.lam_max == pytest.approx(1.0 / c_min, rel=1e-10)
    assert np.all(fp.coef[0] == 0) and fp.intercept[0] == pytest.approx(0.0, abs=1e-12)
    # just below lam_max one coefficient enters
    below = fastlogit.fit(X, y=y, lam=fp.lam_max * (1 - 1e-3), l1_ratio=1.0, **TIGHT)
    assert np.count_nonzero(below.coef) == 1


def test_lam_max_with_unpenalised_feature_matches_statsmodels():
    """The null model fits the unpenalised features: lam_max from its gradient."""
    sm = pytest.importorskip("statsmodels.api")
    X, n, k, s, o = random_problem(m=300, p=6, seed=24)
    c = np.array([0.0, 1, 1, 1, 1, 1])
    keep = n > 0
    null = sm.GLM(np.column_stack([k, n - k])[keep], sm.add_constant(X[keep, :1]),
                  family=sm.families.Binomial(), offset=o[keep]).fit(tol=1e-13)
    b, w0 = null.params
    _, gw, _ = numpy_loss_grad(X, n, k, None, o, np.r_[w0, np.zeros(5)], b)
    for l1_ratio in (1.0, 0.25):
        fp = fastlogit.path(X, n, k, offset=o, penalty_factor=c, l1_ratio=l1_ratio, n_lams=2,
                            **TIGHT)
        assert fp.lam_max == pytest.approx(np.abs(gw[1:]).max() / l1_ratio, rel=1e-6)
        assert fp.coef[0, 0] == pytest.approx(w0, rel=1e-6)
    # a ridge path takes lam_max at l1_ratio = 1e-3 (glmnet's convention)
    ridge = fastlogit.path(X, n, k, offset=o, penalty_factor=c, l1_ratio=0.0, n_lams=2, **TIGHT)
    assert ridge.lam_max == pytest.approx(np.abs(gw[1:]).max() * 1e3, rel=1e-6)


def test_default_sequence():
    X, n, k, s, _ = random_problem(m=200, p=5, seed=25)
    fp = fastlogit.path(X, n, k, n_lams=7, threads=1)
    assert fp.lams[0] == fp.lam_max
    np.testing.assert_allclose(np.diff(np.log(fp.lams)), np.log(1e-4) / 6, rtol=1e-12)
    assert np.all(fp.n_nonzero[:1] == 0) and fp.n_nonzero[-1] == 5
    assert np.all(np.diff(fp.dev_ratio) >= -1e-12) and 0 <= fp.dev_ratio[-1] < 1
    wide = fastlogit.path(X[:4], n[:4], k[:4], n_lams=3, threads=1)  # rows <= features
    assert wide.lams[-1] / wide.lams[0] == pytest.approx(1e-2)
    fp2 = fastlogit.path(X, n, k, n_lams=3, lam_min_ratio=0.5, threads=1)
    np.testing.assert_allclose(fp2.lams / fp2.lam_max, [1, np.sqrt(0.5), 0.5])


def test_user_lams_sorted_and_screening_changes_nothing():
    X, n, k, s, _ = random_problem(m=300, p=12, density=0.5, seed=26)
    lams = [5.0, 80.0, 20.0, 1.0, 20.0]
    a = fastlogit.path(X, n, k, lams=lams, l1_ratio=0.9, **TIGHT)
    np.testing.assert_array_equal(a.lams, [80.0, 20.0, 20.0, 5.0, 1.0])
    b = fastlogit.path(X, n, k, lams=lams, l1_ratio=0.9, screen=False, **TIGHT)
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(a.coef == 0, b.coef == 0)
    np.testing.assert_allclose(a.coef[1], a.coef[2], atol=1e-7)


def test_warm_starts_need_fewer_passes_than_cold_fits():
    X, n, k, s, _ = random_problem(m=600, p=30, density=0.3, seed=27)
    fp = fastlogit.path(X, n, k, n_lams=15, l1_ratio=0.5, lam_min_ratio=1e-2, threads=1)
    cold = [fastlogit.fit(X, n, k, lam=lam, l1_ratio=0.5, threads=1).n_fev for lam in fp.lams]
    assert fp.n_fev.sum() < 0.7 * np.sum(cold)


def test_no_intercept_path():
    X, n, k, s, _ = random_problem(m=200, p=6, seed=28)
    fp = fastlogit.path(X, n, k, n_lams=5, fit_intercept=False, **TIGHT)
    assert np.all(fp.intercept == 0.0) and np.all(fp.coef[0] == 0)
    ref = fastlogit.fit(X, n, k, lam=fp.lams[-1], l1_ratio=1.0, fit_intercept=False, **TIGHT)
    np.testing.assert_allclose(fp.coef[-1], ref.coef, atol=1e-6)


def test_verbose_and_progress():
    X, n, k, s, _ = random_problem(m=100, p=4, seed=29)
    buf = io.StringIO()
    with redirect_stdout(buf):
        fp = fastlogit.path(X, n, k, n_lams=4, verbose=True, threads=1)
    lines = buf.getvalue().strip().splitlines()
    assert lines[0].split()[:3] == ["#", "lam", "nonzero"] and len(lines) == 5
    assert lines[-1].split()[0] == "3"
    pytest.importorskip("tqdm")
    fastlogit.path(X, n, k, n_lams=4, progress=True, threads=1)
    assert repr(fp).startswith("PathResult(4 lams")


def test_progress_without_tqdm(monkeypatch):
    X, n, k, s, _ = random_problem(m=100, p=4, seed=30)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        fastlogit.path(X, n, k, n_lams=3, progress=True)


def test_unconverged_points_warn():
    X, n, k, s, _ = random_problem(m=200, p=8, seed=31)
    with pytest.warns(fastlogit.ConvergenceWarning, match="path fits did not converge"):
        fp = fastlogit.path(X, n, k, n_lams=4, max_iter=1, threads=1)
    assert not fp.converged.all()


def test_result_point_and_inputs_untouched():
    X, n, k, s, _ = random_problem(m=120, p=5, seed=32)
    copies = [a.copy() for a in (X, n, k, s)]
    fp = fastlogit.path(X, n, k, sample_weight=s, n_lams=4, feature_names=list("abcde"),
                        threads=1)
    for a, b in zip((X, n, k, s), copies):
        np.testing.assert_array_equal(a, b)
    r = fp.result(-1)
    assert r.feature_names == tuple("abcde") and r.settings["lam"] == fp.lams[-1]
    assert r.settings["l1_ratio"] == 1.0
    np.testing.assert_allclose(r.predict_proba(X), 1 / (1 + np.exp(-(X @ fp.coef[-1]
                                                                      + fp.intercept[-1]))))


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(lams=[1.0, -1.0]), ValueError, r"lams\[1\] is -1.0"),
    (dict(lams=[1.0, np.nan]), ValueError, "finite and >= 0"),
    (dict(lams=[]), ValueError, "non-empty"),
    (dict(lams=np.ones((2, 2))), ValueError, "1-D"),
    (dict(lams=["a"]), TypeError, "lams must hold real numbers"),
    (dict(n_lams=0), ValueError, "n_lams must be >= 1"),
    (dict(n_lams=2.5), TypeError, "n_lams must be an integer"),
    (dict(lam_min_ratio=0.0), ValueError, r"lam_min_ratio must be in \(0, 1\)"),
    (dict(lam_min_ratio=1.0), ValueError, r"lam_min_ratio must be in \(0, 1\)"),
    (dict(l1_ratio=2.0), ValueError, r"l1_ratio must be in \[0, 1\]"),
    (dict(penalty_factor=np.zeros(4)), ValueError, "pass lams= explicitly"),
    (dict(bounds=(1, 0)), ValueError, "lower <= upper"),
])
def test_bad_input(kw, exc, msg):
    X, n, k, s, _ = random_problem(m=50, p=4, seed=33)
    with pytest.raises(exc, match=msg):
        fastlogit.path(X, n, k, **kw)


def test_all_unpenalised_with_lams_is_fine():
    X, n, k, s, _ = random_problem(m=80, p=3, seed=34)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fp = fastlogit.path(X, n, k, lams=[2.0, 1.0], penalty_factor=np.zeros(3), threads=1)
    np.testing.assert_allclose(fp.coef[0], fp.coef[1], atol=1e-6)
