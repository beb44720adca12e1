"""Benchmark fixtures: seeded problems (small under FASTLOGIT_BENCH_QUICK=1), the
machine's bandwidth, and a closing table of per-evaluation times against the floor."""

from __future__ import annotations

import os

import pytest
import scipy.sparse as sp

from benchmarks.machine import describe, read_bandwidth
from fastlogit.datasets import make_dense_binomial, make_sparse_binomial

QUICK = bool(os.environ.get("FASTLOGIT_BENCH_QUICK"))
_FLOOR_ROWS: list = []


def pytest_report_header(config):
    return f"fastlogit benchmarks on: {describe()}{' [QUICK sizes]' if QUICK else ''}"


@pytest.fixture(scope="session")
def bandwidth():
    """{threads: bytes/s} measured once per session."""
    size = (1 << 26) if QUICK else (1 << 30)
    return {t: read_bandwidth(t, nbytes=size) for t in (1, 2)}


@pytest.fixture(scope="session")
def sparse_1m():
    if QUICK:
        return make_sparse_binomial(20_000, 5_000, 32, seed=0)
    return make_sparse_binomial(seed=0)


@pytest.fixture(scope="session")
def sparse_1m_zipf():
    if QUICK:
        return make_sparse_binomial(20_000, 5_000, 32, zipf=1.1, seed=1)
    return make_sparse_binomial(zipf=1.1, seed=1)


@pytest.fixture(scope="session")
def dense_200k():
    if QUICK:
        return make_dense_binomial(10_000, 100, seed=0)
    return make_dense_binomial(seed=0)


def bytes_read(X, n) -> int:
    """What one loss+gradient evaluation must read from memory at least: X once, n and k."""
    own = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes
    return int(own + 2 * n.nbytes)


def record_floor(name: str, benchmark, nbytes: int, bandwidth: dict, threads: int) -> None:
    """Remember a per-evaluation case so the session ends with a table against the floor."""
    floor = nbytes / bandwidth[1]  # the floor: one core's read bandwidth
    benchmark.extra_info.update(bytes=nbytes, floor_s=floor, threads=threads)
    _FLOOR_ROWS.append((name, threads, benchmark, floor))


def pytest_terminal_summary(terminalreporter):
    rows = [(n, t, b.stats.stats.median, f) for n, t, b, f in _FLOOR_ROWS
            if getattr(b, "stats", None) is not None]
    if not rows:
        return
    tr = terminalreporter
    tr.section("per-evaluation time against the memory-bandwidth floor")
    tr.write_line(describe())
    tr.write_line(f"{'case':<34}{'threads':>8}{'median ms':>11}{'floor ms':>10}{'x floor':>9}")
    for name, threads, med, floor in rows:
        tr.write_line(f"{name:<34}{threads:>8}{1e3 * med:>11.1f}{1e3 * floor:>10.1f}"
                      f"{med / floor:>9.2f}")
