"""Duplicate-row aggregation: aggregate alone, aggregate + fit, and the fit of the raw rows,
on 0/1 CSR data where each distinct row repeats ~10 times.

    pytest benchmarks/bench_aggregate.py                    # 2,000,000 rows, 200,000 distinct
    FASTLOGIT_BENCH_AGG_ROWS=10000000 pytest benchmarks/bench_aggregate.py   # 10M rows, 1M distinct
    python -m benchmarks.compare_aggregate --rows 10000000  # one table with peak memory
"""

from __future__ import annotations

import os

import pytest

import fastlogit
from benchmarks.conftest import QUICK
from benchmarks.multinomial_data import duplicated_binary

ROWS = 100_000 if QUICK else int(os.environ.get("FASTLOGIT_BENCH_AGG_ROWS", 2_000_000))


@pytest.fixture(scope="session")
def duplicated():
    return duplicated_binary(n_rows=ROWS, n_distinct=ROWS // 10)


def test_aggregate(benchmark, duplicated):
    X, y = duplicated
    benchmark.group = "aggregation"
    agg = benchmark.pedantic(fastlogit.aggregate, args=(X, y), rounds=3, iterations=1)
    benchmark.extra_info.update(n_rows=X.shape[0], n_distinct=agg.X.shape[0])


def test_aggregate_then_fit(benchmark, duplicated):
    X, y = duplicated
    benchmark.group = "aggregation"

    def run():
        agg = fastlogit.aggregate(X, y)
        return fastlogit.fit(agg.X, agg.n, agg.k, lam=1.0)

    res = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(n_fev=res.n_fev, objective=res.objective)


def test_fit_raw_rows(benchmark, duplicated):
    X, y = duplicated
    benchmark.group = "aggregation"
    res = benchmark.pedantic(fastlogit.fit, args=(X,), kwargs={"y": y, "lam": 1.0}, rounds=1,
                             iterations=1)
    benchmark.extra_info.update(n_fev=res.n_fev, objective=res.objective)
