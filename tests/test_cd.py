"""Properties of the coordinate-descent engine (solver "cd") beyond the glmnet references."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from conftest import random_problem, star98_standardised

import fastlogit
from fastlogit.datasets import make_sparse_binomial


def test_default_solver_for_l1_and_bounds_is_cd_and_ridge_stays_lbfgs():
    X, n, k, _, _ = random_problem(m=200, p=6, seed=3)
    assert fastlogit.fit(X, n, k, lam=5.0, l1_ratio=1.0).solver == "cd"
    assert fastlogit.fit(X, n, k, lam=5.0, bounds=(0, None)).solver == "cd"
    assert fastlogit.fit(X, n, k, lam=5.0).solver == "lbfgs"
    assert fastlogit.path(X, n, k, n_lams=3).settings["solver"] == "cd"
    assert fastlogit.path(X, n, k, n_lams=3, l1_ratio=0.0).settings["solver"] == "lbfgs"


def test_cd_and_lbfgs_reach_the_same_optimum():
    X, n, k, s, o = random_problem(m=400, p=10, density=0.5, seed=8)
    kw = dict(lam=3.0, l1_ratio=0.7, sample_weight=s, offset=o,
              penalty_factor=np.r_[0.0, np.ones(9)], bounds=(-0.4, None))
    a = fastlogit.fit(X, n, k, **kw)
    b = fastlogit.fit(X, n, k, solver="lbfgs", factr=1.0, pgtol=1e-12, max_iter=20000, **kw)
    assert a.converged and a.grad_norm <= 1e-8
    assert a.objective <= b.objective + 1e-10 * abs(b.objective)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-5)
    assert np.all(a.coef >= -0.4) and np.any(a.coef == -0.4)


def test_start_callback_and_iteration_limit():
    X, n, k, _, _ = random_problem(m=300, p=8, seed=5)
    seen = []
    res = fastlogit.fit(X, n, k, lam=2.0, l1_ratio=1.0,
                        callback=lambda info: seen.append(info.grad_norm) or len(seen) >= 2)
    assert len(seen) == 2 and not res.converged
    exact = fastlogit.fit(X, n, k, lam=2.0, l1_ratio=1.0)
    again = fastlogit.fit(X, n, k, lam=2.0, l1_ratio=1.0, x0=exact)
    assert again.converged and again.n_iter <= 1
    np.testing.assert_allclose(again.coef, exact.coef, atol=1e-9)
    with pytest.warns(fastlogit.ConvergenceWarning, match="max_iter"):
        fastlogit.fit(X, n, k, lam=2.0, l1_ratio=1.0, max_iter=1)


def test_one_hot_path_exact_at_every_lam_and_cv_runs():
    prob = make_sparse_binomial(3000, 400, 8, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastlogit.ConvergenceWarning)
        fp = fastlogit.path(prob.X, prob.n, prob.k, n_lams=8, l1_ratio=0.5, threads=1)
        assert fp.converged.all() and fp.grad_norm.max() <= 1e-8
        assert fp.n_nonzero[0] == 0 and fp.n_nonzero[-1] > 0
        res = fastlogit.cv(prob.X, prob.n, prob.k, n_lams=6, n_folds=3, threads=1)
    assert res.settings["solver"] == "cd" and res.result.converged


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np, scipy.sparse as sp
    import fastlogit
    rng = np.random.default_rng(0)
    m, p = 20000, 3000
    X = sp.random(m, p, density=0.02, random_state=1, format="csr")
    k = rng.integers(0, 2, m).astype(float)
    fastlogit.fit(X[:50], 1, k[:50], lam=0.01, l1_ratio=1.0)  # warm up imports
    print("ready", flush=True)
    try:
        fastlogit.path(X, 1, k, n_lams=100, lam_min_ratio=1e-6, l1_ratio=1.0, threads=1)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_interrupts_a_path():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        t0 = time.perf_counter()
        out, err = proc.communicate(timeout=60)
        latency = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.strip() == "interrupted", err
    assert latency < 5.0, f"the path went on for {latency:.1f} s after SIGINT"


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_extrapolated_sweeps_reach_the_plain_sweeps_minimiser(l1_ratio):
    """The Anderson-extrapolated coordinate descent minimises the same quadratic model as
    plain sweeps, on an ill-conditioned one (a small lam, about as many features as rows,
    signs changing on the way), in a fraction of the sweeps."""
    from fastlogit._core import _cd_kernels
    from fastlogit._input._validate import as_design
    from fastlogit._penalties._penalties import ElasticNet
    from fastlogit._solvers import _cd
    from fastlogit.backend._objective import Standardization

    prob = make_sparse_binomial(1500, 1500, 16, seed=3)
    design = as_design(prob.X, "X")
    std = Standardization.from_data(design, prob.n, True, 1)
    cdp = _cd.CDProblem(design, prob.n, prob.k, None, True, 1, std)
    p = design.n_features
    pen = _cd.PenaltyVectors.make(ElasticNet(0.05, l1_ratio), None, p)
    ps = cdp.full_pass(0.0, np.zeros(p))
    ws = np.arange(p, dtype=np.intp)
    sxw, h = np.zeros(p), np.zeros(p)
    _cd_kernels.column_weighted_sums(*cdp.columns.args, ps.weight, ws, sxw, h, True)
    xm = sxw / ps.sum_weight
    h = np.maximum(h - sxw * xm, 0.0)
    runs = {}
    for accelerate in (False, True):
        q, w = ps.resid.copy(), np.zeros(p)
        o, sweeps, converged, kept = _cd_kernels.cd_solve(
            *cdp.columns.args, ps.weight, q, ws, w, h, sxw, xm, pen.l1, pen.l2, pen.lo,
            pen.hi, -ps.grad_b / ps.sum_weight, 1e-20, 1_000_000, True, accelerate)
        assert converged
        # the model's optimality conditions, from the model gradient X^T q + o sum W x
        g = prob.X.T @ (q + ps.weight * o) + pen.l2 * w
        free = w != 0
        assert np.abs(g[free] + pen.l1[free] * np.sign(w[free])).max() < 1e-6
        assert np.all(np.abs(g[~free]) <= pen.l1[~free] + 1e-6)
        runs[accelerate] = (w, sweeps, kept)
    (w0, s0, _), (w1, s1, kept) = runs[False], runs[True]
    assert np.abs(w1 - w0).max() <= 1e-6 * np.abs(w0).max()
    assert np.array_equal(w0 == 0, w1 == 0)
    assert kept > 0 and s1 < s0 / 3


def test_collinear_columns_end_at_the_exact_optimum():
    """star98 standardised has nearly collinear columns: at a small lam a KKT residual of
    4e-10 still left the coefficients 4e-5 from the optimum. The Newton finish on the
    nonzero features takes the optimality conditions, computed here from the formula, to
    rounding level."""
    X, n, k = star98_standardised()
    for lam, a in ((5.071, 1.0), (2.0, 0.5)):
        res = fastlogit.fit(X, n, k, lam=lam, l1_ratio=a)
        assert res.converged
        z = res.intercept + X @ res.coef
        r = n / (1 + np.exp(-z)) - k
        g = X.T @ r + lam * (1 - a) * res.coef
        nz = res.coef != 0
        scale = n.sum() * 1e-13
        assert abs(r.sum()) <= scale
        assert np.abs(g[nz] + lam * a * np.sign(res.coef[nz])).max() <= scale
        assert np.all(np.abs(g[~nz]) <= lam * a + scale)
