"""``fastlogit demo``: a synthetic million-row sparse binomial problem, fitted and reported.

``--compare`` runs the same problem through scikit-learn (and glum when
installed), see _cli_compare; ``--toy`` is the interactive one-feature toy,
see _cli_toy.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np

import fastlogit
from fastlogit._core import _kernels
from fastlogit._core._threads import resolve_threads
from fastlogit.cli._util import (
    CliError,
    check_outputs,
    fit_quietly_then_warn,
    format_count,
    progress_for,
)

DESCRIPTION = """\
Generate a seeded synthetic one-hot binomial problem (default: 1,000,000 rows x 100,000
features, 32 nonzeros per row, n_i = 1 + Poisson(9) trials per row, true coefficients
N(0, 0.3^2)), fit it with fastlogit.fit and report the data size, the time to fit, the
iterations, the objective and how well the true coefficients were recovered.

  fastlogit demo                        the full-size problem (about 1 GB of memory)
  fastlogit demo --rows 100000 --features 10000
  fastlogit demo --compare              also scikit-learn and glum, each in a subprocess
  fastlogit demo --toy                  type x,label lines (or pipe them in): gradient
                                        descent, L-BFGS-B and Newton on w0 + w1 x
"""

MIN_ROWS_PER_COLUMN = 50  # columns seen in fewer rows are too noisy to score recovery on


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, default=1_000_000, help="rows (default 1,000,000)")
    p.add_argument("--features", type=int, default=100_000, help="features (default 100,000)")
    p.add_argument("--nnz", type=int, default=32, help="nonzeros per row (default 32)")
    p.add_argument("--zipf", type=float, default=None,
                   help="Zipf exponent > 1 for column popularity (default: uniform)")
    p.add_argument("--lam", type=float, default=None,
                   help="L2 penalty (default 1.0; --toy: 0 when the maximum likelihood "
                        "exists, else 1.0)")
    p.add_argument("--solver", default="lbfgs", choices=["lbfgs", "newton", "newton-cg", "gd"],
                   help="solver for the synthetic problem (default lbfgs)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="solver iterations (default 1000; --toy: 100,000 for gradient descent)")
    p.add_argument("--threads", type=int, default=None, help="kernel threads (default: all)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--compare", action="store_true",
                   help="also fit with scikit-learn (two-row encoding, C = 1/lam) and glum "
                        "(if installed), each in its own subprocess: time and peak memory")
    p.add_argument("--libraries", default="fastlogit,scikit-learn,glum", metavar="LIST",
                   help="--compare: which of fastlogit, scikit-learn, glum to run "
                        "(default: all three)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="--compare: seconds before a library's run is abandoned (default 1800)")
    p.add_argument("--toy", action="store_true",
                   help="the interactive toy: read 'feature_value,label' lines from the "
                        "terminal (until an empty line or Ctrl-D) or from a pipe")
    p.add_argument("--plot", metavar="FILE.png",
                   help="--toy: the points and fitted sigmoids; otherwise: a calibration plot")


def run(args: argparse.Namespace) -> int:
    """Dispatch ``demo`` to the toy or the synthetic problem."""
    if args.toy:
        from fastlogit.cli._toy import run_toy

        check_outputs(None, args.plot)
        return run_toy(args)
    return run_synthetic(args)


def run_synthetic(args: argparse.Namespace) -> int:
    from fastlogit.datasets import make_sparse_binomial

    lam = 1.0 if args.lam is None else args.lam
    if args.rows < 1 or args.features < 1 or not 1 <= args.nnz <= args.features:
        raise CliError("need --rows >= 1 and 1 <= --nnz <= --features")
    if args.zipf is not None and args.zipf <= 1:
        raise CliError(f"--zipf must be > 1, got {args.zipf}")
    check_outputs(None, args.plot)
    if args.compare:
        from fastlogit.cli._compare import parse_libraries

        parse_libraries(args.libraries)  # a typo should not wait for the fit
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
          f"(CSR, {prob.nbytes / 1e6:,.0f} MB), {format_count(n.sum())} trials, "
          f"{k.sum() / n.sum():.1%} successes (generated in {t_gen:.1f} s)")
    print(f"       as 0/1 rows this would be {format_count(n.sum())} rows; scikit-learn's "
          f"two-row encoding needs {int(np.count_nonzero(k) + np.count_nonzero(n - k)):,}")
    progress = progress_for(args)
    t0 = time.perf_counter()
    res = fit_quietly_then_warn(
        lambda: fastlogit.fit(X, n, k, lam=lam, solver=args.solver, threads=threads,
                              max_iter=args.max_iter or 1000, verbose=args.verbose,
                              callback=progress),
        progress)
    t_fit = time.perf_counter() - t0
    print(f"fit:   {args.solver}, lam={lam:g}: {t_fit:.2f} s, {res.n_iter} iterations, "
          f"{res.n_fev} passes over the data ({1e3 * t_fit / max(res.n_fev, 1):.0f} ms each), "
          f"{'converged' if res.converged else 'NOT converged'}")
    print(f"       objective {res.objective:.10g}, max |gradient| {res.grad_norm:.1e}, "
          f"deviance {res.deviance:.6g}")
    _print_recovery(res, prob)
    if args.plot:
        from fastlogit.cli._plot import plot_calibration

        cal = plot_calibration(args.plot, res.fitted_proba, n, k, 10,
                               f"fastlogit demo: {X.shape[0]:,} x {X.shape[1]:,}, lam={lam:g}")
        print(f"calibration plot written to {args.plot} (largest |observed - predicted| "
              f"{np.max(np.abs(cal['observed'] - cal['predicted'])):.3f})")
    if args.compare:
        from fastlogit.cli._compare import compare

        compare(args, prob, lam, threads, res)
    else:
        print("next:  fastlogit demo --compare (the same fit by scikit-learn and glum), "
              "fastlogit demo --toy, fastlogit fit --help")
    return 0


def _print_recovery(res: Any, prob: Any) -> None:
    seen = np.asarray(prob.X.getnnz(axis=0)) >= MIN_ROWS_PER_COLUMN
    truth = f"intercept {res.intercept:+.3f} (true {prob.intercept:+.3f})"
    if seen.sum() < 2:
        print(f"truth: {truth}; too few columns seen in >= {MIN_ROWS_PER_COLUMN} rows to "
              "score the coefficients (use more --rows)")
        return
    corr = float(np.corrcoef(res.coef[seen], prob.coef[seen])[0, 1])
    rmse = float(np.sqrt(np.mean((res.coef[seen] - prob.coef[seen]) ** 2)))
    print(f"truth: {truth}; coefficients of the {seen.sum():,} columns seen in >= "
          f"{MIN_ROWS_PER_COLUMN} rows: correlation {corr:.3f} with the truth, RMSE {rmse:.3f} "
          f"(true sd {prob.coef.std():.3f})")
