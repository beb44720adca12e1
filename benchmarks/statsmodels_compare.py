"""fastlogit's Newton solver + full inference against statsmodels' GLM Binomial, in one run.

On a dense binomial problem (default 200,000 x 100, ``make_dense_binomial(seed=0)``):

* the Hessian kernel X~^T D X~ (1 and 2 threads) against numpy's X~^T (D X~);
* the fit plus bse, pvalues, conf_int and summary: fastlogit (newton; lbfgs for
  reference) against statsmodels ``GLM(..., family=Binomial()).fit()`` (IRLS),
  medians of --repeats runs;
* agreement of the two answers (params, bse, p-values, intervals, deviances);
* peak memory of each fit, each in a fresh subprocess: the data are made
  first, then the peak resident set is reset (Linux /proc/self/clear_refs)
  and read again after fit + inference; "extra" is the peak above the
  resident set before the fit (the data).

    python benchmarks/statsmodels_compare.py                 # full size
    python benchmarks/statsmodels_compare.py --rows 20000    # quick
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _data(rows: int, features: int):
    from fastlogit.datasets import make_dense_binomial

    return make_dense_binomial(rows, features, seed=0)


def fit_fastlogit(prob, solver: str = "newton", threads=None):
    import fastlogit

    res = fastlogit.fit(prob.X, prob.n, prob.k, lam=0.0, solver=solver, threads=threads)
    res.bse, res.pvalues, res.conf_int(), str(res.summary())
    return res


def fit_statsmodels(prob):
    import statsmodels.api as sm

    endog = np.column_stack([prob.k, prob.n - prob.k])
    res = sm.GLM(endog, sm.add_constant(prob.X), family=sm.families.Binomial()).fit()
    res.bse, res.pvalues, res.conf_int(), str(res.summary())
    return res


def _status() -> dict:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


class _Sampler:
    """Fallback peak tracker (psutil, every 2 ms) where /proc/self/clear_refs is unavailable."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.002)

    def finish(self) -> int:
        self.stop.set()
        self.thread.join()
        return max(self.peak, self.proc.memory_info().rss)


def child(which: str, rows: int, features: int) -> None:
    """Run one fit + inference in this (fresh) process and print its memory as JSON."""
    prob = _data(rows, features)
    gc.collect()
    before = _status()["VmRSS"]
    sampler = None
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
    except OSError:
        sampler = _Sampler()
    t0 = time.perf_counter()
    if which == "statsmodels":
        fit_statsmodels(prob)
    else:
        fit_fastlogit(prob, which)
    seconds = time.perf_counter() - t0
    peak = sampler.finish() if sampler else _status()["VmHWM"]
    print(json.dumps({"before": before, "peak": peak, "seconds": seconds,
                      "method": "psutil sampling" if sampler else "VmHWM"}))


def memory_of(which: str, rows: int, features: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(HERE, "..", "src"), HERE, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", which,
                          "--rows", str(rows), "--features", str(features)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.rows, args.features)
        return

    import statsmodels
    from machine import describe

    from fastlogit._core import _hessian
    from fastlogit._core._threads import resolve_threads, single_threaded_blas
    from fastlogit._input._validate import as_design

    print(describe())
    print(f"statsmodels {statsmodels.__version__}; problem: make_dense_binomial({args.rows}, "
          f"{args.features}, seed=0), lam=0; medians of {args.repeats} runs\n")
    prob = _data(args.rows, args.features)
    design = as_design(prob.X)
    P = args.features + 1
    H = np.empty((P, P))

    print("Hessian X~^T D X~ (one evaluation)")
    for threads in sorted({1, 2, resolve_threads(None)}):
        def kernel(threads=threads):
            with single_threaded_blas():
                _hessian.binomial_hessian(*design.kernel_args, prob.n, None, prob.coef, -0.5,
                                          H, threads)
        t, _ = _median_time(kernel, 5)
        print(f"  fastlogit kernel, {threads} thread(s): {1e3 * t:9.1f} ms")

    def numpy_hessian():
        z = prob.X @ prob.coef - 0.5
        p = 1 / (1 + np.exp(-z))
        Xt = np.column_stack([np.ones(len(z)), prob.X])
        return Xt.T @ ((prob.n * p * (1 - p))[:, None] * Xt)

    t_np, ref_H = _median_time(numpy_hessian, 3)
    print(f"  numpy X~.T @ (D X~) (BLAS threads):  {1e3 * t_np:6.1f} ms  "
          f"(max rel diff {_rel(H, ref_H):.1e})\n")

    print("Fit + bse, pvalues, conf_int, summary")
    from threadpoolctl import threadpool_limits

    t_nt, res = _median_time(lambda: fit_fastlogit(prob, "newton"), args.repeats)
    t_nt1, _ = _median_time(lambda: fit_fastlogit(prob, "newton", 1), args.repeats)
    t_lb, res_lb = _median_time(lambda: fit_fastlogit(prob, "lbfgs"), args.repeats)
    t_sm, ref = _median_time(lambda: fit_statsmodels(prob), args.repeats)
    with threadpool_limits(1, user_api="blas"):
        t_sm1, _ = _median_time(lambda: fit_statsmodels(prob), args.repeats)
    print(f"  fastlogit newton:            {t_nt:7.2f} s  ({res.n_iter} iterations, "
          f"{res.n_fev} passes over X)")
    print(f"  fastlogit newton, 1 thread:  {t_nt1:7.2f} s")
    print(f"  fastlogit lbfgs:             {t_lb:7.2f} s  ({res_lb.n_iter} iterations, "
          f"{res_lb.n_fev} passes over X)")
    print(f"  statsmodels IRLS:            {t_sm:7.2f} s  ({ref.fit_history['iteration']} "
          "iterations)")
    print(f"  statsmodels, 1 BLAS thread:  {t_sm1:7.2f} s")
    print(f"  speed-up, newton vs statsmodels: {t_sm / t_nt:.1f}x "
          f"(both on 1 thread: {t_sm1 / t_nt1:.1f}x)\n")

    print("Agreement, fastlogit newton vs statsmodels (max relative difference)")
    log_p = (np.log(np.maximum(res.pvalues, 1e-300)), np.log(np.maximum(ref.pvalues, 1e-300)))
    for name, a, b in [("params", res.params, ref.params), ("bse", res.bse, ref.bse),
                       ("log p-values", *log_p), ("conf_int", res.conf_int(), ref.conf_int()),
                       ("deviance", res.deviance, ref.deviance),
                       ("null deviance", res.null_deviance, ref.null_deviance),
                       ("loglik", res.loglik, ref.llf), ("aic", res.aic, ref.aic)]:
        print(f"  {name:<14} {_rel(a, b):.1e}")
    print(f"  lbfgs params vs statsmodels: {_rel(res_lb.params, ref.params):.1e}\n")

    print("Peak memory of fit + inference (fresh subprocess each; MB)")
    mems = {w: memory_of(w, args.rows, args.features)
            for w in ("newton", "lbfgs", "statsmodels")}
    for which, m in mems.items():
        print(f"  {which:<12} before {m['before'] / 1e6:8.0f}   peak {m['peak'] / 1e6:8.0f}   "
              f"extra {(m['peak'] - m['before']) / 1e6:8.0f}   ({m['method']})")
    extra = {w: max(m["peak"] - m["before"], 1) for w, m in mems.items()}
    print(f"  extra memory, statsmodels / newton: {extra['statsmodels'] / extra['newton']:.0f}x")


if __name__ == "__main__":
    main()
