"""Aggregation + fit against fitting the raw rows: wall time and peak memory.

    PYTHONPATH=src python -m benchmarks.compare_aggregate [--rows 10000000] [--repeat 10]

Peak memory is what tracemalloc sees (numpy's and scipy's allocations, which
is where every large array of either path lives), above the data itself.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import fastlogit
from benchmarks.machine import describe
from benchmarks.multinomial_data import duplicated_binary


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, elapsed, peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=10, help="mean repetitions of a distinct row")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--path", type=int, default=5,
                    help="also fit a path of this many lam values (aggregating once)")
    args = ap.parse_args(argv)
    X, y = duplicated_binary(n_rows=args.rows, n_distinct=args.rows // args.repeat)
    size = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    print(describe(), f"| threads {args.threads}")
    print(f"data: {X.shape[0]:,} x {X.shape[1]:,} CSR, {X.nnz:,} nonzeros ({size:.0f} MiB)")

    agg, t_agg, m_agg = measure(lambda: fastlogit.aggregate(X, y, threads=args.threads))
    small, t_fit, m_fit = measure(
        lambda: fastlogit.fit(agg.X, agg.n, agg.k, lam=1.0, threads=args.threads))
    raw, t_raw, m_raw = measure(lambda: fastlogit.fit(X, y=y, lam=1.0, threads=args.threads))
    mib = 2**20
    print(f"distinct rows: {agg.X.shape[0]:,}")
    print(f"aggregate          {t_agg:8.2f} s   peak +{m_agg / mib:7.0f} MiB")
    print(f"fit distinct rows  {t_fit:8.2f} s   peak +{m_fit / mib:7.0f} MiB   "
          f"({small.n_fev} fev)")
    print(f"aggregate + fit    {t_agg + t_fit:8.2f} s   peak +{max(m_agg, m_fit) / mib:7.0f} MiB")
    print(f"fit raw rows       {t_raw:8.2f} s   peak +{m_raw / mib:7.0f} MiB   ({raw.n_fev} fev)")
    print(f"speed-up {t_raw / (t_agg + t_fit):.1f}x; same optimum: objective "
          f"{small.objective:.12g} vs {raw.objective:.12g}, max |dcoef| "
          f"{np.abs(small.coef - raw.coef).max():.1e}")
    print(f"per evaluation: raw {t_raw / raw.n_fev:.3f} s, distinct {t_fit / small.n_fev:.3f} s; "
          f"aggregating costs {t_agg / (t_raw / raw.n_fev):.1f} raw evaluations")
    if args.path:
        lams = np.logspace(2, -2, args.path)
        t0 = time.perf_counter()
        for lam in lams:
            fastlogit.fit(agg.X, agg.n, agg.k, lam=lam, threads=args.threads)
        t_path_agg = t_agg + time.perf_counter() - t0
        t0 = time.perf_counter()
        for lam in lams:
            fastlogit.fit(X, y=y, lam=lam, threads=args.threads)
        t_path_raw = time.perf_counter() - t0
        print(f"path of {args.path} lam values: aggregate once + fits {t_path_agg:.2f} s, "
              f"raw fits {t_path_raw:.2f} s, speed-up {t_path_raw / t_path_agg:.1f}x")


if __name__ == "__main__":
    main()
