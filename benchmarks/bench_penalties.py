"""L1 fits and warm-started paths on "sub-100k" (100,000 binomial rows x 100,000 one-hot
features, 32 per row). The comparisons with cold fits and scikit-learn, and the 1M-row path,
are in ``benchmarks/penalties_report.py`` (they take far longer than a benchmark round).

    pytest benchmarks/bench_penalties.py
    FASTLOGIT_BENCH_QUICK=1 pytest benchmarks/bench_penalties.py --benchmark-disable
"""

from __future__ import annotations

import numpy as np
import pytest

import fastlogit
from benchmarks.conftest import QUICK
from fastlogit.datasets import make_sparse_binomial


@pytest.fixture(scope="session")
def sub_100k():
    if QUICK:
        return make_sparse_binomial(20_000, 5_000, 32, seed=0)
    return make_sparse_binomial(100_000, 100_000, 32, seed=0)


def test_l1_fit(benchmark, sub_100k):
    """L1 at lam = 20 (scikit-learn C = 0.05): target under 10 s to KKT 1e-6."""
    p = sub_100k
    benchmark.group = "penalties sub-100k"
    res = benchmark.pedantic(fastlogit.fit, args=(p.X, p.n, p.k),
                             kwargs=dict(lam=20.0, l1_ratio=1.0), rounds=3, iterations=1)
    benchmark.extra_info.update(n_iter=res.n_iter, n_fev=res.n_fev, kkt=res.grad_norm,
                                nonzero=float(np.mean(res.coef != 0)))
    assert res.converged and res.grad_norm < 1e-6


def test_elastic_net_path(benchmark, sub_100k):
    """20 lams, l1_ratio = 0.5, from lam_max down to lam = 20 (where the L1 case sits)."""
    p = sub_100k
    benchmark.group = "penalties sub-100k"
    top = fastlogit.path(p.X, p.n, p.k, n_lams=1, l1_ratio=0.5).lam_max
    lams = np.geomspace(top, min(20.0, top / 2), 20)
    fp = benchmark.pedantic(fastlogit.path, args=(p.X, p.n, p.k),
                            kwargs=dict(lams=lams, l1_ratio=0.5), rounds=1, iterations=1)
    benchmark.extra_info.update(n_fev=int(fp.n_fev.sum()), kkt_max=float(fp.grad_norm.max()),
                                converged=bool(fp.converged.all()))
    assert fp.converged.all() and fp.grad_norm.max() < 1e-6
