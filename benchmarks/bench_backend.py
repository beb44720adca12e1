"""The public backend's per-call cost: value_and_grad and hessp on a small dense problem
(the Python overhead) and on sparse-1m (the kernel).

    pytest benchmarks/bench_backend.py
    python -m benchmarks.backend_overhead     # side by side with the internal calls
"""

from __future__ import annotations

import numpy as np
import pytest

from fastlogit.backend import BinomialObjective, MultinomialObjective


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 10))
    n = rng.integers(1, 10, size=1000).astype(float)
    return X, n, rng.binomial(n.astype(int), 0.3).astype(float)


@pytest.mark.parametrize("method", ["value_and_grad", "hessp"])
def test_backend_small_dense(benchmark, small, method):
    obj = BinomialObjective(*small)
    theta = np.full(obj.n_params, 0.01)
    out = np.empty(obj.n_params)
    call = (lambda: obj.value_and_grad(theta, out=out)) if method == "value_and_grad" \
        else (lambda: obj.hessp(theta, theta, out=out))
    benchmark.group = "backend 1,000 x 10"
    benchmark(call)


@pytest.mark.parametrize("method", ["value_and_grad", "hessp"])
def test_backend_sparse_1m(benchmark, sparse_1m, method):
    obj = BinomialObjective(sparse_1m.X, sparse_1m.n, sparse_1m.k)
    theta = np.concatenate(([-0.5], sparse_1m.coef))
    out = np.empty(obj.n_params)
    call = (lambda: obj.value_and_grad(theta, out=out)) if method == "value_and_grad" \
        else (lambda: obj.hessp(theta, theta, out=out))
    benchmark.group = "backend sparse_1m"
    benchmark(call)


def test_backend_multinomial_sparse_1m(benchmark, sparse_1m):
    y = np.minimum(sparse_1m.k, 2).astype(int)
    obj = MultinomialObjective(sparse_1m.X, y)
    theta = np.zeros(obj.n_params)
    out = np.empty(obj.n_params)
    benchmark.group = "backend sparse_1m"
    benchmark(lambda: obj.value_and_grad(theta, out=out))
