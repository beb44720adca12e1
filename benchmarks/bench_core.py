"""One loss+gradient evaluation (every layout, 1 and 2 threads) against numpy's two-pass
evaluation and the memory-bandwidth floor; and full fits of the reference problems.

    pytest benchmarks/bench_core.py            # full sizes (needs ~3 GB)
    FASTLOGIT_BENCH_QUICK=1 pytest benchmarks --benchmark-disable   # CI smoke run
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from benchmarks.conftest import bytes_read, record_floor
from fastlogit import _kernels
from fastlogit._validate import as_design


def _variant(X, case):
    if case == "csr_f64_i32":
        return X
    if case == "csr_f32_i32":
        return sp.csr_matrix((X.data.astype(np.float32), X.indices, X.indptr), shape=X.shape)
    if case == "csr_f64_i64":
        return sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                             shape=X.shape)
    if case == "dense_c_f64":
        return np.ascontiguousarray(X)
    if case == "dense_f_f64":
        return np.asfortranarray(X)
    if case == "dense_c_f32":
        return np.ascontiguousarray(X, dtype=np.float32)
    raise ValueError(case)


def _eval(design, n, k, w, threads):
    g = np.empty(design.n_features)
    return lambda: _kernels.binomial_loss_grad(*design.kernel_args, n, k, None, w, -0.5, g,
                                               threads)


def _numpy_eval(X, n, k, w):
    def run():
        z = X @ w - 0.5
        loss = np.sum(n * np.logaddexp(0.0, z) - k * z)
        r = n * (1.0 / (1.0 + np.exp(-z))) - k
        return loss, X.T @ r
    return run


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ["csr_f64_i32", "csr_f32_i32", "csr_f64_i64"])
@pytest.mark.parametrize("data", ["sparse_1m", "sparse_1m_zipf"])
def test_eval_sparse(benchmark, request, bandwidth, data, case, threads):
    prob = request.getfixturevalue(data)
    X = _variant(prob.X, case)
    design = as_design(X)
    benchmark.group = f"eval {data}"
    benchmark(_eval(design, prob.n, prob.k, prob.coef, threads))
    record_floor(f"{data} {case}", benchmark, bytes_read(X, prob.n), bandwidth, threads)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ["dense_c_f64", "dense_f_f64", "dense_c_f32"])
def test_eval_dense(benchmark, bandwidth, dense_200k, case, threads):
    X = _variant(dense_200k.X, case)
    design = as_design(X)
    benchmark.group = "eval dense_200k"
    benchmark(_eval(design, dense_200k.n, dense_200k.k, dense_200k.coef, threads))
    record_floor(f"dense_200k {case}", benchmark, bytes_read(X, dense_200k.n), bandwidth,
                 threads)


@pytest.mark.parametrize("data", ["sparse_1m", "sparse_1m_zipf", "dense_200k"])
def test_eval_numpy_baseline(benchmark, request, bandwidth, data):
    prob = request.getfixturevalue(data)
    benchmark.group = f"eval {data}" if data != "dense_200k" else "eval dense_200k"
    benchmark(_numpy_eval(prob.X, prob.n, prob.k, prob.coef))
    record_floor(f"{data} numpy two-pass", benchmark, bytes_read(prob.X, prob.n), bandwidth, 1)


@pytest.mark.parametrize("data", ["sparse_1m", "dense_200k"])
def test_fit_default(benchmark, request, data):
    prob = request.getfixturevalue(data)
    benchmark.group = "fit"
    res = benchmark.pedantic(fastlogit.fit, args=(prob.X, prob.n, prob.k), kwargs={"lam": 1.0},
                             rounds=3, iterations=1)
    benchmark.extra_info.update(n_fev=res.n_fev, n_iter=res.n_iter, converged=res.converged)
    assert res.converged
