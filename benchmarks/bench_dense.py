"""Dense cases: one loss+gradient evaluation per layout (C and F order, float64 and
float32) and thread count against numpy's two-pass evaluation and the memory-bandwidth
floor; full fits.

    pytest benchmarks/bench_dense.py
"""

from __future__ import annotations

import pytest

import fastlogit
from benchmarks.cases import DENSE_LAYOUTS, kernel_eval, layout, numpy_eval
from benchmarks.conftest import bytes_read, record_floor


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", DENSE_LAYOUTS)
def test_eval_dense(benchmark, bandwidth, dense_200k, case, threads):
    X = layout(dense_200k.X, case)
    benchmark.group = "eval dense_200k"
    benchmark(kernel_eval(X, dense_200k.n, dense_200k.k, dense_200k.coef, threads))
    record_floor(f"dense_200k {case}", benchmark, bytes_read(X, dense_200k.n), bandwidth,
                 threads)


def test_eval_dense_numpy(benchmark, bandwidth, dense_200k):
    prob = dense_200k
    benchmark.group = "eval dense_200k"
    benchmark(numpy_eval(prob.X, prob.n, prob.k, prob.coef))
    record_floor("dense_200k numpy two-pass", benchmark, bytes_read(prob.X, prob.n), bandwidth,
                 1)


@pytest.mark.parametrize(("data", "threads"), [("dense_200k", 1), ("dense_200k", 2),
                                               ("dense_200k_f32", 2)])
def test_fit_dense(benchmark, request, data, threads):
    prob = request.getfixturevalue(data)
    benchmark.group = "fit dense"
    res = benchmark.pedantic(fastlogit.fit, args=(prob.X, prob.n, prob.k),
                             kwargs={"lam": 1.0, "threads": threads}, rounds=3, iterations=1)
    benchmark.extra_info.update(n_fev=res.n_fev, n_iter=res.n_iter, converged=res.converged,
                                objective=res.objective, threads=threads)
    assert res.converged
