"""The Dask path against the in-process kernel on the same data.

sparse_1m (1M rows x 100k one-hot columns, 32 nonzeros per row) is written as 8 CSR
partitions (.npz) that 2 worker processes x 1 thread load themselves; then

* eval: one loss+gradient evaluation, in process (1 and 2 kernel threads) and on the
  cluster (parameters out, kernel on 8 blocks, tree sum, gradient back), same point;
* fit: the whole fit both ways (time per evaluation, and the same answer).

The issue's target: the Dask evaluation within 1.5x of the in-process 2-thread one.
The group tables of pytest-benchmark show the ratios (the number in parentheses).

    pytest benchmarks/bench_dask.py                        # full size (~2 GB in all)
    FASTLOGIT_BENCH_DASK_ROWS=4000000 pytest benchmarks/bench_dask.py   # 4M rows
    FASTLOGIT_BENCH_QUICK=1 pytest benchmarks --benchmark-disable       # CI smoke run
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import fastlogit
from benchmarks.conftest import QUICK
from fastlogit._input._validate import as_design
from fastlogit.backend._objective import BinomialLoss
from fastlogit.datasets import make_sparse_binomial

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
fld = pytest.importorskip("fastlogit.dask")

from fastlogit.dask._input import partition_blocks, summarise  # noqa: E402
from fastlogit.dask._loss import BlockSet, DaskBinomialLoss  # noqa: E402

N_BLOCKS = 8
N_WORKERS = 2


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


@pytest.fixture(scope="module")
def problem():
    rows = int(os.environ.get("FASTLOGIT_BENCH_DASK_ROWS", 1_000_000))
    if QUICK:
        return make_sparse_binomial(20_000, 5_000, 32, seed=0)
    return make_sparse_binomial(rows, seed=0)


@pytest.fixture(scope="module")
def partitions(problem, tmp_path_factory):
    folder = tmp_path_factory.mktemp("partitions")
    bounds = np.linspace(0, problem.X.shape[0], N_BLOCKS + 1).astype(int)
    for i in range(N_BLOCKS):
        a, b = bounds[i], bounds[i + 1]
        fld.save_npz(folder / f"part-{i}.npz", problem.X[a:b], problem.n[a:b], problem.k[a:b])
    return fld.from_npz(str(folder / "part-*.npz"))


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as c:
            yield c


@pytest.fixture(scope="module")
def dask_loss(client, partitions):
    workers = sorted(client.scheduler_info()["workers"])
    blocks = BlockSet(client, partition_blocks(client, partitions, "fastlogit-bench", workers),
                      8, "fastlogit-bench")
    info = summarise(blocks, True)
    placement = sorted(sum(1 for key in keys if "-block" in str(key))
                       for keys in client.has_what().values())
    yield DaskBinomialLoss(blocks, 1, info.n_features, info.total_trials,
                           info.total_successes, info.n_rows), placement
    blocks.release()


ROUNDS = 3 if QUICK else 10
EVAL_GROUP = "eval: in process vs dask (8 CSR blocks, 2 workers x 1 thread)"


@pytest.mark.parametrize("threads", [1, 2])
def test_eval_in_process(benchmark, problem, threads):
    loss = BinomialLoss(as_design(problem.X), problem.n, problem.k, None, threads)
    benchmark.group = EVAL_GROUP
    benchmark.extra_info.update(load_before=_load())
    benchmark.pedantic(loss.value_grad, args=(-0.5, problem.coef), rounds=ROUNDS,
                       warmup_rounds=1)
    benchmark.extra_info.update(load_after=_load())


def test_eval_dask(benchmark, problem, dask_loss):
    loss, placement = dask_loss
    benchmark.group = EVAL_GROUP
    benchmark.extra_info.update(load_before=_load(), blocks_per_worker=placement)
    out = benchmark.pedantic(loss.value_grad, args=(-0.5, problem.coef), rounds=ROUNDS,
                             warmup_rounds=1)
    benchmark.extra_info.update(load_after=_load())
    ref = BinomialLoss(as_design(problem.X), problem.n, problem.k, None, 2).value_grad(
        -0.5, problem.coef)
    assert out[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(out[2], ref[2], rtol=1e-9, atol=1e-9 * np.abs(ref[2]).max())


def test_eval_interleaved(problem, dask_loss, capsys):
    """In-process (2 threads) and dask evaluations alternated, so that a shared machine's
    changing load hits both alike; prints the medians and their ratio."""
    loss, placement = dask_loss
    local = BinomialLoss(as_design(problem.X), problem.n, problem.k, None, 2)
    times: dict = {"in process, 2 threads": [], "dask, 2 workers x 1 thread": []}
    load = _load()
    for _ in range(2 * ROUNDS):
        for name, f in zip(times, (local.value_grad, loss.value_grad)):
            t0 = time.perf_counter()
            f(-0.5, problem.coef)
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t[1:])) for name, t in times.items()}
    ratio = med["dask, 2 workers x 1 thread"] / med["in process, 2 threads"]
    with capsys.disabled():  # shown in the run's output, not captured
        print(f"\ninterleaved evaluations ({problem.X.shape[0]} x {problem.X.shape[1]} CSR, "
              f"{N_BLOCKS} blocks, {placement} per worker; load {load} -> {_load()}):")
        for name, m in med.items():
            print(f"  {name:<30} median {1e3 * m:8.1f} ms")
        print(f"  ratio dask / in process: {ratio:.2f} (target <= 1.5)")


_FITS: dict = {}


class _Clock:
    """A fit callback noting when iteration 0 was reported (setup and first evaluation done)."""

    def __init__(self):
        self.first = None

    def __call__(self, info):
        if info.iteration == 0:
            self.first = time.perf_counter()


def _timed_fit(fit, *args, **kwargs):
    clock = _Clock()
    t0 = time.perf_counter()
    res = fit(*args, callback=clock, **kwargs)
    end = time.perf_counter()
    # the rest of the fit after the first evaluation (L-BFGS-B's evaluations and its own
    # work, and the callbacks' re-use of cached values): time per further evaluation
    return res, clock.first - t0, (end - clock.first) / max(res.n_fev - 1, 1)


def test_fit_in_process(benchmark, problem):
    benchmark.group = "fit: in process (2 threads) vs dask"
    res, setup, per_eval = benchmark.pedantic(
        _timed_fit, args=(fastlogit.fit, problem.X, problem.n, problem.k),
        kwargs=dict(lam=1.0, threads=2), rounds=1, iterations=1)
    _FITS["local"] = (res, per_eval)
    benchmark.extra_info.update(n_fev=res.n_fev, setup_s=setup, per_eval_s=per_eval,
                                load=_load())


def test_fit_dask(benchmark, problem, client, partitions, capsys):
    benchmark.group = "fit: in process (2 threads) vs dask"
    res, setup, per_eval = benchmark.pedantic(
        _timed_fit, args=(fld.fit, partitions), kwargs=dict(lam=1.0, client=client),
        rounds=1, iterations=1)
    ref, ref_per_eval = _FITS.get("local") or _timed_fit(
        fastlogit.fit, problem.X, problem.n, problem.k, lam=1.0, threads=2)[::2]
    diff = float(np.max(np.abs(res.coef - ref.coef)) / np.max(np.abs(ref.coef)))
    benchmark.extra_info.update(n_fev=res.n_fev, n_fev_local=ref.n_fev, coef_rel_diff=diff,
                                setup_s=setup, per_eval_s=per_eval, load=_load())
    with capsys.disabled():
        print(f"\nfits (lam=1): in process {ref.n_fev} evaluations, {1e3 * ref_per_eval:.1f} "
              f"ms each after the first; dask {res.n_fev} evaluations, {1e3 * per_eval:.1f} "
              f"ms each after the first (setup: loading, validating, standardising "
              f"{setup:.1f} s); ratio {per_eval / ref_per_eval:.2f}; coefficients agree to "
              f"{diff:.1e} (relative); load {_load()}")
    assert res.converged and diff < 1e-6
