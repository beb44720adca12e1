"""Accurate by default: with no solver options, fit reproduces statsmodels/R (unregularised)
and scikit-learn's exact newton-cholesky optimum (regularised) on real, badly scaled data
that ships inside PyPI packages, and on synthetic columns spanning six orders of magnitude."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from fastlogit._input._validate import as_design
from fastlogit._solvers._base import SolverOutcome
from fastlogit._solvers._polish import PolishPlan

sm = pytest.importorskip("statsmodels.api")


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b) / np.maximum(np.abs(b), 1e-300)))


def _sklearn_exact(X, n, k, lam):
    lm = pytest.importorskip("sklearn.linear_model")
    X2 = sp.vstack([X, X]).tocsr() if sp.issparse(X) else np.vstack([X, X])
    y2 = np.r_[np.ones(len(n)), np.zeros(len(n))]
    model = lm.LogisticRegression(C=1.0 / lam, solver="newton-cholesky", tol=1e-14,
                                  max_iter=1000)
    model.fit(X2, y2, sample_weight=np.r_[k, n - k])
    return np.r_[model.intercept_, model.coef_.ravel()]


def _default_fit(X, n, k, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastlogit.ConvergenceWarning)  # must converge quietly
        return fastlogit.fit(X, n, k, **kw)


def test_star98_raw_columns_match_r():
    # statsmodels' GLM reproduces R's glm on star98 (its documentation shows both)
    d = sm.datasets.star98.load()
    Y, X = np.asarray(d.endog, float), np.asarray(d.exog, float)
    ref = sm.GLM(Y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-14)
    res = _default_fit(X, Y.sum(1), Y[:, 0], lam=0.0)
    assert res.converged
    assert _rel(np.r_[res.intercept, res.coef], ref.params) < 1e-6
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-9)


def test_star98_standardised_regularised_matches_sklearn():
    d = sm.datasets.star98.load()
    Y, X = np.asarray(d.endog, float), np.asarray(d.exog, float)
    X = (X - X.mean(0)) / X.std(0)
    ref = _sklearn_exact(X, Y.sum(1), Y[:, 0], lam=100.0)
    res = _default_fit(X, Y.sum(1), Y[:, 0], lam=100.0)
    assert _rel(np.r_[res.intercept, res.coef], ref) < 1e-6


@pytest.mark.parametrize("C", [1.0, 100.0])
def test_breast_cancer_matches_sklearn(C):
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)  # raw columns, scales 1e-3 .. 1e3
    ref = _sklearn_exact(X, np.ones(len(y)), y.astype(float), lam=1.0 / C)
    res = _default_fit(X, None, None, y=y, lam=1.0 / C)
    assert _rel(np.r_[res.intercept, res.coef], ref) < 1e-6


def test_spector_matches_statsmodels_logit():
    d = sm.datasets.spector.load()
    X, y = np.asarray(d.exog, float), np.asarray(d.endog, float)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-14)
    res = _default_fit(X, None, None, y=y, lam=0.0)
    assert _rel(np.r_[res.intercept, res.coef], ref.params) < 1e-6
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-6)


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
@pytest.mark.parametrize("C", [1.0, 100.0])
def test_multinomial_raw_data_matches_sklearn(name, C):
    # raw columns (digits: pixel counts 0..16, some nearly always 0); scikit-learn's exact
    # solver for the multinomial loss (newton-cholesky, tol 1e-14) as the reference
    datasets = pytest.importorskip("sklearn.datasets")
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    ref = lm.LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000)
    ref.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastlogit.ConvergenceWarning)
        # threads=1 is what the default picks at this size (_rows.pxd thread_count);
        # conftest's FASTLOGIT_MIN_THREAD_WORK=1 would otherwise force two threads onto
        # 1,797-row passes, which on a busy machine costs barrier waits, not accuracy
        res = fastlogit.fit_multinomial(X, y, lam=1.0 / C, threads=1)
    assert res.converged
    scale = np.abs(ref.coef_).max()
    assert np.abs(res.coef - ref.coef_).max() / scale < 1e-6
    assert np.abs(res.intercept - ref.intercept_).max() / np.abs(ref.intercept_).max() < 1e-6


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_six_orders_of_magnitude(sparse, lam):
    rng = np.random.default_rng(3)
    m, p = 2000, 8
    scales = np.logspace(-3, 3, p)
    X = rng.normal(size=(m, p)) * scales + np.where(np.arange(p) % 3 == 0, 5 * scales, 0)
    if sparse:
        X[rng.random((m, p)) < 0.5] = 0.0
    w = rng.normal(size=p) / scales
    n = rng.integers(1, 30, size=m).astype(float)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-(X @ w * 0.5 - 0.2)))).astype(float)
    Xf = sp.csr_matrix(X) if sparse else X
    if lam == 0.0:
        ref = sm.GLM(np.column_stack([k, n - k]), sm.add_constant(X),
                     family=sm.families.Binomial()).fit(tol=1e-14).params
    else:
        ref = _sklearn_exact(Xf, n, k, lam)
    res = _default_fit(Xf, n, k, lam=lam)
    assert res.converged and "Newton" in res.message
    assert _rel(np.r_[res.intercept, res.coef], ref) < 1e-6


def _outcome(n_fev):
    return SolverOutcome(theta=np.zeros(1), fun=0.5, grad=np.zeros(1), n_iter=n_fev,
                         n_fev=n_fev, converged=True, stopped_by_callback=False, message="")


def test_polish_only_where_a_hessian_is_cheap():
    # dense n x 100: a Hessian costs ~5.5 passes whatever n; a well-conditioned fit (8
    # passes, like dense 200,000 x 100) is not polished, an ill-conditioned one (40) is
    big = as_design(np.ones((20_000, 100)))
    plan = PolishPlan.for_design(big, smooth=True, solver="lbfgs")
    assert plan.eligible and not plan.tiny
    assert 4 < plan.passes < 8
    assert not plan.wanted(_outcome(8)) and plan.wanted(_outcome(40))
    # L-BFGS-B is handed to Newton only well past the point where the polish is affordable
    assert 40 < plan.lbfgs_max_iter(1000) < 1000
    # tiny problems: always, after a short L-BFGS-B start
    small = as_design(np.ones((300, 20)))
    tiny = PolishPlan.for_design(small, smooth=True, solver="lbfgs")
    assert tiny.tiny and tiny.wanted(_outcome(1)) and tiny.lbfgs_max_iter(1000) < 1000
    # never: too wide (sparse 1M x 100k), L1/bounds, other solvers
    wide = sp.csr_matrix((1000, 100_000))
    assert not PolishPlan.for_design(as_design(wide), smooth=True, solver="lbfgs").eligible
    assert not PolishPlan.for_design(small, smooth=False, solver="lbfgs").eligible
    assert not PolishPlan.for_design(small, smooth=True, solver="gd").eligible


def test_polish_respects_max_iter_and_callbacks():
    d = sm.datasets.star98.load()
    Y, X = np.asarray(d.endog, float), np.asarray(d.exog, float)
    with pytest.warns(fastlogit.ConvergenceWarning, match="max_iter"):
        res = fastlogit.fit(X, Y.sum(1), Y[:, 0], lam=0.0, max_iter=5)
    assert res.n_iter <= 5 and not res.converged
    stopped = fastlogit.fit(X, Y.sum(1), Y[:, 0], lam=0.0,
                            callback=lambda info: info.iteration >= 22)
    assert stopped.message.endswith("stopped by callback") and stopped.n_iter == 22
    assert not stopped.converged


def test_converged_means_the_gradient_condition():
    # factr so loose that L-BFGS-B stops on F at once (and too wide to polish): not
    # converged, and the warning says what to change
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 2100)) * 0.01
    k = rng.binomial(1, 0.3, size=1500).astype(float)
    with pytest.warns(fastlogit.ConvergenceWarning, match="Lower factr"):
        res = fastlogit.fit(X, 1.0, k, lam=1e-3, factr=1e12)
    assert not res.converged and res.grad_norm > 1e-8
