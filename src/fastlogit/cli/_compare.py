"""``fastlogit demo --compare``: the demo's problem through fastlogit, scikit-learn and glum.

Each library runs in a fresh subprocess (``python -m fastlogit.cli._compare
SPEC.json``) that regenerates the same seeded problem, so that its time and
memory are its own: no warm caches, no memory left over from another library.
The child measures

* prep: encoding (X, n, k) the way the library needs it; scikit-learn takes
  0/1 labels only, so each binomial row becomes a success row weighted k and
  a failure row weighted n - k (rows of weight 0 dropped), with C = 1/lam
  (its objective C * sum(weighted log-loss) + ||w||^2/2 is C times ours);
  glum takes y = k/n with sample_weight = n and alpha = lam / sum(n) (its
  objective divides the deviance by the total weight);
* fit: the library's fit call alone;
* peak memory: the resident-set high-water mark during prep + fit, above the
  resident memory just before (Linux: the kernel's counter, reset through
  /proc/self/clear_refs; elsewhere not measured).

The parent scores every answer with one function, F(b, w) in float64, so the
objectives are comparable whatever each library's own stopping rule.
This is a small, self-contained comparison for newcomers; the benchmark
suite (benchmarks/ in the repository) is the thorough one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

import fastlogit
from fastlogit._core._special import log1pexp
from fastlogit.cli._util import CliError

LIBRARIES = {
    # name: (module to check, how the problem is handed over)
    "fastlogit": ("fastlogit", "(X, n, k) as is, lbfgs, factr=1e3, pgtol=1e-8"),
    "scikit-learn": ("sklearn", "2 weighted 0/1 rows per row, C=1/lam, lbfgs, tol=1e-8"),
    "glum": ("glum", "y=k/n, weight n, alpha=lam/sum(n), lbfgs, gradient_tol=1e-8"),
}
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def objective(X: Any, n: np.ndarray, k: np.ndarray, lam: float, b: float, w: np.ndarray
              ) -> float:
    """F(b, w) = sum n log(1 + e^z) - k z + lam/2 ||w||^2 in float64: the common yardstick.

    Examples
    --------
    >>> objective(np.eye(2), np.array([4.0, 4.0]), np.array([3.0, 1.0]), 0.0, 0.0,
    ...           np.zeros(2))
    5.545177444479562
    """
    z = np.asarray(X @ np.asarray(w, dtype=np.float64), dtype=np.float64) + b
    return float(np.sum(n * log1pexp(z) - k * z) + 0.5 * lam * float(np.dot(w, w)))


def parse_libraries(text: str) -> list:
    """'fastlogit, glum' -> ['fastlogit', 'glum'], or a CliError naming the unknown ones.

    Examples
    --------
    >>> parse_libraries("fastlogit, glum")
    ['fastlogit', 'glum']
    """
    chosen = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in LIBRARIES]
    if unknown or not chosen:
        raise CliError(f"--libraries: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                       f"choose from {', '.join(LIBRARIES)}")
    return chosen


def compare(args: Any, prob: Any, lam: float, threads: int, res: Any) -> None:
    """Run the chosen libraries, each in a subprocess, and print the table."""
    X, n, k = prob.X, prob.n, prob.k
    chosen = parse_libraries(args.libraries)
    print()
    print(f"comparison: the same problem in a fresh subprocess per library, {threads} "
          f"threads (OMP_NUM_THREADS); time and peak memory of encoding + fit, above the data")
    rows: list = []
    with tempfile.TemporaryDirectory(prefix="fastlogit-compare-") as tmp:
        for name in chosen:
            module, how = LIBRARIES[name]
            if importlib.util.find_spec(module) is None:
                rows.append((name, how, None, f"not installed (pip install {name})"))
                continue
            if name == "scikit-learn" and lam <= 0:
                rows.append((name, how, None, "needs lam > 0 (C = 1/lam)"))
                continue
            print(f"  running {name} ...", end="", flush=True)
            out = _run_child(Path(tmp), name, args, lam, threads)
            print("\r\x1b[K" if sys.stdout.isatty() else " done", end="" if
                  sys.stdout.isatty() else "\n", flush=True)
            if "error" in out:
                rows.append((name, how, None, out["error"]))
                continue
            out["F"] = objective(X, n, k, lam, out["intercept"], out["coef"])
            rows.append((name, how, out, ""))
    _print_table(rows, res)


def _run_child(tmp: Path, name: str, args: Any, lam: float, threads: int) -> dict:
    stem = tmp / name
    spec = {"library": name, "rows": args.rows, "features": args.features, "nnz": args.nnz,
            "zipf": args.zipf, "seed": args.seed, "lam": lam, "threads": threads,
            "result": f"{stem}.json", "coef": f"{stem}.npy"}
    Path(f"{stem}.spec.json").write_text(json.dumps(spec))
    env = dict(os.environ)
    env.update({v: str(threads) for v in _THREAD_VARS})
    package_root = str(Path(fastlogit.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "fastlogit.cli._compare", f"{stem}.spec.json"]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after the --timeout of {args.timeout:g} s"}
    if not Path(spec["result"]).exists():
        tail = (proc.stderr or proc.stdout or "no output").strip().splitlines()[-1:]
        return {"error": f"failed (exit {proc.returncode}): {tail[0][:120] if tail else ''}"}
    out = json.loads(Path(spec["result"]).read_text())
    if "error" not in out:
        out["coef"] = np.load(spec["coef"])
    return out


def _print_table(rows: list, res: Any) -> None:
    done = [r[2] for r in rows if r[2] is not None]
    best = min((o["F"] for o in done), default=np.nan)
    head = (f"{'library':<13} {'prep s':>7} {'fit s':>8} {'peak MB':>8} {'iters':>6} "
            f"{'objective F':>18} {'(F-Fmin)/F':>10} {'max|coef diff|':>14}")
    print(head)
    print("-" * len(head))
    for name, _, out, note in rows:
        if out is None:
            print(f"{name:<13} {note}")
            continue
        mem = "n/a" if out.get("peak_bytes") is None else f"{out['peak_bytes'] / 1e6:,.0f}"
        gap = (out["F"] - best) / abs(best) if best else np.nan
        diff = float(np.max(np.abs(out["coef"] - res.coef), initial=0.0))
        flag = "" if out.get("converged", True) else "  (not converged)"
        print(f"{name:<13} {out['prep_s']:7.2f} {out['fit_s']:8.2f} {mem:>8} "
              f"{out.get('n_iter', '?'):>6} {out['F']:18.10e} {gap:10.1e} {diff:14.1e}{flag}")
    print("encodings and settings:")
    for name, how, _, _ in rows:
        print(f"  {name:<13} {how}")
    print("max|coef diff| is against the fit above; every F is computed by one function.")


# -- the child -----------------------------------------------------------------------------

def _rss_status() -> Optional[dict]:
    try:
        with open("/proc/self/status") as fh:
            out = {}
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":")
                    out[key] = int(value.split()[0]) * 1024
            return out if len(out) == 2 else None
    except OSError:
        return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _prepare(name: str, X: Any, n: np.ndarray, k: np.ndarray, lam: float) -> Any:
    import scipy.sparse as sp

    if name == "scikit-learn":
        pos, neg = k > 0, n - k > 0
        X2 = sp.vstack([X[pos], X[neg]], format="csr")
        y2 = np.concatenate([np.ones(int(pos.sum())), np.zeros(int(neg.sum()))])
        w2 = np.concatenate([k[pos], (n - k)[neg]])
        return X2, y2, w2
    if name == "glum":
        live = n > 0
        return X[live], k[live] / n[live], n[live]
    return X, n, k


def _fit(name: str, data: Any, lam: float, threads: int) -> tuple:
    """(intercept, coef, iterations, converged) of one library's fit."""
    import warnings

    if name == "fastlogit":
        X, n, k = data
        res = fastlogit.fit(X, n, k, lam=lam, threads=threads)
        return res.intercept, res.coef, res.n_iter, res.converged
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if name == "scikit-learn":
            from sklearn.linear_model import LogisticRegression

            X2, y2, w2 = data
            model = LogisticRegression(C=1.0 / lam, solver="lbfgs", tol=1e-8, max_iter=10_000)
            model.fit(X2, y2, sample_weight=w2)
            b, w = float(model.intercept_[0]), model.coef_.ravel()
        else:
            from glum import GeneralizedLinearRegressor

            X, y, weight = data
            model = GeneralizedLinearRegressor(family="binomial", alpha=lam / float(weight.sum()),
                                               l1_ratio=0.0, solver="lbfgs", gradient_tol=1e-8,
                                               max_iter=10_000)
            model.fit(X, y, sample_weight=weight)
            b, w = float(model.intercept_), np.asarray(model.coef_)
    failed = any("converge" in str(c.message).lower() for c in caught)
    return b, np.asarray(w, dtype=np.float64), int(np.max(model.n_iter_)), not failed


