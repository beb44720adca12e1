"""Newton, Newton-CG and gradient descent reach the L-BFGS-B optimum; their options,
refusals, callbacks and the reusable Newton polish."""

import io
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import random_problem

import fastlogit
from fastlogit._input._validate import as_design
from fastlogit._solvers import _newton
from fastlogit._solvers._base import Monitor
from fastlogit._solvers._lbfgs import LbfgsOptions
from fastlogit.backend._objective import BinomialLoss, L2Penalty, Objective, Standardization

SOLVERS = ["newton", "newton-cg", "gd"]
TIGHT = dict(factr=1.0, pgtol=1e-12)


def objective_for(X, n, k, lam, s=None, o=None, fit_intercept=True, standardize=True):
    design = as_design(X)
    sn, sk = (n, k) if s is None else (s * n, s * k)
    std = (Standardization.from_data(design, sn, fit_intercept, 1) if standardize
           else Standardization.identity(design.n_features))
    return Objective(BinomialLoss(design, sn, sk, o, 1), L2Penalty(lam), std, fit_intercept)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_every_solver_reaches_the_lbfgs_optimum(solver, sparse, lam):
    X, n, k, s, o = random_problem(m=400, p=10, density=0.3 if sparse else None, seed=21)
    Xf = sp.csr_matrix(X) if sparse else X
    ref = fastlogit.fit(Xf, n, k, lam=lam, sample_weight=s, offset=o, **TIGHT)
    res = fastlogit.fit(Xf, n, k, lam=lam, sample_weight=s, offset=o, solver=solver,
                        max_iter=5000)
    assert res.converged, res.message
    assert res.solver == solver and res.settings["solver"] == solver
    assert res.objective == pytest.approx(ref.objective, rel=1e-8)
    # second-order solvers also agree on the coefficients
    if solver != "gd":
        np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_intercept_matches_sklearn(solver):
    lm = pytest.importorskip("sklearn.linear_model")
    X, n, k, _, _ = random_problem(m=300, p=6, seed=22)
    X2, y2 = np.vstack([X, X]), np.r_[np.ones(300), np.zeros(300)]
    ref = lm.LogisticRegression(C=2.0, solver="newton-cholesky", tol=1e-12, max_iter=1000,
                                fit_intercept=False).fit(X2, y2, sample_weight=np.r_[k, n - k])
    res = fastlogit.fit(X, n, k, lam=0.5, fit_intercept=False, solver=solver, max_iter=5000)
    assert res.intercept == 0.0
    tol = 1e-5 if solver == "gd" else 1e-7
    np.testing.assert_allclose(res.coef, ref.coef_.ravel(), rtol=tol, atol=tol)


def test_newton_converges_fast_to_machine_precision_and_never_increases_f():
    X, n, k, s, o = random_problem(m=2000, p=15, seed=23)
    seen = []
    res = fastlogit.fit(X, n, k, lam=0.0, sample_weight=s, offset=o, solver="newton",
                        callback=lambda info: seen.append(info.objective))
    assert res.converged and res.n_iter <= 8
    assert res.grad_norm < 1e-13  # far below L-BFGS-B's rounding floor (~1e-8)
    rounding = 8 * np.finfo(float).eps * np.sqrt(2000) * seen[0]
    assert all(b <= a + rounding for a, b in zip(seen, seen[1:]))
    # statsmodels' IRLS optimum, to the last digits
    sm = pytest.importorskip("statsmodels.api")
    live = n > 0  # statsmodels cannot take rows without trials (they add nothing)
    ref = sm.GLM(np.column_stack([k, n - k])[live], sm.add_constant(X)[live],
                 family=sm.families.Binomial(), offset=o[live], freq_weights=s[live]
                 ).fit(tol=1e-14)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10, atol=1e-13)


