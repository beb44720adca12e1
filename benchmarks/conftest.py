"""Benchmark fixtures: the seeded problems of ``benchmarks.problems`` (cached on disk; small
under FASTLOGIT_BENCH_QUICK=1), the machine's read bandwidth, and closing tables of
per-evaluation times against the memory-bandwidth floor and the numpy baseline.

Fixtures other benchmark files may rely on: ``sparse_1m``, ``sparse_1m_zipf``,
``sparse_1m_f32``, ``dense_200k``, ``dense_200k_f32``, ``wide_1m``,
``bernoulli_repeated`` (each a ``fastlogit.datasets.BinomialProblem``),
``bench_problem`` (name -> problem), ``bandwidth`` ({threads: bytes/s}); and the
helpers ``bytes_read(X, n)`` and ``record_floor(name, benchmark, nbytes,
bandwidth, threads)``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from benchmarks import problems
from benchmarks.machine import describe, load_average, read_bandwidth

QUICK = bool(os.environ.get("FASTLOGIT_BENCH_QUICK"))
_FLOOR_ROWS: list = []
_SESSION: dict = {"load_before": None, "bandwidth": None}


def pytest_sessionstart(session):
    _SESSION["load_before"] = load_average()


def pytest_report_header(config):
    return [f"fastlogit benchmarks on: {describe()}{' [QUICK sizes]' if QUICK else ''}",
            f"load average (1/5/15 min): {load_average()}; thread counts are in the "
            "case names; data cached in " + str(problems.cache_dir())]


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Record the machine as we see it (and the bandwidth) next to pytest-benchmark's own."""
    output_json["fastlogit"] = {
        "machine": describe(), "quick": QUICK, "bandwidth": _SESSION["bandwidth"],
        "load_before": _SESSION["load_before"], "load_after": load_average(),
    }


@pytest.fixture(scope="session")
def bandwidth():
    """{threads: bytes/s} for 1 and 2 threads, measured once per benchmark run."""
    size = (1 << 26) if QUICK else (1 << 30)
    _SESSION["bandwidth"] = {t: read_bandwidth(t, nbytes=size) for t in (1, 2)}
    return _SESSION["bandwidth"]


_LOADED: dict = {}


def _load(name: str):
    if name not in _LOADED:
        _LOADED[name] = problems.load(name, quick=QUICK)
    return _LOADED[name]


@pytest.fixture(scope="session")
def bench_problem():
    """name -> BinomialProblem, any of ``benchmarks.problems.PROBLEMS`` (loaded once)."""
    return _load


@pytest.fixture(scope="session")
def sparse_1m():
    return _load("sparse-1m")


@pytest.fixture(scope="session")
def sparse_1m_zipf():
    return _load("sparse-1m-zipf")


@pytest.fixture(scope="session")
def sparse_1m_f32():
    return _load("sparse-1m-f32")


@pytest.fixture(scope="session")
def dense_200k():
    return _load("dense-200k")


@pytest.fixture(scope="session")
def dense_200k_f32():
    return _load("dense-200k-f32")


@pytest.fixture(scope="session")
def wide_1m():
    return _load("wide-1m")


@pytest.fixture(scope="session")
def bernoulli_repeated():
    return _load("bernoulli-repeated")


def bytes_read(X: Any, n: Any) -> int:
    """What one loss+gradient evaluation must read from memory at least: X once, n and k."""
    return problems.data_nbytes(X, n)


def record_floor(name: str, benchmark: Any, nbytes: int, bandwidth: dict, threads: int) -> None:
    """Remember a per-evaluation case for the closing table against the floor.

    ``name`` is "<data> <case>"; a case whose name contains "numpy" is the
    baseline the others on the same data are compared with.
    """
    floor = nbytes / bandwidth[1]  # the floor: one core's read bandwidth
    benchmark.extra_info.update(bytes=nbytes, floor_s=floor, threads=threads,
                                floor_threads_s=nbytes / bandwidth.get(threads, bandwidth[1]))
    _FLOOR_ROWS.append((name, threads, benchmark, floor))


def floor_table(rows: list) -> list:
    """Lines of the closing table: rows are (name, threads, median_s, floor_s).

    Besides the median and its multiple of the floor, each row shows how many
    times faster it is than the numpy baseline on the same data ("vs numpy")
    and than the same case on one thread ("vs 1 thread").
    """
    numpy = {n.split()[0]: med for n, _, med, _ in rows if "numpy" in n}
    one = {n: med for n, t, med, _ in rows if t == 1}
    lines = [f"{'case':<36}{'threads':>8}{'median ms':>11}{'floor ms':>10}{'x floor':>9}"
             f"{'vs numpy':>10}{'vs 1 thread':>13}"]
    for name, threads, med, floor in rows:
        base = numpy.get(name.split()[0])
        vs_numpy = f"{base / med:>9.2f}x" if base and "numpy" not in name else f"{'':>10}"
        vs_one = f"{one[name] / med:>12.2f}x" if threads > 1 and name in one else f"{'':>13}"
        lines.append(f"{name:<36}{threads:>8}{1e3 * med:>11.1f}{1e3 * floor:>10.1f}"
                     f"{med / floor:>9.2f}{vs_numpy}{vs_one}")
    return lines


def pytest_terminal_summary(terminalreporter):
    rows = [(n, t, b.stats.stats.median, f) for n, t, b, f in _FLOOR_ROWS
            if getattr(b, "stats", None) is not None]
    if not rows:
        return
    tr = terminalreporter
    tr.section("per-evaluation time against the memory-bandwidth floor")
    tr.write_line(describe())
    bw = _SESSION["bandwidth"] or {}
    tr.write_line("read bandwidth: " + ", ".join(f"{t} thread(s) {v / 1e9:.1f} GB/s"
                                                 for t, v in bw.items())
                  + "; floor = bytes of X, n, k / one core's bandwidth")
    tr.write_line(f"load average before {_SESSION['load_before']}, after {load_average()}")
    for line in floor_table(rows):
        tr.write_line(line)
