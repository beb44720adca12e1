"""Per-call overhead of ``fastlogit.backend`` against the internal call ``fit`` makes.

    python -m benchmarks.backend_overhead [--quick] [--repeats N]

Times, per problem and in one run, the median of:

* internal   ``BinomialLoss.value_grad(b, w)``: what every L-BFGS-B evaluation of a
             fit calls (reused gradient buffer, no checks);
* backend    ``BinomialObjective.value_and_grad(theta, out=buf)``: the public call
             with the caller's buffer (theta checked, split, the gradient written);
* backend, new gradient   the same without ``out=`` (one allocation per call);
* hessp      ``BinomialObjective.hessp`` against the compiled kernel it wraps.

on a 1,000 x 10 dense problem (Python overhead dominates) and sparse-1m
(1,000,000 x 100,000 CSR, the kernel dominates). The difference of medians is the
backend's overhead per call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks import problems
from benchmarks.machine import describe
from fastlogit._core import _hessian
from fastlogit.backend import BinomialObjective
from fastlogit.backend._objective import BinomialLoss


def _median_times(calls: dict, repeats: int) -> dict:
    """Median time of each call, the calls interleaved round by round (so that a change
    in the machine's load reaches every case alike)."""
    times: dict = {name: [] for name in calls}
    for fn in calls.values():
        fn()  # warm up
    for _ in range(repeats):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _small_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 10))
    n = rng.integers(1, 10, size=1000).astype(float)
    k = rng.binomial(n.astype(int), 0.3).astype(float)
    return X, n, k


def measure(X, n, k, repeats: int) -> dict:
    obj = BinomialObjective(X, n, k)
    design = obj._design
    loss = BinomialLoss(design, obj._sn, obj._sk, obj._offset, obj.threads)
    rng = np.random.default_rng(1)
    theta = rng.normal(scale=0.01, size=obj.n_params)
    b, w = float(theta[0]), np.ascontiguousarray(theta[1:])
    out = np.empty(obj.n_params)
    hv = np.empty(obj.n_features)

    def internal_hessp():
        return _hessian.binomial_hessp(*design.kernel_args, obj._sn, obj._offset, w, b, w, b,
                                       hv, obj.threads)

    return _median_times({
        "internal value_grad": lambda: loss.value_grad(b, w),
        "backend value_and_grad(out=)": lambda: obj.value_and_grad(theta, out=out),
        "backend value_and_grad": lambda: obj.value_and_grad(theta),
        "internal hessp kernel": internal_hessp,
        "backend hessp(out=)": lambda: obj.hessp(theta, theta, out=out),
    }, repeats)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few thousand rows for sparse-1m")
    ap.add_argument("--repeats", type=int, default=0, help="calls timed per case")
    args = ap.parse_args(argv)
    print(describe())
    cases = [("dense 1,000 x 10", _small_problem(), args.repeats or 2000)]
    prob = problems.load("sparse-1m", quick=args.quick)
    cases.append(("sparse-1m" + (" (quick)" if args.quick else ""),
                  (prob.X, prob.n, prob.k), args.repeats or 15))
    for name, (X, n, k), repeats in cases:
        res = measure(X, n, k, repeats)
        base = res["internal value_grad"]
        print(f"\n{name}: median of {repeats} calls")
        print("| call | median | over internal |\n|---|--:|--:|")
        for label, t in res.items():
            ref = base if "hessp" not in label else res["internal hessp kernel"]
            print(f"| {label} | {t * 1e6:,.1f} us | {(t - ref) * 1e6:+,.1f} us |")


if __name__ == "__main__":
    main()
