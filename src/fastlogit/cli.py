"""The ``fastlogit`` command line (also ``python -m fastlogit``)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Optional

import numpy as np

import fastlogit
from fastlogit import _kernels
from fastlogit._threads import resolve_threads


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="fit a synthetic million-row sparse binomial problem and report",
        description=(
            "Generate a seeded synthetic one-hot binomial problem (default: 1,000,000 rows x "
            "100,000 features, 32 nonzeros per row, n_i = 1 + Poisson(9)), fit it with "
            "fastlogit.fit and report time, iterations and how well the truth was recovered."
        ),
    )
    p.add_argument("--rows", type=int, default=1_000_000, help="rows (default 1,000,000)")
    p.add_argument("--features", type=int, default=100_000, help="features (default 100,000)")
    p.add_argument("--nnz", type=int, default=32, help="nonzeros per row (default 32)")
    p.add_argument("--zipf", type=float, default=None,
                   help="Zipf exponent for column popularity (default: uniform)")
    p.add_argument("--lam", type=float, default=1.0, help="L2 penalty (default 1.0)")
    p.add_argument("--threads", type=int, default=None, help="kernel threads (default: all)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--verbose", action="store_true", help="print every iteration")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from fastlogit.datasets import make_sparse_binomial

    threads = resolve_threads(args.threads)
    print(f"fastlogit {fastlogit.__version__} | Python {platform.python_version()} | "
          f"numpy {np.__version__} | {os.cpu_count()} cores, {threads} kernel threads"
          f"{'' if _kernels.openmp_enabled() else ' (built without OpenMP)'}")
    t0 = time.perf_counter()
    prob = make_sparse_binomial(args.rows, args.features, args.nnz, zipf=args.zipf,
                                seed=args.seed)
    t_gen = time.perf_counter() - t0
    X, n, k = prob.X, prob.n, prob.k
    print(f"data:  {X.shape[0]:,} rows x {X.shape[1]:,} features, {X.nnz:,} nonzeros "
          f"(CSR, {prob.nbytes / 1e6:.0f} MB), {n.sum():,.0f} trials, "
          f"{k.sum() / n.sum():.1%} successes (generated in {t_gen:.1f} s)")
    t0 = time.perf_counter()
    res = fastlogit.fit(X, n, k, lam=args.lam, threads=threads, verbose=args.verbose)
    t_fit = time.perf_counter() - t0
    print(f"fit:   {t_fit:.2f} s, {res.n_iter} iterations, {res.n_fev} evaluations "
          f"({1e3 * t_fit / max(res.n_fev, 1):.0f} ms each), "
          f"{'converged' if res.converged else 'NOT converged'}")
    print(f"       objective {res.objective:.10g}, max |gradient| {res.grad_norm:.1e}, "
          f"deviance {res.deviance:.6g}")
    seen = np.asarray(X.getnnz(axis=0)) >= 50  # columns seen often enough to be estimable
    corr = float(np.corrcoef(res.coef[seen], prob.coef[seen])[0, 1])
    rmse = float(np.sqrt(np.mean((res.coef[seen] - prob.coef[seen]) ** 2)))
    print(f"truth: intercept {res.intercept:+.3f} (true {prob.intercept:+.3f}); coefficients "
          f"of the {seen.sum():,} columns with >= 50 rows: correlation {corr:.3f} with the "
          f"truth, RMSE {rmse:.3f} (true sd {prob.coef.std():.3f})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastlogit",
        description="Fast regularised logistic regression on binomial (X, n, k) data.",
    )
    parser.add_argument("--version", action="version", version=f"fastlogit {fastlogit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
