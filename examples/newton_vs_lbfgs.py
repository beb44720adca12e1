"""
Newton against L-BFGS-B
=======================

Newton/IRLS, L-BFGS-B, truncated Newton and gradient descent on one problem.

All of fastlogit's solvers minimise the same objective; they differ in how
much they learn from each pass over the data:

* Newton (IRLS) forms the full Hessian X~^T D X~ (one compiled pass) and
  solves with it: quadratic convergence, the error roughly squaring each
  step, so a handful of iterations reach machine precision; each iteration
  costs O(n_rows p^2) for the Hessian, so it suits up to a few thousand
  features.
* L-BFGS-B builds a curvature model from the last few gradients: each
  iteration is one pass (loss and gradient), convergence is superlinear at
  best, so it needs tens of iterations, but it scales to any width.
* newton-cg solves the Newton system by conjugate gradients on
  Hessian-vector products (no dense matrix).
* gradient descent: linear convergence at a rate set by the condition number.

The script fits a moderate dense problem (default 100,000 binomial rows x
50 correlated features) with each, records the objective after every
iteration, and prints the gap F - F* per iteration, where F* is the best
objective reached. As an independent check, scikit-learn's lbfgs and
newton-cholesky solvers fit the same problem (two-row encoding, C = 1/lam)
and their coefficients are compared with fastlogit's Newton answer.

    python examples/newton_vs_lbfgs.py [--small] [--plot FILE.png]

(Softmax regression on a small multiclass set: see softmax_multiclass.py.)

Exits with status 1 if scikit-learn disagrees with fastlogit by more than 1e-5.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

import fastlogit

SOLVERS = ("newton", "lbfgs", "newton-cg", "gd")
GD_MAX_ITER = 500  # gradient descent would need thousands: stopped here, its gap shows why


def correlated_problem(rows: int, features: int, rho: float, seed: int = 3) -> tuple:
    """Binomial rows whose columns share a common factor (correlation rho).

    fastlogit's solvers work in standardised coordinates, so unequal column
    scales do not slow them down; correlated columns do (they stretch the
    level sets of the objective along the common factor), so this is the
    kind of problem on which second-order methods earn their keep.
    """
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((rows, 1))
    X = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * rng.standard_normal((rows, features))
    coef = rng.normal(0.0, 1.0 / np.sqrt(features), size=features)
    n = 1.0 + rng.poisson(4.0, size=rows)
    k = rng.binomial(n.astype(np.int64), 1.0 / (1.0 + np.exp(-(X @ coef - 0.5)))).astype(float)
    return X, n, k


def trace_fit(X: np.ndarray, n: np.ndarray, k: np.ndarray, lam: float, solver: str,
              max_iter: int) -> tuple:
    """Fit with one solver; return the result, its seconds and the objective per iteration."""
    trace: list = []

    def record(info: fastlogit.IterationInfo) -> None:
        trace.append((info.iteration, info.objective, info.elapsed))

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)  # gd: shown as a gap
        res = fastlogit.fit(X, n, k, lam=lam, solver=solver, max_iter=max_iter, factr=10.0,
                            pgtol=1e-12 if solver != "newton" else 0.0, callback=record)
    return res, time.perf_counter() - t0, trace


def sklearn_check(X: np.ndarray, n: np.ndarray, k: np.ndarray, lam: float,
                  reference: np.ndarray) -> list:
    """scikit-learn's solvers on the two-row encoding; (name, iterations, max |diff|)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("scikit-learn is not installed (pip install scikit-learn): no cross-check")
        return []
    pos, neg = k > 0, n - k > 0
    X2 = np.vstack([X[pos], X[neg]])
    y2 = np.concatenate([np.ones(pos.sum()), np.zeros(neg.sum())])
    w2 = np.concatenate([k[pos], (n - k)[neg]])
    out = []
    for solver in ("lbfgs", "newton-cholesky"):
        t0 = time.perf_counter()
        clf = LogisticRegression(C=1.0 / lam, solver=solver, tol=1e-8, max_iter=10_000)
        clf.fit(X2, y2, sample_weight=w2)
        params = np.concatenate((clf.intercept_, clf.coef_.ravel()))
        out.append((solver, int(np.max(clf.n_iter_)), time.perf_counter() - t0,
                    float(np.max(np.abs(params - reference)))))
    return out


