"""Sparse (CSR) cases: one loss+gradient evaluation per layout and thread count against
numpy's two-pass evaluation and the memory-bandwidth floor; full fits.

    pytest benchmarks/bench_sparse.py                       # full sizes (about 2.2 GB)
    FASTLOGIT_BENCH_QUICK=1 pytest benchmarks --benchmark-disable   # CI smoke run
"""

from __future__ import annotations

import pytest

import fastlogit
from benchmarks.cases import SPARSE_LAYOUTS, kernel_eval, layout, numpy_eval
from benchmarks.conftest import bytes_read, record_floor

SPARSE = ["sparse_1m", "sparse_1m_zipf"]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", SPARSE_LAYOUTS)
@pytest.mark.parametrize("data", SPARSE)
def test_eval_sparse(benchmark, request, bandwidth, data, case, threads):
    prob = request.getfixturevalue(data)
    X = layout(prob.X, case)
    benchmark.group = f"eval {data}"
    benchmark(kernel_eval(X, prob.n, prob.k, prob.coef, threads))
    record_floor(f"{data} {case}", benchmark, bytes_read(X, prob.n), bandwidth, threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_eval_wide(benchmark, bandwidth, wide_1m, threads):
    """1,000,000 features: w and the gradient (8 MB each) no longer fit in any cache."""
    benchmark.group = "eval wide_1m"
    benchmark(kernel_eval(wide_1m.X, wide_1m.n, wide_1m.k, wide_1m.coef, threads))
    record_floor("wide_1m csr_f64_i32", benchmark, bytes_read(wide_1m.X, wide_1m.n), bandwidth,
                 threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_eval_repeated(benchmark, bandwidth, bernoulli_repeated, threads):
    """2,000,000 0/1 rows of 8 nonzeros over 400 columns: short rows, a gradient in L1."""
    prob = bernoulli_repeated
    benchmark.group = "eval bernoulli_repeated"
    benchmark(kernel_eval(prob.X, prob.n, prob.k, prob.coef, threads))
    record_floor("bernoulli_repeated csr_f64_i32", benchmark, bytes_read(prob.X, prob.n),
                 bandwidth, threads)


@pytest.mark.parametrize("data", [*SPARSE, "wide_1m", "bernoulli_repeated"])
def test_eval_sparse_numpy(benchmark, request, bandwidth, data):
    prob = request.getfixturevalue(data)
    benchmark.group = f"eval {data}"
    benchmark(numpy_eval(prob.X, prob.n, prob.k, prob.coef))
    record_floor(f"{data} numpy two-pass", benchmark, bytes_read(prob.X, prob.n), bandwidth, 1)


# wide_1m is left out of the fits: about 110 evaluations of ~0.5 s each would take minutes
# per round (its full fit is in ``python -m benchmarks.compare --problem wide-1m``).
@pytest.mark.parametrize(("data", "threads"), [("sparse_1m", 1), ("sparse_1m", 2),
                                               ("sparse_1m_zipf", 2), ("sparse_1m_f32", 2),
                                               ("bernoulli_repeated", 2)])
def test_fit_sparse(benchmark, request, data, threads):
    prob = request.getfixturevalue(data)
    benchmark.group = "fit sparse"
    res = benchmark.pedantic(fastlogit.fit, args=(prob.X, prob.n, prob.k),
                             kwargs={"lam": 1.0, "threads": threads}, rounds=3, iterations=1)
    benchmark.extra_info.update(n_fev=res.n_fev, n_iter=res.n_iter, converged=res.converged,
                                objective=res.objective, threads=threads)
    assert res.converged
