"""fastlogit.glm + summary() against R's glm + summary() and statsmodels' formula GLM.

    python benchmarks/glm_compare.py [--rows 200000] [--repeats 3] [--big-rows 5000000]
                                     [--big-levels 100000] [--skip-big] [--skip-r]

Part 1 (all three tools, same data, same run): ROWS rows of binomial counts with two
numeric columns, a 100-level and a 50-level factor and the interaction x1:f50 (200
coefficients), written once to CSV. Each tool runs in its own process: it reads the
CSV and loads its libraries, then its fit + summary is timed (median of --repeats for
fastlogit, repeats // 3 runs of statsmodels, one of R unless --r-repeats) and its peak
memory measured on the first (cold) run as the rise of the process's peak resident set
(VmHWM, reset through /proc/self/clear_refs after reading) over the resident set after
reading. Deviances
and coefficients are checked against R's.

Part 2 (fastlogit alone: R and statsmodels would need the dense design, 8 x rows x levels
bytes): BIG_ROWS rows with a BIG_LEVELS-level factor and two numeric columns; the
formula encoding, the fit and the HC1 standard errors of the numeric terms, timed, with
the peak memory measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

FORMULA = "cbind(k, f) ~ x1 + x2 + f100 + f50 + x1:f50"

R_WORKER = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = TRUE)
reps <- as.integer(args[2])
rss <- function(key) {
  s <- readLines("/proc/self/status"); l <- s[startsWith(s, key)]
  as.numeric(strsplit(trimws(sub(key, "", l)), " +")[[1]][1]) * 1024
}
invisible(gc())
writeLines("5", "/proc/self/clear_refs")
base <- rss("VmRSS:")
times <- c()
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  m <- glm(cbind(k, f) ~ x1 + x2 + f100 + f50 + x1:f50, binomial, d)
  s <- summary(m)
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
peak <- rss("VmHWM:")
cat(jsonlite::toJSON(list(seconds = times, peak_rise = peak - base, hwm = peak,
                          deviance = m$deviance, coef = unname(coef(m)),
                          se = unname(s$coefficients[, 2]), iterations = m$iter),
                     digits = NA, auto_unbox = TRUE))
"""


