"""Reliability figures that are measurements, not tests (README, "Reliability").

    python -m benchmarks.reliability memory [--problem sparse-1m] [--threads 2]
    python -m benchmarks.reliability concurrent [--problem dense-200k] [--rounds 3]
    python -m benchmarks.reliability leaks [--fits 10000]

memory: peak resident memory of one default ``fastlogit.fit`` minus the resident
memory just before it (X, n, k already loaded), in a fresh process per measurement.
Linux only: the peak (VmHWM) is reset through /proc/self/clear_refs before the fit.
The promise is X's own size plus O(n_rows + n_features): the overhead is printed next
to 8 bytes x n_rows and 8 bytes x n_features.

concurrent: one fit alone, then two of the same fits at once from two Python threads
(each with one kernel thread): with the GIL released in the kernels, the pair should
take clearly less than twice one fit on a machine with two free cores.

leaks: resident memory along a long loop of small fits of every kind (the suite's test
runs 1,000; this runs as many as asked and prints the curve).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HEAD = Path(__file__).resolve().parents[1]

MEMORY_CHILD = """
import gc, json, sys
import numpy as np
import fastlogit
from benchmarks.problems import data_nbytes, load

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
prob = load(sys.argv[1])
gc.collect()
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current resident size
res = fastlogit.fit(prob.X, prob.n, prob.k, lam=1.0, threads=int(sys.argv[2]))
peak = status("VmHWM")
print(json.dumps({"before": before, "peak": peak, "x_bytes": data_nbytes(prob.X, prob.n),
                  "shape": list(prob.X.shape), "n_fev": res.n_fev, "solver": res.solver}))
"""


def _child_env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(HEAD / "src"), str(HEAD)]))


def memory(problem: str, threads: int) -> None:
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, problem, str(threads)],
                         env=_child_env(), cwd=HEAD, check=True, capture_output=True,
                         text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    m, p = r["shape"]
    mb = 1e6
    print(f"{problem}: {m:,} x {p:,}, default fit (threads={threads}, solver {r['solver']}, "
          f"{r['n_fev']} evaluations)")
    print(f"  X, n, k (loaded)          {r['x_bytes'] / mb:9.1f} MB")
    print(f"  resident before the fit   {r['before'] / mb:9.1f} MB")
    print(f"  peak during the fit       {r['peak'] / mb:9.1f} MB")
    print(f"  overhead of the fit       {(r['peak'] - r['before']) / mb:9.1f} MB   "
          f"(8 B x n_rows = {8 * m / mb:.1f} MB, 8 B x n_features = {8 * p / mb:.1f} MB)")


def concurrent(problem: str, rounds: int) -> None:
    import fastlogit
    from benchmarks.problems import load

    prob = load(problem)

    def one() -> None:
        fastlogit.fit(prob.X, prob.n, prob.k, lam=1.0, threads=1)

    one()  # warm-up
    alone, pair = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        one()
        alone.append(time.perf_counter() - start)
        workers = [threading.Thread(target=one) for _ in range(2)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        pair.append(time.perf_counter() - start)
    a, b = statistics.median(alone), statistics.median(pair)
    print(f"{problem}: one fit (1 kernel thread) {a:.2f} s; two at once from two Python "
          f"threads {b:.2f} s; ratio {b / a:.2f} (2.00 = no overlap); medians of {rounds}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")


def leaks(fits: int) -> None:
    import numpy as np
    import scipy.sparse as sp

    import fastlogit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    Xs = sp.csr_matrix(np.where(rng.random((60, 4)) < 0.5, X, 0.0))
    n = np.full(60, 3.0)
    k = rng.integers(0, 4, size=60).astype(float)
    y = np.arange(60) % 3
    calls = [
        lambda: fastlogit.fit(X, n, k).predict_proba(X),
        lambda: fastlogit.fit(Xs, n, k, solver="newton").bse,
        lambda: fastlogit.fit_multinomial(X, y).predict_proba(X),
        lambda: fastlogit.fit(Xs, n, k, l1_ratio=0.5),
    ]

    def rss() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    for i in range(100):
        calls[i % 4]()
    start = rss()
    print(f"after 100 warm-up fits: {start:.1f} MB resident")
    for i in range(fits):
        calls[i % 4]()
        if (i + 1) % max(fits // 10, 1) == 0:
            print(f"  after {i + 1:6d} fits: {rss():.1f} MB ({rss() - start:+.2f} MB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--problem", default="sparse-1m")
    m.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("concurrent")
    c.add_argument("--problem", default="dense-200k")
    c.add_argument("--rounds", type=int, default=3)
    lk = sub.add_parser("leaks")
    lk.add_argument("--fits", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.what == "memory":
        memory(args.problem, args.threads)
    elif args.what == "concurrent":
        concurrent(args.problem, args.rounds)
    else:
        leaks(args.fits)


if __name__ == "__main__":
    main()
