"""Multinomial fit: fastlogit against scikit-learn on two problems (CSR and dense).

    PYTHONPATH=src python -m benchmarks.compare_multinomial [--quick] [--threads 2] [--only dense]

On a busy machine compare with --threads 1, where CPU time measures the work.

For each problem: wall time, iterations, objective evaluations, the penalised
objective both reach and the largest coefficient difference relative to the
largest coefficient. scikit-learn: LogisticRegression(C=1, tol=1e-8, lbfgs);
fastlogit: fit_multinomial(lam=1) with its default (tighter) stopping rule.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.special import logsumexp

import fastlogit
from benchmarks.machine import describe
from benchmarks.multinomial_data import dense_multinomial, sparse_multinomial


def penalised_objective(X, y, coef, intercept, lam):
    Z = X @ coef.T + intercept
    return float(np.sum(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y])
                 + 0.5 * lam * np.sum(coef ** 2))


def run(name, X, y, threads, C=1.0):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    t0, c0 = time.perf_counter(), time.process_time()
    res = fastlogit.fit_multinomial(X, y=y, lam=1 / C, threads=threads)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        sk = LogisticRegression(C=C, tol=1e-8, max_iter=10_000).fit(X, y)
        t_sk, c_sk = time.perf_counter() - t0, time.process_time() - c0
    f_ours = penalised_objective(X, y, res.coef, res.intercept, 1 / C)
    f_sk = penalised_objective(X, y, sk.coef_, sk.intercept_, 1 / C)
    rel = float(np.abs(res.coef - sk.coef_).max() / np.abs(sk.coef_).max())
    print(f"{name:<34} fastlogit {t_ours:7.2f} s ({res.n_iter} it, {res.n_fev} fev)   "
          f"sklearn {t_sk:7.2f} s ({sk.n_iter_[0]} it)   speed-up {t_sk / t_ours:5.1f}x   "
          f"objective {f_ours:.10g} vs {f_sk:.10g}   max|dcoef|/max|coef| {rel:.1e}",
          flush=True)
    print(f"{'':<34} CPU time: fastlogit {c_ours:7.2f} s, sklearn {c_sk:7.2f} s, "
          f"ratio {c_sk / c_ours:5.1f}x", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1/10 of the rows")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["sparse", "dense"], default=None)
    args = ap.parse_args(argv)
    m = 20_000 if args.quick else 200_000
    print(describe(), f"| threads {args.threads}")
    if args.only != "dense":
        X, y = sparse_multinomial(n_rows=m)
        run(f"CSR {m} x 1000, 20 nnz/row, K=10", X, y, args.threads)
    if args.only != "sparse":
        X, y = dense_multinomial(n_rows=m)
        run(f"dense {m} x 100, K=10", X, y, args.threads)


if __name__ == "__main__":
    main()