def _status(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return float(line.split()[1]) * 1024
    return float("nan")


def _reset_peak() -> float:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return _status("VmRSS:")


def worker(tool: str, csv: str, repeats: int) -> dict:
    """Run one tool on the CSV in this process; the measurements as a dict."""
    import gc
    import warnings

    import pandas as pd

    d = pd.read_csv(csv)
    # the libraries are loaded before the baseline, as R's stats package is at start-up
    if tool == "fastlogit":
        import formulaic  # noqa: F401

        import fastlogit
    else:
        import statsmodels.api as sm
        import statsmodels.formula.api as smf
    gc.collect()
    base = _reset_peak()
    times, peak = [], None
    for _ in range(repeats):
        out = m = text = None  # the previous repeat's model is not held during the next
        gc.collect()
        t0 = time.perf_counter()
        if tool == "fastlogit":
            m = fastlogit.glm(FORMULA, d)
            text = str(m.summary())
            out = dict(deviance=m.deviance, coef=m.params.tolist(), se=m.bse.tolist(),
                       iterations=m.fit.n_iter)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = smf.glm("k + f ~ x1 + x2 + f100 + f50 + x1:f50", d,
                            family=sm.families.Binomial()).fit()
                text = str(m.summary())
            out = dict(deviance=float(m.deviance), coef=list(map(float, m.params)),
                       se=list(map(float, m.bse)), iterations=int(m.fit_history["iteration"]))
        times.append(time.perf_counter() - t0)
        assert len(text) > 100
        if peak is None:  # memory of the first (cold) run, as R's single run
            peak = _status("VmHWM:")
    out.update(seconds=times, peak_rise=peak - base, hwm=peak)
    return out


def make_data(rows: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    f100 = rng.integers(0, 100, rows)
    f50 = rng.integers(0, 50, rows)
    x1, x2 = rng.normal(size=rows), rng.uniform(-1, 1, size=rows)
    eta = (-0.3 + 0.4 * x1 - 0.5 * x2 + rng.normal(scale=0.4, size=100)[f100]
           + rng.normal(scale=0.3, size=50)[f50] + 0.1 * rng.normal(size=50)[f50] * x1)
    n = rng.integers(1, 11, rows)
    k = rng.binomial(n, 1.0 / (1.0 + np.exp(-eta)))
    return pd.DataFrame({"x1": x1, "x2": x2, "f100": [f"a{i:03d}" for i in f100],
                         "f50": [f"b{i:02d}" for i in f50], "k": k, "f": n - k})


def _run(cmd: list) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def big_case(rows: int, levels: int, seed: int = 1) -> dict:
    """Part 2 in this process: encoding + fit + HC1 SEs of the numeric terms."""
    import gc
    import warnings

    import pandas as pd

    import fastlogit

    rng = np.random.default_rng(seed)
    g = rng.integers(0, levels, rows)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    eta = 0.5 * x1 - 0.25 * x2 + rng.normal(scale=0.5, size=levels)[g]
    n = rng.integers(1, 6, rows)
    k = rng.binomial(n, 1.0 / (1.0 + np.exp(-eta)))
    cats = pd.Categorical.from_codes(g, [f"g{i:06d}" for i in range(levels)])
    d = pd.DataFrame({"x1": x1, "x2": x2, "g": cats, "k": k, "f": n - k})
    del g, x1, x2, eta, n, k, cats
    gc.collect()
    base = _reset_peak()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few small levels are all-success or all-failure
        m = fastlogit.glm("cbind(k, f) ~ x1 + x2 + g", d, cov_type="HC1")
    t_fit = time.perf_counter() - t0
    t1 = time.perf_counter()
    se = m.bse[["Intercept", "x1", "x2"]]
    t_se = time.perf_counter() - t1
    peak = _status("VmHWM:")
    return dict(rows=rows, levels=levels, params=m.rank, fit_seconds=t_fit, se_seconds=t_se,
                iterations=m.fit.n_iter, method=m.method, converged=m.converged,
                peak_rise=peak - base, hwm=peak, data_bytes=int(d.memory_usage(deep=True).sum()),
                x1=float(m.params["x1"]), se_x1=float(se["x1"]), se_x2=float(se["x2"]))


def _versions() -> str:
    import formulaic
    import pandas
    import statsmodels

    import fastlogit

    r = "absent"
    if shutil.which("Rscript"):
        r = subprocess.run(["Rscript", "-e", "cat(R.version.string)"], capture_output=True,
                           text=True).stdout.strip()
    return (f"fastlogit {fastlogit.__version__}, numpy {np.__version__}, formulaic "
            f"{formulaic.__version__}, pandas {pandas.__version__}, statsmodels "
            f"{statsmodels.__version__}; {r}")


def main(argv: list) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--r-repeats", type=int, default=1)
    ap.add_argument("--big-rows", type=int, default=5_000_000)
    ap.add_argument("--big-levels", type=int, default=100_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--skip-r", action="store_true")
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "CSV", "REPEATS"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--big-worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv[1:])
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], int(args.worker[2]))))
        return
    if args.big_worker:
        print(json.dumps(big_case(*args.big_worker)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; {_versions()}")
    me = [sys.executable, os.path.abspath(__file__)]
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "glm.csv")
        make_data(args.rows).to_csv(csv, index=False)
        print(f"\npart 1: {args.rows:,} rows, {FORMULA} (200 coefficients)")
        results = {}
        results["fastlogit"] = _run(me + ["--worker", "fastlogit", csv, str(args.repeats)])
        if not args.skip_r and shutil.which("Rscript"):
            rfile = os.path.join(tmp, "worker.R")
            with open(rfile, "w") as fh:
                fh.write(R_WORKER)
            results["R glm"] = _run(["Rscript", rfile, csv, str(args.r_repeats)])
        results["statsmodels"] = _run(me + ["--worker", "statsmodels", csv,
                                            str(max(1, args.repeats // 3))])
    ref = results.get("R glm", results["statsmodels"])
    print(f"{'tool':<12} {'fit+summary s (median)':>23} {'peak rise MB':>13} "
          f"{'peak RSS MB':>12} {'iters':>6} {'max|coef - R|':>14} {'deviance':>16}")
    for tool, r in results.items():
        # patsy (statsmodels) codes x1:f50 in another order: compared through the deviance
        diff = (f"{float(np.max(np.abs(np.array(r['coef']) - np.array(ref['coef'])))):.2e}"
                if tool != "statsmodels" or ref is r else "-")
        print(f"{tool:<12} {np.median(r['seconds']):>23.3f} {r['peak_rise'] / 1e6:>13.1f} "
              f"{r['hwm'] / 1e6:>12.1f} {r['iterations']:>6} {diff:>14} "
              f"{r['deviance']:>16.8f}")
    fl = results["fastlogit"]
    for tool in ("R glm", "statsmodels"):
        if tool in results:
            r = results[tool]
            ratio = np.median(r["seconds"]) / np.median(fl["seconds"])
            print(f"fastlogit vs {tool}: {ratio:.1f}x faster, "
                  f"{r['peak_rise'] / max(fl['peak_rise'], 1):.1f}x less memory (peak rise)")
    if not args.skip_big:
        print(f"\npart 2: {args.big_rows:,} rows, cbind(k, f) ~ x1 + x2 + g with a "
              f"{args.big_levels:,}-level factor g, cov_type='HC1' (dense design: "
              f"{8 * args.big_rows * args.big_levels / 1e12:.1f} TB)")
        b = _run(me + ["--big-worker", str(args.big_rows), str(args.big_levels)])
        print(f"encoding + fit: {b['fit_seconds']:.1f} s ({b['method']}, {b['iterations']} "
              f"iterations, converged={b['converged']}, {b['params']:,} coefficients); "
              f"HC1 SEs of the numeric terms: {b['se_seconds']:.2f} s")
        print(f"peak memory rise {b['peak_rise'] / 1e6:.0f} MB (peak RSS {b['hwm'] / 1e6:.0f} MB;"
              f" the data frame itself {b['data_bytes'] / 1e6:.0f} MB); x1 = {b['x1']:.5f} "
              f"(HC1 se {b['se_x1']:.5f}), se x2 {b['se_x2']:.5f}")


if __name__ == "__main__":
    main(sys.argv)