def child(spec: dict) -> dict:
    """One library's run: regenerate the problem, encode, fit; time and memory."""
    from fastlogit.datasets import make_sparse_binomial

    name, lam = spec["library"], spec["lam"]
    importlib.import_module(LIBRARIES[name][0])  # imports are not part of the timing
    prob = make_sparse_binomial(spec["rows"], spec["features"], spec["nnz"], zipf=spec["zipf"],
                                seed=spec["seed"])
    before = _rss_status()
    measured = before is not None and _reset_peak()
    t0 = time.perf_counter()
    data = _prepare(name, prob.X, prob.n, prob.k, lam)
    t1 = time.perf_counter()
    b, w, n_iter, converged = _fit(name, data, lam, spec["threads"])
    t2 = time.perf_counter()
    after = _rss_status() if measured else None
    np.save(spec["coef"], w)
    peak = None if after is None or before is None else max(after["VmHWM"] - before["VmRSS"], 0)
    return {"prep_s": t1 - t0, "fit_s": t2 - t1, "peak_bytes": peak, "intercept": b,
            "n_iter": n_iter, "converged": converged}


def _child_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    try:
        out = child(spec)
    except Exception as exc:  # reported in the parent's table
        text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        out = {"error": f"{type(exc).__name__}: {text}"}
    Path(spec["result"]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":  # pragma: no cover - run by compare() in a subprocess
    sys.exit(_child_main(sys.argv[1]))
