"""L1 / elastic net, penalty factors and bounds: against scikit-learn (saga) and glum, an
independent numpy KKT check, and properties."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import numpy_loss_grad, random_problem

import fastlogit
from fastlogit._models import _fit
from fastlogit._penalties._penalties import ElasticNet, as_bounds
from fastlogit._solvers._base import Monitor
from fastlogit._solvers._constrained import SplitObjective, finish
from fastlogit._solvers._lbfgs import LbfgsOptions
from fastlogit._solvers._lbfgs import solve as lbfgs_solve
from fastlogit.backend._objective import BinomialLoss, Objective, Standardization

TIGHT = dict(factr=10.0, pgtol=1e-10)


def numpy_kkt(X, n, k, s, o, res, lam, l1_ratio, factor=None, lower=None, upper=None,
              fit_intercept=True):
    """Independent optimality check in the user's coordinates, scaled by sum(s n):
    per coefficient the distance from 0 of the subdifferential, and |dF/db|.
    ``res`` is a result or a pair (coef, intercept)."""
    if isinstance(res, tuple):
        res = fastlogit.LogitResult(res[0], res[1], 0.0, 0.0, 0, 0, True, "", "", {}, 0, 0)
    p = X.shape[1]
    c = np.ones(p) if factor is None else np.asarray(factor, float)
    lower = np.full(p, -np.inf) if lower is None else np.broadcast_to(lower, p)
    upper = np.full(p, np.inf) if upper is None else np.broadcast_to(upper, p)
    w = res.coef
    _, gw, gb = numpy_loss_grad(X, n, k, s, o, w, res.intercept)
    g = gw + lam * (1 - l1_ratio) * c * w
    a = lam * l1_ratio * c
    lo = np.where(w > 0, g + a, np.where(w < 0, g - a, g - a))
    hi = np.where(w > 0, g + a, np.where(w < 0, g - a, g + a))
    lo = np.where(w <= lower, -np.inf, lo)
    hi = np.where(w >= upper, np.inf, hi)
    viol = np.maximum(lo, 0) + np.maximum(-hi, 0)
    S = np.sum((np.ones_like(n) if s is None else s) * n)
    return max(viol.max(), abs(gb) if fit_intercept else 0.0) / S


def saga_two_row(X, n, k, s, lam, l1_ratio):
    """scikit-learn's saga on the two-row encoding (success row weighted s*k, failure row
    s*(n-k)); C = 1/lam. Slow to converge, hence small problems and a tight tol."""
    lm = pytest.importorskip("sklearn.linear_model")
    s = np.ones_like(n) if s is None else s
    X2 = sp.vstack([X, X]).tocsr() if sp.issparse(X) else np.vstack([X, X])
    y2 = np.r_[np.ones(len(n)), np.zeros(len(n))]
    w2 = np.r_[s * k, s * (n - k)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lm.LogisticRegression(C=1.0 / lam, l1_ratio=l1_ratio, solver="saga",
                                      tol=1e-13, max_iter=200_000)
        model.fit(X2, y2, sample_weight=w2)
    return model.coef_.ravel(), float(model.intercept_[0])


def glum_fit(X, n, k, s, lam, l1_ratio, factor=None, lower=None, upper=None):
    """glum minimises deviance / (2 sum(weights)) + alpha P(w): with y = k/n and weights
    s*n, that is F / sum(s n) for alpha = lam / sum(s n). P1 = P2 = penalty_factor."""
    glum = pytest.importorskip("glum")
    s = np.ones_like(n) if s is None else s
    keep = n > 0  # glum wants y in [0, 1]; rows without trials carry no weight anyway
    S = float(np.sum(s * n))
    kw = {}
    if factor is not None:
        kw.update(P1=np.asarray(factor, float), P2=np.asarray(factor, float))
    model = glum.GeneralizedLinearRegressor(
        family="binomial", alpha=lam / S, l1_ratio=l1_ratio, gradient_tol=1e-13,
        max_iter=10_000, lower_bounds=lower, upper_bounds=upper, **kw)
    with warnings.catch_warnings():  # "lower_bounds above starting value": glum clips its start
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X[keep], k[keep] / n[keep], sample_weight=(s * n)[keep])
    return model.coef_, float(model.intercept_)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("lam,l1_ratio", [(5.0, 1.0), (20.0, 1.0), (20.0, 0.5), (60.0, 0.2)])
def test_matches_saga(sparse, lam, l1_ratio):
    X, n, k, s, _ = random_problem(m=200, p=8, density=0.5 if sparse else None, seed=3)
    if l1_ratio == 1.0:
        # saga does not converge on pure L1 with fractional two-row weights s*k, s*(n-k)
        # (20,000 epochs, coefficients off by 0.5); integer weights k, n-k are fine
        s = None
    Xf = sp.csr_matrix(X) if sparse else X
    ref_coef, ref_b = saga_two_row(Xf, n, k, s, lam, l1_ratio)
    assert numpy_kkt(X, n, k, s, None, (ref_coef, ref_b), lam, l1_ratio) < 1e-6  # ref is good
    res = fastlogit.fit(Xf, n, k, sample_weight=s, lam=lam, l1_ratio=l1_ratio, **TIGHT)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref_coef, rtol=0, atol=1e-5)
    assert res.intercept == pytest.approx(ref_b, abs=1e-5)
    # the reference's zeros are our exact zeros, and ours are not "almost zeros"
    np.testing.assert_array_equal(res.coef == 0, np.abs(ref_coef) < 1e-7)
    assert np.all(np.abs(res.coef[res.coef != 0]) > 1e-6)
    assert numpy_kkt(X, n, k, s, None, res, lam, l1_ratio) < 1e-6
    assert res.grad_norm < 1e-6


@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_matches_glum_with_factors_and_offset(l1_ratio):
    X, n, k, s, o = random_problem(m=300, p=10, seed=5)
    factor = np.array([0.0, 1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 1.0, 0.0, 1.0])
    lam = 25.0 / l1_ratio
    res = fastlogit.fit(X, n, k, sample_weight=s, lam=lam, l1_ratio=l1_ratio,
                        penalty_factor=factor, **TIGHT)
    ref_coef, ref_b = glum_fit(X, n, k, s, lam, l1_ratio, factor=factor)
    np.testing.assert_allclose(res.coef, ref_coef, rtol=0, atol=1e-5)
    assert res.intercept == pytest.approx(ref_b, abs=1e-5)
    assert np.any(res.coef == 0) and np.all(res.coef[[0, 8]] != 0)
    assert numpy_kkt(X, n, k, s, None, res, lam, l1_ratio, factor) < 1e-6
    # and with an offset (no glum reference: the independent KKT check)
    res_o = fastlogit.fit(X, n, k, sample_weight=s, offset=o, lam=lam, l1_ratio=l1_ratio,
                          penalty_factor=factor, **TIGHT)
    assert numpy_kkt(X, n, k, s, o, res_o, lam, l1_ratio, factor) < 1e-6


def test_bounds_match_glum_and_are_exact():
    X, n, k, s, _ = random_problem(m=300, p=8, seed=7, scale=1.0)
    lower = np.array([0.0, 0.0, -0.1, -np.inf, 0.05, -1.0, 0.0, -0.2])
    upper = np.array([np.inf, 0.3, 0.1, 0.0, 0.5, 1.0, 0.0, np.inf])
    for l1_ratio, lam in ((0.0, 2.0), (1.0, 10.0), (0.5, 10.0)):
        res = fastlogit.fit(X, n, k, sample_weight=s, lam=lam, l1_ratio=l1_ratio,
                            bounds=(lower, upper), **TIGHT)
        assert res.converged
        assert np.all(res.coef >= lower) and np.all(res.coef <= upper)
        assert np.any(res.coef == lower) and np.any(res.coef == upper)
        assert res.coef[6] == 0.0  # fixed by (0, 0)
        ref_coef, ref_b = glum_fit(X, n, k, s, lam, l1_ratio, lower=lower, upper=upper)
        np.testing.assert_allclose(res.coef, ref_coef, rtol=0, atol=1e-5)
        assert res.intercept == pytest.approx(ref_b, abs=1e-5)
        assert numpy_kkt(X, n, k, s, None, res, lam, l1_ratio, None, lower, upper) < 1e-6


def test_scalar_bounds_and_nonbinding_bounds():
    X, n, k, s, o = random_problem(m=250, p=6, density=0.6, seed=8)
    free = fastlogit.fit(X, n, k, offset=o, lam=3.0, l1_ratio=0.5, **TIGHT)
    wide = fastlogit.fit(X, n, k, offset=o, lam=3.0, l1_ratio=0.5,
                         bounds=(-10.0, 10.0), **TIGHT)
    np.testing.assert_allclose(wide.coef, free.coef, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(wide.coef == 0, free.coef == 0)
    ridge = fastlogit.fit(X, n, k, lam=3.0, **TIGHT)
    ridge_wide = fastlogit.fit(X, n, k, lam=3.0, bounds=(None, 100), **TIGHT)
    np.testing.assert_allclose(ridge_wide.coef, ridge.coef, rtol=1e-7, atol=1e-9)
    nonneg = fastlogit.fit(X, n, k, lam=3.0, bounds=(0, None), **TIGHT)
    assert np.all(nonneg.coef >= 0) and np.any(nonneg.coef == 0)
    assert numpy_kkt(X, n, k, None, None, nonneg, 3.0, 0.0, None, 0.0, None) < 1e-6


def test_penalty_factor_zero_is_unpenalised_and_two_doubles_lam():
    X, n, k, s, _ = random_problem(m=300, p=6, seed=9)
    lam = 30.0
    # c_0 = 0: feature 0's subgradient is exactly its gradient, so dF/dw_0 = 0
    c = np.array([0.0, 1, 1, 1, 1, 1])
    res = fastlogit.fit(X, n, k, lam=lam, l1_ratio=1.0, penalty_factor=c, **TIGHT)
    _, gw, _ = numpy_loss_grad(X, n, k, None, None, res.coef, res.intercept)
    assert abs(gw[0]) / n.sum() < 1e-7 and res.coef[0] != 0
    # c = 2 everywhere equals doubling lam, for every l1_ratio
    for l1_ratio in (0.0, 0.4, 1.0):
        two = fastlogit.fit(X, n, k, lam=lam, l1_ratio=l1_ratio, penalty_factor=np.full(6, 2.0),
                            **TIGHT)
        double = fastlogit.fit(X, n, k, lam=2 * lam, l1_ratio=l1_ratio, **TIGHT)
        np.testing.assert_allclose(two.coef, double.coef, rtol=1e-7, atol=1e-9)
        assert two.objective == pytest.approx(double.objective, rel=1e-12)
    # c_j = 2 for one feature: lasso with column j halved and c_j = 1 is the same problem
    # (w_j' = 2 w_j), so w_j = w'_j / 2 ... checked against the rescaled fit
    c2 = np.array([1.0, 2.0, 1, 1, 1, 1])
    one = fastlogit.fit(X, n, k, lam=lam, l1_ratio=1.0, penalty_factor=c2, **TIGHT)
    Xh = X.copy()
    Xh[:, 1] /= 2.0
    half = fastlogit.fit(Xh, n, k, lam=lam, l1_ratio=1.0, **TIGHT)
    np.testing.assert_allclose(one.coef * np.r_[1, 2, 1, 1, 1, 1], half.coef, rtol=1e-6,
                               atol=1e-8)


def test_l1_ratio_edges():
    X, n, k, s, _ = random_problem(m=200, p=5, seed=10)
    # lam = 0 with any l1_ratio is the unpenalised fit
    a = fastlogit.fit(X, n, k, lam=0.0, l1_ratio=1.0, **TIGHT)
    b = fastlogit.fit(X, n, k, lam=0.0, **TIGHT)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-7)
    # a huge L1 penalty zeroes everything exactly, the intercept is the pooled log-odds
    big = fastlogit.fit(X, n, k, lam=1e6, l1_ratio=1.0, **TIGHT)
    assert np.all(big.coef == 0.0)
    assert big.intercept == pytest.approx(np.log(k.sum() / (n.sum() - k.sum())), rel=1e-8)
    assert big.settings["l1_ratio"] == 1.0


def test_dense_equals_sparse_and_threads():
    X, n, k, s, o = random_problem(m=400, p=12, density=0.4, seed=11)
    kw = dict(sample_weight=s, offset=o, lam=15.0, l1_ratio=0.7, bounds=(-0.5, 0.5), **TIGHT)
    dense = fastlogit.fit(X, n, k, **kw)
    csr = fastlogit.fit(sp.csr_matrix(X), n, k, **kw)
    np.testing.assert_allclose(csr.coef, dense.coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(csr.coef == 0, dense.coef == 0)
    one = fastlogit.fit(sp.csr_matrix(X), n, k, threads=1, **kw)
    two = fastlogit.fit(sp.csr_matrix(X), n, k, threads=2, **kw)
    again = fastlogit.fit(sp.csr_matrix(X), n, k, threads=2, **kw)
    # one and two threads round differently, and the bounded L-BFGS-B path follows; both
    # stop within the solver's accuracy (KKT ~1e-7): the coefficients agree to ~1e-6
    np.testing.assert_allclose(one.coef, two.coef, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(again.coef, two.coef)


def test_no_intercept_l1():
    X, n, k, s, _ = random_problem(m=200, p=6, seed=12)
    res = fastlogit.fit(X, n, k, lam=20.0, l1_ratio=1.0, fit_intercept=False, **TIGHT)
    assert res.intercept == 0.0 and np.any(res.coef == 0)
    assert numpy_kkt(X, n, k, None, None, res, 20.0, 1.0, fit_intercept=False) < 1e-6


def test_finish_zeroes_what_kkt_says():
    """A solver answer with a tiny leftover coefficient where zero is optimal is reported with
    an exact zero, and a lower objective."""
    X, n, k, s, _ = random_problem(m=300, p=8, seed=13)
    lam = 40.0
    ref = fastlogit.fit(X, n, k, lam=lam, l1_ratio=1.0, **TIGHT)
    j = int(np.flatnonzero(ref.coef == 0)[0])
    from fastlogit._input._validate import as_design

    std = Standardization.from_data(as_design(X), n, True, 1)
    pen = ElasticNet(lam, 1.0)
    base = Objective(BinomialLoss(as_design(X), n, k, None, 1), pen.ridge, std, True)
    obj = SplitObjective(base, pen.l1_weights(8), None)
    w = ref.coef.copy()
    w[j] = 1e-9
    theta = obj.join(ref.intercept, w)
    f, g = obj(theta)
    from fastlogit._solvers._base import SolverOutcome

    out = SolverOutcome(theta, f, g, 1, 1, True, False, "test")
    sol = finish(obj, out, 1e-8)
    assert sol.coef[j] == 0.0
    assert sol.objective <= f * obj.scale
    np.testing.assert_allclose(sol.coef, ref.coef, atol=1e-8)
    # and a solve from there reports the same exact zeros
    mon = Monitor(obj, None, False)
    out2 = lbfgs_solve(obj, theta, LbfgsOptions(bounds=obj.bounds), mon)
    np.testing.assert_array_equal(finish(obj, out2, 1e-8).coef == 0, ref.coef == 0)


def test_verbose_and_callback_with_bounds(capsys):
    X, n, k, s, _ = random_problem(m=200, p=5, seed=14)
    seen = []
    res = fastlogit.fit(X, n, k, lam=10.0, l1_ratio=1.0, bounds=(0, None), verbose=True,
                        callback=seen.append)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == res.n_iter + 2
    assert np.all(seen[-1].coef >= 0)
    # the reported gradient is the projected one: small at the end even with active bounds
    assert seen[-1].grad_norm < 1e-6


def test_inputs_not_modified():
    X, n, k, s, _ = random_problem(m=100, p=4, seed=15)
    c = np.array([1.0, 0.0, 2.0, 1.0])
    lo, hi = np.array([-1.0, 0, 0, -1]), np.array([1.0, 1, 1, 0])
    copies = [a.copy() for a in (X, n, k, c, lo, hi)]
    fastlogit.fit(X, n, k, lam=5.0, l1_ratio=0.5, penalty_factor=c, bounds=(lo, hi))
    for a, b in zip((X, n, k, c, lo, hi), copies):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# Bad input


@pytest.fixture
def small():
    X, n, k, s, _ = random_problem(m=50, p=4, seed=1)
    return X, n, k


@pytest.mark.parametrize("bad,exc,msg", [
    (-0.1, ValueError, r"l1_ratio must be in \[0, 1\]"),
    (1.5, ValueError, r"l1_ratio must be in \[0, 1\]"),
    (np.nan, ValueError, r"l1_ratio must be in \[0, 1\]"),
    (True, TypeError, "l1_ratio must be a real number"),
    ("0.5", TypeError, "l1_ratio must be a real number"),
])
def test_bad_l1_ratio(small, bad, exc, msg):
    with pytest.raises(exc, match=msg):
        fastlogit.fit(*small, l1_ratio=bad)


@pytest.mark.parametrize("bad,exc,msg", [
    (np.array([1.0, -1.0, 1.0, 1.0]), ValueError, "feature 1 has -1.0"),
    (np.array([1.0, np.nan, 1.0, 1.0]), ValueError, "finite and >= 0"),
    (np.array([1.0, np.inf, 1.0, 1.0]), ValueError, "bounds \\(0, 0\\)"),
    (np.ones(3), ValueError, r"one entry per feature, shape \(4,\); got shape \(3,\)"),
    (2.0, ValueError, "change lam instead"),
    (np.array(["a"] * 4), TypeError, "penalty_factor must hold real numbers"),
])
def test_bad_penalty_factor(small, bad, exc, msg):
    with pytest.raises(exc, match=msg):
        fastlogit.fit(*small, penalty_factor=bad)


@pytest.mark.parametrize("bad,msg", [
    ((1.0, 0.0), "lower <= upper; feature 0 has lower 1 > upper 0"),
    ((np.zeros(4), np.array([1, 1, -1, 1.0])), "feature 2 has lower 0 > upper -1"),
    ((np.zeros(3), None), r"shape \(4,\); got shape \(3,\)"),
    ((np.nan, 1.0), "NaN for feature 0"),
    ((np.inf, None), "admits no coefficient"),
    ((0, 1, 2), "must be a pair"),
    (0.0, "must be a pair"),
    (np.zeros((4, 2)), r"pairs\[:, 0\]"),
])
def test_bad_bounds(small, bad, msg):
    with pytest.raises(ValueError, match=msg):
        fastlogit.fit(*small, bounds=bad)


def test_start_outside_bounds(small):
    X, n, k = small
    with pytest.raises(ValueError, match="x0 is outside the bounds: coefficient 1 is -0.5"):
        fastlogit.fit(X, n, k, bounds=(0, None), x0=np.array([0.0, 1.0, -0.5, 0.0, 0.0]))
    prev = fastlogit.fit(X, n, k, lam=1.0)
    if np.any(prev.coef < 0):
        with pytest.raises(ValueError, match="x0 is outside the bounds"):
            fastlogit.fit(X, n, k, bounds=(0, None), x0=prev)
    # a default start is clipped into the bounds, not an error
    res = fastlogit.fit(X, n, k, bounds=(0.1, 0.2))
    assert np.all((res.coef >= 0.1) & (res.coef <= 0.2))


def test_solver_without_l1_support_refuses(small, monkeypatch):
    X, n, k = small
    # a solver that declares no support for L1 or bounds (as the smooth solvers do)
    monkeypatch.setattr(_fit, "get_solver", lambda name: lbfgs_solve)
    with pytest.raises(ValueError, match="solver='smooth' needs a smooth objective.*l1_ratio"):
        fastlogit.fit(X, n, k, solver="smooth", l1_ratio=0.5)
    with pytest.raises(ValueError, match="cannot handle coefficient bounds"):
        fastlogit.fit(X, n, k, solver="smooth", bounds=(0, 1))
    # l1_ratio > 0 with lam = 0 is smooth: allowed
    fastlogit.fit(X, n, k, solver="smooth", l1_ratio=0.5, lam=0.0)


def test_as_bounds_none_when_unbounded():
    assert as_bounds(None, 3) is None
    assert as_bounds((None, None), 3) is None
    assert as_bounds((-np.inf, np.inf), 3) is None
    box = as_bounds(([0, -1, -np.inf], 2), 3)
    np.testing.assert_array_equal(box.upper, [2, 2, 2])