def test_newton_is_exact_on_a_badly_scaled_problem():
    # columns spanning six orders of magnitude, a large mean: affine invariance + scaled Cholesky
    rng = np.random.default_rng(24)
    scales = np.array([1e-3, 1.0, 1e3, 1.0, 10.0])
    X = rng.normal(size=(1000, 5)) * scales + np.array([0, 100.0, 0, 0, 5e3])
    n = np.full(1000, 8.0)
    k = rng.binomial(8, 1 / (1 + np.exp(-(X - X.mean(0)) / X.std(0) @ [1, -1, 0.5, 0, 0.3])))
    k = k.astype(float)
    a = fastlogit.fit(X, n, k, lam=0.0, solver="newton")
    b = fastlogit.fit(X, n, k, lam=0.0, solver="newton", standardize=False)
    assert a.converged and b.converged and a.n_iter <= 10
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    sm = pytest.importorskip("statsmodels.api")
    ref = sm.GLM(np.column_stack([k, n - k]), sm.add_constant(X),
                 family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(a.params, ref.params, rtol=1e-8)


def test_newton_polish_finishes_an_lbfgs_fit():
    X, n, k, _, _ = random_problem(m=600, p=8, seed=25)
    rough = fastlogit.fit(X, n, k, lam=0.3, factr=1e9, pgtol=1e-4)
    exact = fastlogit.fit(X, n, k, lam=0.3, solver="newton")
    obj = objective_for(X, n, k, 0.3)
    pol = _newton.newton_polish(obj, rough.intercept, rough.coef, max_iter=4)
    assert pol.converged and pol.n_iter <= 4
    np.testing.assert_allclose(pol.coef, exact.coef, rtol=1e-12, atol=1e-14)
    assert pol.fun <= rough.objective
    # polishing the exact answer changes nothing
    again = _newton.newton_polish(obj, exact.intercept, exact.coef, max_iter=2)
    np.testing.assert_allclose(again.coef, exact.coef, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("solver", SOLVERS)
def test_callback_verbose_and_max_iter(solver):
    X, n, k, _, _ = random_problem(m=200, p=5, seed=26)
    infos = []
    res = fastlogit.fit(X, n, k, solver=solver, callback=lambda i: infos.append(i) or
                        len(infos) >= 3)
    assert not res.converged and res.message == "stopped by callback"
    assert [i.iteration for i in infos] == [0, 1, 2]
    assert infos[-1].coef.shape == (5,) and infos[-1].objective > 0
    buf = io.StringIO()
    monitor = Monitor(objective_for(X, n, k, 1.0), None, True, stream=buf)
    obj = monitor.objective
    from fastlogit._solvers._registry import get_solver

    get_solver(solver)(obj, obj.initial_theta(), LbfgsOptions(max_iter=3), monitor)
    assert "objective" in buf.getvalue() and len(buf.getvalue().splitlines()) >= 2
    with pytest.warns(fastlogit.ConvergenceWarning, match=solver):
        res = fastlogit.fit(X, n, k, solver=solver, max_iter=1, pgtol=0.0, factr=0.0)
    assert not res.converged and res.n_iter == 1


def test_threads_reproducible():
    X, n, k, s, o = random_problem(m=20000, p=12, density=0.3, seed=27)
    Xs = sp.csr_matrix(X)
    for solver in ("newton", "newton-cg"):
        one = fastlogit.fit(Xs, n, k, lam=0.1, solver=solver, threads=1)
        two = fastlogit.fit(Xs, n, k, lam=0.1, solver=solver, threads=2)
        again = fastlogit.fit(Xs, n, k, lam=0.1, solver=solver, threads=2)
        np.testing.assert_array_equal(two.coef, again.coef)
        np.testing.assert_allclose(one.coef, two.coef, rtol=1e-9, atol=1e-12)


def test_float32_and_warm_start():
    X, n, k, _, _ = random_problem(m=500, p=6, seed=28)
    ref = fastlogit.fit(X, n, k, lam=0.2, solver="newton")
    res32 = fastlogit.fit(X.astype(np.float32), n, k, lam=0.2, solver="newton")
    np.testing.assert_allclose(res32.coef, ref.coef, rtol=1e-5, atol=1e-6)
    warm = fastlogit.fit(X, n, k, lam=0.2, solver="newton", x0=ref)
    assert warm.n_iter <= 1
    np.testing.assert_allclose(warm.coef, ref.coef, rtol=1e-12)


def test_newton_refuses_too_many_features():
    p = _newton.NEWTON_MAX_FEATURES + 1
    X = sp.csr_matrix((np.ones(3), ([0, 1, 2], [0, 1, p - 1])), shape=(3, p))
    with pytest.raises(ValueError, match=r"newton-cg.*|.*limit of 5000"):
        fastlogit.fit(X, [1, 1, 1], [0, 1, 1], solver="newton")
    res = fastlogit.fit(X, [1, 1, 1], [0, 1, 1], solver="newton-cg")  # wide: no dense matrix
    assert res.converged


def test_refusals_name_the_problem():
    X, n, k, _, _ = random_problem(m=50, p=3, seed=29)
    with pytest.raises(ValueError, match="newton-cg"):
        fastlogit.fit(X, n, k, solver="Newton")
    obj = objective_for(X, n, k, 1.0)
    monitor = Monitor(obj, None, False)
    for name in SOLVERS:
        solve = fastlogit._solvers._registry.get_solver(name)
        with pytest.raises(ValueError, match="bounds"):
            solve(obj, obj.initial_theta(), LbfgsOptions(bounds=[(0, 1)] * 4), monitor)

    class L1Penalty(L2Penalty):
        l1_ratio = 0.5

    bad = Objective(obj.loss, L1Penalty(1.0), obj.std, True)
    for name in ("newton", "newton-cg"):
        solve = fastlogit._solvers._registry.get_solver(name)
        with pytest.raises(ValueError, match="L2"):
            solve(bad, bad.initial_theta(), LbfgsOptions(), monitor)


def test_gd_is_honest_when_slow():
    # an ill-conditioned unstandardised problem: gd stops on max_iter and says so
    rng = np.random.default_rng(30)
    X = rng.normal(size=(300, 3)) * [1e-2, 1.0, 1e2]
    k = rng.binomial(4, 0.4, size=300).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(fastlogit.ConvergenceWarning, match="gd did not converge"):
            fastlogit.fit(X, 4.0, k, solver="gd", standardize=False, max_iter=50, factr=0.0)
