"""Second-order kernels and solvers: the Hessian and Hessian-vector kernels (1 and 2
threads) against numpy, and Newton + full inference against statsmodels' GLM, on the
dense 200,000 x 100 problem (and a sparse one-hot problem for the CSR Hessian).

    pytest benchmarks/bench_newton.py
    FASTLOGIT_BENCH_QUICK=1 pytest benchmarks/bench_newton.py --benchmark-disable
    python benchmarks/statsmodels_compare.py     # the same comparison with peak memory
"""

from __future__ import annotations

import numpy as np
import pytest

import fastlogit
from benchmarks.conftest import QUICK
from fastlogit._core import _hessian
from fastlogit._core._threads import single_threaded_blas
from fastlogit._input._validate import as_design
from fastlogit.datasets import make_sparse_binomial


@pytest.fixture(scope="module")
def sparse_2k():
    """One-hot CSR with 2,000 columns: the widest kind Newton and standard errors are for."""
    if QUICK:
        return make_sparse_binomial(20_000, 500, 16, seed=2)
    return make_sparse_binomial(200_000, 2_000, 32, seed=2)


def _variant(X, case):
    if case == "dense_c_f64":
        return np.ascontiguousarray(X)
    if case == "dense_f_f64":
        return np.asfortranarray(X)
    if case == "dense_c_f32":
        return np.ascontiguousarray(X, dtype=np.float32)
    raise ValueError(case)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ["dense_c_f64", "dense_f_f64", "dense_c_f32"])
def test_hessian_dense(benchmark, dense_200k, case, threads):
    design = as_design(_variant(dense_200k.X, case))
    P = design.n_features + 1
    H = np.empty((P, P))

    def run():
        with single_threaded_blas():
            _hessian.binomial_hessian(*design.kernel_args, dense_200k.n, None, dense_200k.coef,
                                      -0.5, H, threads)

    benchmark.group = "hessian dense_200k"
    benchmark.extra_info.update(threads=threads)
    benchmark(run)


def test_hessian_dense_numpy(benchmark, dense_200k):
    X, n, w = dense_200k.X, dense_200k.n, dense_200k.coef

    def run():
        z = X @ w - 0.5
        p = 1.0 / (1.0 + np.exp(-z))
        Xt = np.column_stack([np.ones(len(z)), X])
        return Xt.T @ ((n * p * (1 - p))[:, None] * Xt)

    benchmark.group = "hessian dense_200k"
    benchmark(run)


@pytest.mark.parametrize("threads", [1, 2])
def test_hessp_dense(benchmark, dense_200k, threads):
    design = as_design(dense_200k.X)
    hv = np.empty(design.n_features)
    v = np.ones(design.n_features)
    benchmark.group = "hessp dense_200k"
    benchmark(lambda: _hessian.binomial_hessp(*design.kernel_args, dense_200k.n, None,
                                              dense_200k.coef, -0.5, v, 0.1, hv, threads))


@pytest.mark.parametrize("threads", [1, 2])
def test_hessian_sparse(benchmark, sparse_2k, threads):
    design = as_design(sparse_2k.X)
    P = design.n_features + 1
    H = np.empty((P, P))
    benchmark.group = "hessian sparse_2k"
    benchmark.pedantic(_hessian.binomial_hessian, args=(
        *design.kernel_args, sparse_2k.n, None, sparse_2k.coef, -1.0, H, threads),
        rounds=3, iterations=1)


def _fastlogit_inference(prob, solver):
    res = fastlogit.fit(prob.X, prob.n, prob.k, lam=0.0, solver=solver)
    res.bse, res.pvalues, res.conf_int(), str(res.summary())
    return res


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_fit_and_inference(benchmark, dense_200k, solver):
    benchmark.group = "fit + inference dense_200k"
    res = benchmark.pedantic(_fastlogit_inference, args=(dense_200k, solver), rounds=3,
                             iterations=1)
    benchmark.extra_info.update(n_iter=res.n_iter, n_fev=res.n_fev)
    assert res.converged


def test_newton_cg_sparse(benchmark, sparse_2k):
    benchmark.group = "fit sparse_2k"
    res = benchmark.pedantic(fastlogit.fit, args=(sparse_2k.X, sparse_2k.n, sparse_2k.k),
                             kwargs={"lam": 1.0, "solver": "newton-cg"}, rounds=3, iterations=1)
    benchmark.extra_info.update(n_iter=res.n_iter, n_fev=res.n_fev)
    assert res.converged


def test_statsmodels_fit_and_inference(benchmark, dense_200k):
    sm = pytest.importorskip("statsmodels.api")
    prob = dense_200k
    endog = np.column_stack([prob.k, prob.n - prob.k])

    def run():
        res = sm.GLM(endog, sm.add_constant(prob.X), family=sm.families.Binomial()).fit()
        res.bse, res.pvalues, res.conf_int(), str(res.summary())
        return res

    benchmark.group = "fit + inference dense_200k"
    ref = benchmark.pedantic(run, rounds=1 if not QUICK else 3, iterations=1)
    mine = _fastlogit_inference(prob, "newton")
    np.testing.assert_allclose(mine.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(mine.bse, ref.bse, rtol=1e-6)
