"""What accuracy by default costs: the Newton polish after L-BFGS-B (see _polish.py).

On the reference problems the polish is skipped (dense-200k: well conditioned, 8 passes;
sparse-1M: too wide), so its cost there is nil; on an ill-conditioned dense problem it runs,
and the benchmark shows what it adds against the same fit stopped after L-BFGS-B.

    pytest benchmarks/bench_accuracy.py
"""

from __future__ import annotations

import numpy as np
import pytest

import fastlogit
from benchmarks.conftest import QUICK
from fastlogit._solvers import _polish


@pytest.fixture(scope="session")
def dense_ill_conditioned():
    """dense 200,000 x 100 whose columns share one strong common factor (condition ~1e4)."""
    rng = np.random.default_rng(7)
    m, p = (10_000, 100) if QUICK else (200_000, 100)
    Z = rng.standard_normal((m, p))
    X = Z + 30.0 * Z[:, :1]
    w = rng.normal(size=p) / np.sqrt(p)
    n = 1.0 + rng.poisson(9, size=m)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-(Z @ w - 0.5)))).astype(float)
    return X, n, k


def _fit(X, n, k):
    return fastlogit.fit(X, n, k, lam=1.0)


@pytest.mark.parametrize("data", ["dense_200k", "sparse_1m", "dense_ill_conditioned"])
@pytest.mark.parametrize("polish", ["default", "off"])
def test_polish_cost(benchmark, request, monkeypatch, data, polish):
    prob = request.getfixturevalue(data)
    X, n, k = prob if isinstance(prob, tuple) else (prob.X, prob.n, prob.k)
    if polish == "off":  # the same fit, stopped after L-BFGS-B
        monkeypatch.setattr(_polish.PolishPlan, "wanted", lambda self, out: False)
        monkeypatch.setattr(_polish.PolishPlan, "lbfgs_max_iter", lambda self, max_iter: max_iter)
    benchmark.group = f"polish {data}"
    res = benchmark.pedantic(_fit, args=(X, n, k), rounds=3, iterations=1)
    benchmark.extra_info.update(polished="Newton" in res.message, n_fev=res.n_fev,
                                grad_norm=res.grad_norm, converged=res.converged)
