"""glmnet's options on path / cv / fit, by their properties (no R needed): standardize_penalty,
dfmax / pmax and the saturation stop, the relaxed lasso, and the null deviance. The
comparisons with R's glmnet are in test_glmnet_reference.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from fastlogit._models._inference import SeparationWarning
from fastlogit._selection._path_stop import PathStopWarning


def problem(m=300, p=8, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p)) * np.geomspace(0.01, 100, p)
    beta = np.r_[1.0, -0.5, 0.3, np.zeros(p - 3)] / np.geomspace(0.01, 100, p)
    n = 1.0 + rng.integers(0, 4, m)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-(X @ beta)))).astype(float)
    s = rng.uniform(0.5, 2.0, m)
    return X, n, k, s


def glmnet_sd(X, n, s):
    w = s * n / np.sum(s * n)
    mu = w @ X
    return np.sqrt(w @ (X - mu) ** 2)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_standardize_penalty_is_the_fit_on_scaled_columns(fit_intercept):
    X, n, k, s = problem()
    sd = glmnet_sd(X, n, s)
    kw = dict(lam=5.0, l1_ratio=0.6, sample_weight=s, fit_intercept=fit_intercept)
    ours = fastlogit.fit(X, n, k, standardize_penalty=True, **kw)
    scaled = fastlogit.fit(X / sd, n, k, **kw)
    np.testing.assert_allclose(ours.coef, scaled.coef / sd, rtol=1e-6, atol=1e-9)
    assert np.array_equal(ours.coef == 0, scaled.coef == 0)
    fp = fastlogit.path(X, n, k, lams=[5.0], standardize_penalty=True, **{
        key: v for key, v in kw.items() if key != "lam"})
    np.testing.assert_allclose(fp.coef[0], ours.coef, rtol=1e-6, atol=1e-9)
    # lam_max follows: the largest |gradient| / sd at the null model
    top = fastlogit.path(X, n, k, n_lams=3, standardize_penalty=True, sample_weight=s).lam_max
    assert top == pytest.approx(fastlogit.path(X / sd, n, k, n_lams=3,
                                               sample_weight=s).lam_max, rel=1e-10)


def test_standardize_penalty_dense_equals_csr_and_ridge_se():
    X, n, k, s = problem()
    a = fastlogit.fit(X, n, k, lam=2.0, l1_ratio=1.0, standardize_penalty=True)
    b = fastlogit.fit(sp.csr_matrix(X), n, k, lam=2.0, l1_ratio=1.0, standardize_penalty=True)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-7, atol=1e-10)
    # a ridge fit's standard errors use the L2 factors c sd^2
    sd = glmnet_sd(X, n, np.ones_like(n))
    r1 = fastlogit.fit(X, n, k, lam=3.0, standardize_penalty=True)
    r2 = fastlogit.fit(X / sd, n, k, lam=3.0)
    np.testing.assert_allclose(r1.bse[1:], r2.bse[1:] / sd, rtol=1e-5)


def test_inputs_untouched_and_bad_flags_refused():
    X, n, k, s = problem()
    X0, s0 = X.copy(), s.copy()
    fastlogit.path(X, n, k, sample_weight=s, n_lams=5, standardize_penalty=True, relax=True)
    assert np.array_equal(X, X0) and np.array_equal(s, s0)
    with pytest.raises(TypeError, match="standardize_penalty"):
        fastlogit.fit(X, n, k, standardize_penalty="yes")
    with pytest.raises(TypeError, match="relax"):
        fastlogit.path(X, n, k, relax=1)
    with pytest.raises(ValueError, match="dfmax"):
        fastlogit.path(X, n, k, dfmax=-1)
    with pytest.raises(TypeError, match="pmax"):
        fastlogit.cv(X, n, k, pmax=2.5)
    with pytest.raises(ValueError, match="fdev"):
        fastlogit.path(X, n, k, fdev=-1e-3)
    with pytest.raises(ValueError, match="devmax"):
        fastlogit.cv(X, n, k, devmax=float("nan"))
    with pytest.raises(ValueError, match="relax_maxp"):
        fastlogit.path(X, n, k, relax=True, relax_maxp=-2)
    fp = fastlogit.path(X, n, k, n_lams=5)
    with pytest.raises(ValueError, match="relax=True"):
        fp.blend(0.5)
    with pytest.raises(ValueError, match="gamma"):
        fp.result(0, gamma=1.5)


def test_stop_rules_apply_to_default_sequences_only():
    X, n, k, s = problem()
    full = fastlogit.path(X, n, k, n_lams=40, fdev=0, devmax=1)
    assert len(full) == 40 and full.stop_reason == ""
    stopped = fastlogit.path(X, n, k, n_lams=40)
    assert len(stopped) < 40 and stopped.stop_reason.startswith(("fdev", "devmax"))
    np.testing.assert_array_equal(stopped.lams, full.lams[:len(stopped)])
    given = fastlogit.path(X, n, k, lams=full.lams, dfmax=1)
    assert len(given) == 40  # glmnet ignores dfmax and the saturation stop on given lams
    d = fastlogit.path(X, n, k, n_lams=40, dfmax=1, fdev=0, devmax=1)
    assert d.n_nonzero[-1] == 2 and np.all(d.n_nonzero[:-1] <= 1) and len(d) >= 5
    assert d.stop_reason.startswith("dfmax")


def test_pmax_ends_the_path_before_too_many_features():
    X, n, k, s = problem()
    full = fastlogit.path(X, n, k, n_lams=30, fdev=0, devmax=1)
    with pytest.warns(PathStopWarning, match="pmax"):
        fp = fastlogit.path(X, n, k, lams=full.lams, pmax=2)
    assert 0 < len(fp) < 30
    assert np.count_nonzero(np.any(fp.coef != 0, axis=0)) <= 2
    assert np.count_nonzero(np.any(full.coef[:len(fp) + 1] != 0, axis=0)) > 2
    with pytest.warns(PathStopWarning):
        res = fastlogit.cv(X, n, k, lams=full.lams, pmax=2, n_folds=3)
    assert len(res.lams) == len(fp) and np.all(np.isfinite(res.cv_mean))


def test_null_deviance_is_the_intercept_only_models():
    X, n, k, s = problem()
    c = np.ones(X.shape[1])
    c[0] = 0.0  # unpenalised: fitted at lam_max already
    fp = fastlogit.path(X, n, k, n_lams=5, penalty_factor=c, sample_weight=s)
    null = fastlogit.glm("cbind(k, n - k) ~ 1", {"k": k, "n": n}, weights=s)
    assert fp.null_deviance == pytest.approx(null.deviance, rel=1e-9)
    assert fp.dev_ratio[0] > 0.0
    nob = fastlogit.path(X, n, k, n_lams=5, fit_intercept=False)
    p0 = 1 / 2  # no intercept, no offset: every probability 1/2
    dev0 = -2 * np.sum(k * np.log(p0) + (n - k) * np.log(1 - p0)
                       - (k * np.log(np.where(k > 0, k / n, 1)) + (n - k)
                          * np.log(np.where(n > k, 1 - k / n, 1))))
    assert nob.null_deviance == pytest.approx(dev0, rel=1e-9)


def test_relaxed_fits_are_unpenalised_fits_on_the_active_set():
    X, n, k, s = problem()
    fp = fastlogit.path(X, n, k, n_lams=12, relax=True, sample_weight=s)
    assert np.array_equal(fp.relaxed.coef != 0, fp.coef != 0)
    i = int(np.flatnonzero(fp.n_nonzero == 3)[0])
    active = np.flatnonzero(fp.coef[i])
    ref = fastlogit.fit(X[:, active], n, k, lam=0.0, sample_weight=s, solver="newton")
    np.testing.assert_allclose(fp.relaxed.coef[i, active], ref.coef, rtol=1e-6)
    assert fp.relaxed.intercept[i] == pytest.approx(ref.intercept, rel=1e-6)
    b, w = fp.blend(1.0)
    assert np.array_equal(w, fp.coef)
    r = fp.result(i, gamma=0.0)
    np.testing.assert_array_equal(r.coef, fp.relaxed.coef[i])
    assert r.settings["gamma"] == 0.0
    assert np.all(fp.relaxed_dev_ratio >= fp.dev_ratio - 1e-12)  # unpenalised fits better


def test_relaxed_refit_on_separated_data_warns_and_finishes():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]])
    X = np.c_[X, np.random.default_rng(0).normal(size=(8, 1))]
    k = np.array([0, 0, 0, 0, 1, 1, 1, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.warns(SeparationWarning, match="relax"):
            fp = fastlogit.path(X, 1, k, n_lams=6, relax=True, fdev=0, max_iter=50)
    assert np.all(np.isfinite(fp.relaxed.coef[fp.n_nonzero > 0]))


def test_cv_with_standardize_penalty_and_dfmax():
    X, n, k, s = problem()
    res = fastlogit.cv(X, n, k, n_lams=30, dfmax=2, fdev=0, devmax=1, n_folds=3,
                       standardize_penalty=True)
    fp = fastlogit.path(X, n, k, n_lams=30, dfmax=2, fdev=0, devmax=1,
                        standardize_penalty=True)
    np.testing.assert_array_equal(res.lams, fp.lams)
    np.testing.assert_allclose(res.result.coef, fp.coef[res.index_min], rtol=1e-9, atol=1e-12)