def plot(path: str, traces: dict, best: float) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib): no plot")
        return
    fig = Figure(figsize=(10, 4))
    by_iter, by_time = fig.subplots(1, 2)
    for solver, trace in traces.items():
        it = np.array([t[0] for t in trace])
        gap = np.maximum(np.array([t[1] for t in trace]) - best, 1e-16 * abs(best))
        secs = np.array([t[2] for t in trace])
        by_iter.semilogy(it, gap / abs(best), marker=".", label=solver)
        by_time.semilogy(secs, gap / abs(best), marker=".", label=solver)
    by_iter.set_xscale("symlog", linthresh=10)
    by_iter.set_xlabel("iteration")
    by_time.set_xlabel("seconds")
    for ax in (by_iter, by_time):
        ax.set_ylabel("(F - F*) / F*")
        ax.legend(fontsize=8)
    fig.suptitle("Convergence of fastlogit's solvers on one problem", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="5,000 x 20 (for tests)")
    parser.add_argument("--rows", type=int, default=None, help="rows (default 100,000)")
    parser.add_argument("--features", type=int, default=None, help="features (default 50)")
    parser.add_argument("--lam", type=float, default=1.0, help="L2 penalty (default 1)")
    parser.add_argument("--rho", type=float, default=0.9,
                        help="correlation between the columns (default 0.9)")
    parser.add_argument("--plot", default="newton_vs_lbfgs.png",
                        help="PNG of the convergence traces (default %(default)s); '' for none")
    args = parser.parse_args(argv)
    rows = args.rows or (5_000 if args.small else 100_000)
    features = args.features or (20 if args.small else 50)

    X, n, k = correlated_problem(rows, features, args.rho)
    print(f"{rows:,} binomial rows x {features} features (dense, correlation {args.rho:g} "
          f"between columns), lam = {args.lam:g}\n")

    results, traces = {}, {}
    for solver in SOLVERS:
        res, seconds, trace = trace_fit(X, n, k, args.lam, solver,
                                        max_iter=GD_MAX_ITER if solver == "gd" else 1000)
        results[solver], traces[solver] = (res, seconds), trace
    best = min(min(t[1] for t in trace) for trace in traces.values())

    print(f"{'solver':<10} {'iterations':>10} {'passes':>7} {'seconds':>8} {'(F - F*)/F*':>12}")
    for solver, (res, seconds) in results.items():
        print(f"{solver:<10} {res.n_iter:>10,} {res.n_fev:>7,} {seconds:8.3f} "
              f"{(res.objective - best) / abs(best):12.1e}")
    print("(passes: evaluations of loss and gradient, plus Hessians or Hessian-vector "
          "products)\n")

    print("relative gap (F - F*)/F* after each iteration:")
    show = [1, 2, 3, 4, 5, 6, 8, 10, 20, 50, 100, GD_MAX_ITER]
    print(f"{'iteration':>10}" + "".join(f"{s:>12}" for s in SOLVERS))
    for i in show:
        cells = []
        for solver in SOLVERS:
            match = [t[1] for t in traces[solver] if t[0] == i]
            cells.append(f"{(match[0] - best) / abs(best):12.1e}" if match else f"{'':>12}")
        if any(c.strip() for c in cells):
            print(f"{i:>10}" + "".join(cells))

    newton = results["newton"][0]
    reference = np.concatenate(([newton.intercept], newton.coef))
    checks = sklearn_check(X, n, k, args.lam, reference)
    ok = True
    if checks:
        print("\nscikit-learn on the two-row encoding (C = 1/lam), against fastlogit's Newton "
              "answer:")
        for solver, iters, seconds, diff in checks:
            print(f"  {solver:<16} {iters:>5} iterations, {seconds:7.3f} s, "
                  f"max |coefficient difference| {diff:.1e}")
            ok = ok and diff < 1e-5
        print("agree" if ok else "DISAGREE")
    if args.plot:
        plot(args.plot, traces, best)
    return 0 if ok else 1


if __name__ == "__main__":
    status = main()
    if status:  # a disagreement: fail loudly (also when the docs run this example)
        sys.exit(status)
