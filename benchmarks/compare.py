"""Side by side: fastlogit against scikit-learn, glum, statsmodels and numpy + L-BFGS-B.

    python -m benchmarks.compare --problem sparse-1m
    python -m benchmarks.compare --problem dense-200k --tools fastlogit,glum,statsmodels
    python -m benchmarks.compare --problem sparse-1m --quick --repeats 1   # smoke run

Every fit runs in a subprocess of its own (a fresh interpreter: no warm caches,
no memory left over from another tool), which loads the cached problem, encodes
it the way that tool needs (timed apart, as "prep"), then fits it. Reported:

* wall seconds of the fit, median over ``--repeats`` subprocesses;
* evaluations (passes of loss+gradient over the data; IRLS iterations for
  statsmodels) and seconds per evaluation as a multiple of the
  memory-bandwidth floor (the bytes of X, n and k over one core's read
  bandwidth, measured in the same run);
* the objective F(b, w) of each answer under ONE float64 numpy function
  (``peers.common_objective``) and its relative gap to the best answer
  and to an untimed tight reference fit (fastlogit, factr=10, pgtol=1e-12);
* by default each tool is tuned: a ladder of its tolerance settings, loosest
  first, one fit each, and the loosest that reaches ``--target-gap`` (1e-9) is
  the one timed (``--no-tune``: fixed defaults; ``--set`` fixes a setting);
* peak resident memory during the fit above the resident memory just before
  it (Linux: the kernel's high-water mark, reset before the fit; elsewhere
  psutil sampling), the largest over the repeats; and what the encoding adds.

Output: a markdown table on stdout and in ``--out`` (with the raw JSON and a PNG
chart when matplotlib is installed). Peers are optional: ``pip install
fastlogit[bench]``; a tool that is not installed is listed as skipped.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from benchmarks import peers, problems
from benchmarks.machine import PeakMemory, describe, load_average, read_bandwidth, versions
from benchmarks.report import render_chart, render_markdown, settings_text

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
MB = 1e6


# -- the child: one fit of one tool -----------------------------------------------------------

def run_child(spec: dict) -> dict:
    """Load the problem, encode it for the tool, fit it; measure time and memory."""
    tool = peers.TOOLS[spec["tool"]]
    for mod in tool.modules:  # imports are not part of the fit
        importlib.import_module(mod)
    mem = PeakMemory()
    prob = problems.load(spec["problem"], spec["quick"])
    X, n, k = prob.X, prob.n, prob.k
    lam, settings = spec["lam"], spec["settings"]
    rss_data = mem.current()
    t0 = time.perf_counter()
    data = tool.prepare(X, n, k, lam, settings)
    prep_s = time.perf_counter() - t0
    rss_prep = mem.current()  # the user keeps their own (X, n, k): it stays alive
    with mem:
        t0 = time.perf_counter()
        answer = tool.fit(data, lam, settings, spec["threads"])
        fit_s = time.perf_counter() - t0
    np.save(spec["coef_path"], np.asarray(answer.coef, dtype=np.float64))
    return {
        "fit_s": fit_s, "prep_s": prep_s, "intercept": answer.intercept,
        "n_eval": answer.n_eval, "n_iter": answer.n_iter, "converged": answer.converged,
        "message": answer.message, "fit_peak_bytes": mem.peak_above_start,
        "prep_bytes": rss_prep - rss_data, "memory_method": mem.method,
    }


def _child_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    try:
        out = run_child(spec)
    except BaseException as exc:  # reported in the table, not raised: one tool failing
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        out = {"error": f"{type(exc).__name__}: {text}"}
    Path(spec["result_path"]).write_text(json.dumps(out))
    return 0


# -- the parent --------------------------------------------------------------------------------

def _run_fit(workdir: Path, problem: str, quick: bool, tool: str, settings: dict, lam: float,
             threads: int, tag: str, timeout: float) -> dict:
    stem = workdir / f"{tool}-{tag}"
    coef_path, result = Path(str(stem) + ".npy"), Path(str(stem) + ".json")
    spec = {"problem": problem, "quick": quick, "tool": tool, "settings": settings, "lam": lam,
            "threads": threads, "coef_path": str(coef_path), "result_path": str(result)}
    Path(str(stem) + ".spec.json").write_text(json.dumps(spec))
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_ENV})
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[1]),
                                                    env.get("PYTHONPATH", "")] if p)
    cmd = [sys.executable, "-m", "benchmarks.compare", "--child", str(stem) + ".spec.json"]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if not result.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"subprocess exited with {proc.returncode}: {tail[0][:200]}"}
    out = json.loads(result.read_text())
    if "error" not in out:
        out["coef"] = np.load(coef_path)
    return out


def _reference(prob: Any, lam: float, threads: int, start: Optional[tuple] = None
               ) -> Optional[tuple]:
    """A tight fastlogit fit (factr=10, pgtol=1e-12), from ``start`` when given."""
    try:
        import fastlogit
    except ImportError:
        return None
    x0 = None if start is None else np.concatenate(([start[0]], start[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fastlogit.fit(prob.X, prob.n, prob.k, lam=lam, x0=x0, factr=10.0, pgtol=1e-12,
                            threads=threads)
    return res.intercept, res.coef


def _gap(objective: float, best: float) -> float:
    return (objective - best) / abs(best)


@dataclass
class _Session:
    """Runs the fits of one comparison: one subprocess per fit, scored as they finish."""

    workdir: Path
    problem: str
    quick: bool
    lam: float
    threads: int
    timeout: float
    score: Callable[[dict], float]
    log: Any

    def fit(self, tool: peers.Tool, settings: dict, tag: str, best: float) -> dict:
        out = _run_fit(self.workdir, self.problem, self.quick, tool.name, settings, self.lam,
                       self.threads, tag, self.timeout)
        if "error" in out:
            msg = out["error"]
        else:
            out["objective"] = self.score(out)
            msg = (f"{out['fit_s']:.2f} s, {out['n_eval']} evaluations, gap "
                   f"{_gap(out['objective'], min(best, out['objective'])):.2e}, "
                   f"+{out['fit_peak_bytes'] / MB:.0f} MB")
        print(f"  {tool.name:<15} {tag:<7} {settings_text(settings)}: {msg}", file=self.log,
              flush=True)
        return out

    def measure(self, tool: peers.Tool, row: dict, overrides: dict, repeats: int,
                target_gap: Optional[float], best: float) -> float:
        """Fill ``row`` with the tool's figures; return the best objective seen so far."""
        runs: list = []
        settings = peers.settings_for(tool, overrides)
        if target_gap is not None and tool.ladder:
            row["tuned"] = True
            for i, rung in enumerate(tool.ladder):
                settings = peers.settings_for(tool, rung)
                out = self.fit(tool, settings, f"tune{i + 1}", best)
                if "error" in out:
                    break
                row.setdefault("ladder", []).append(
                    {"settings": rung, "objective": out["objective"], "n_eval": out["n_eval"],
                     "fit_s": out["fit_s"]})
                if _gap(out["objective"], min(best, out["objective"])) <= target_gap:
                    break
            runs.append(out)
        while len(runs) < repeats and not (runs and "error" in runs[-1]):
            runs.append(self.fit(tool, settings, f"run{len(runs) + 1}", best))
        row["settings"] = settings
        if "error" in runs[-1]:
            row["error"] = runs[-1]["error"]
            return best
        first = runs[0]
        row.update(
            fit_s=float(np.median([o["fit_s"] for o in runs])),
            fit_s_all=[o["fit_s"] for o in runs],
            prep_s=float(np.median([o["prep_s"] for o in runs])),
            n_eval=first["n_eval"], n_iter=first["n_iter"], converged=first["converged"],
            message=first["message"], objective=first["objective"],
            fit_peak_bytes=max(o["fit_peak_bytes"] for o in runs),
            prep_bytes=max(o["prep_bytes"] for o in runs),
            memory_method=first["memory_method"], intercept=first["intercept"],
            _coef=first["coef"],
        )
        return min(best, *(o["objective"] for o in runs))


def compare(problem: str, tools: list, *, repeats: int = 3, threads: int = 2,
            lam: Optional[float] = None, quick: bool = False, overrides: Optional[dict] = None,
            target_gap: Optional[float] = 1e-9, timeout: float = 3600.0,
            log: Any = sys.stderr) -> dict:
    """Run every tool on the problem, each fit in its own subprocess; return the report data.

    Parameters
    ----------
    problem : str
        A name from ``benchmarks.problems.PROBLEMS``.
    tools : list of str
        Names from ``benchmarks.peers.TOOLS``.
    repeats : int
        Subprocesses (fits) per tool; the wall time is their median.
    threads : int
        Threads for every tool (fastlogit's ``threads=`` and OMP/BLAS variables).
    lam : float, optional
        The L2 penalty (default: the problem's).
    quick : bool
        The problem's small smoke-test size.
    overrides : dict, optional
        {tool: {setting: value}}; a tool with overrides is not tuned.
    target_gap : float or None
        Tune each tool with a ladder of settings (``Tool.ladder``, loosest
        first, one fit each) and keep the loosest whose answer is within this
        relative gap of a tight reference fit; None: use the default settings.
    timeout : float
        Seconds before a fit subprocess is abandoned.
    log : file, optional
        Where progress lines go (default stderr; None: nowhere).

    Returns
    -------
    dict
        Machine, problem and one row per tool (see ``render_markdown``).
    """
    overrides = overrides or {}
    log = log if log is not None else io.StringIO()
    spec = problems.PROBLEMS[problem]
    lam = spec.lam if lam is None else float(lam)
    t0 = time.perf_counter()
    prob = problems.load(problem, quick)
    print(f"problem {problem}{' (quick)' if quick else ''} ready in "
          f"{time.perf_counter() - t0:.1f} s", file=log, flush=True)
    import scipy.sparse as sp

    sparse = sp.issparse(prob.X)
    nbytes = problems.data_nbytes(prob.X, prob.n)
    report: dict = {
        "problem": problem, "quick": quick, "description": spec.description,
        "shape": list(prob.X.shape), "sparse": sparse, "data_bytes": nbytes, "lam": lam,
        "threads": threads, "repeats": repeats, "target_gap": target_gap,
        "machine": describe(), "versions": versions(), "load_before": load_average(),
        "command": None,
    }
    bw_size = (1 << 26) if quick else (1 << 30)
    report["bandwidth"] = {str(t): read_bandwidth(t, nbytes=bw_size)
                           for t in sorted({1, threads})}
    report["floor_s"] = nbytes / report["bandwidth"]["1"]

    def score(out: dict) -> float:
        return peers.common_objective(prob.X, prob.n, prob.k, lam, out["intercept"], out["coef"])

    t0 = time.perf_counter()
    ref = _reference(prob, lam, threads)
    best = score({"intercept": ref[0], "coef": ref[1]}) if ref else np.inf
    report["reference_objective"] = best if ref else None
    print(f"reference fit (fastlogit, factr=10, pgtol=1e-12): F = {best:.12g} in "
          f"{time.perf_counter() - t0:.1f} s", file=log, flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="fastlogit-compare-") as tmp:
        runner = _Session(Path(tmp), problem, quick, lam, threads, timeout, score, log)
        for name in tools:
            tool = peers.TOOLS[name]
            row: dict = {"tool": name, "label": tool.label, "note": tool.note}
            rows.append(row)
            missing = tool.missing()
            if missing:
                row["skipped"] = f"not installed ({missing}): pip install fastlogit[bench]"
            elif tool.dense_only and sparse:
                row["skipped"] = "dense only"
            else:
                tune = target_gap if name not in overrides else None
                best = runner.measure(tool, row, overrides.get(name, {}), repeats, tune, best)
    scored = [r for r in rows if "objective" in r]
    if ref is not None and scored:
        # polish the best answer once more: no tool should look closer than it is
        top = min(scored, key=lambda r: r["objective"])
        if top["objective"] < best * (1 + 1e-15):
            polished = _reference(prob, lam, threads, (top["intercept"], top["_coef"]))
            if polished is not None:
                best = min(best, score({"intercept": polished[0], "coef": polished[1]}))
    report["best_objective"] = best if np.isfinite(best) else None
    fast = next((r for r in scored if r["tool"] == "fastlogit"), None)
    for r in scored:
        r["gap"] = _gap(r["objective"], best)
        for rung in r.get("ladder", []):
            rung["gap"] = _gap(rung["objective"], best)
        if r.get("n_eval"):
            r["s_per_eval"] = r["fit_s"] / r["n_eval"]
            r["x_floor"] = r["s_per_eval"] / report["floor_s"]
        if fast is not None:
            r["x_fastlogit"] = r["fit_s"] / fast["fit_s"]
        r.pop("_coef")
    report["rows"] = rows
    report["load_after"] = load_average()
    return report


# -- command line ----------------------------------------------------------------------------

def _parse_overrides(items: list) -> dict:
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        tool, dot, setting = key.partition(".")
        if not sep or not dot or tool not in peers.TOOLS:
            raise SystemExit(f"--set expects TOOL.KEY=VALUE with TOOL in {list(peers.TOOLS)}; "
                             f"got {item!r}")
        out.setdefault(tool, {})[setting] = peers.parse_value(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="fastlogit side by side with scikit-learn, glum, statsmodels and numpy + "
                    "L-BFGS-B on one problem, each fit in its own subprocess.",
    )
    p.add_argument("--problem", default="sparse-1m", choices=problems.problem_names())
    p.add_argument("--tools", default=",".join(peers.DEFAULT_TOOLS),
                   help=f"comma-separated, from {', '.join(peers.TOOLS)} "
                        f"(default: {','.join(peers.DEFAULT_TOOLS)})")
    p.add_argument("--repeats", type=int, default=3, help="fits per tool (median; default 3)")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1),
                   help="threads for every tool (default 2)")
    p.add_argument("--lam", type=float, default=None, help="L2 penalty (default: 1.0)")
    p.add_argument("--quick", action="store_true", help="the problem's small smoke-test size")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="TOOL.KEY=VALUE",
                   help="override a tool setting, e.g. --set sklearn.tol=1e-6 (repeatable)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per fit (default 3600)")
    p.add_argument("--target-gap", type=float, default=1e-9,
                   help="tune each tool to the loosest setting reaching this relative gap "
                        "(default 1e-9)")
    p.add_argument("--no-tune", action="store_true",
                   help="use each tool's fixed default settings, no tuning")
    p.add_argument("--out", type=Path, default=problems.DEFAULT_CACHE / "results",
                   help="directory for <problem>.md, .json and .png "
                        "(default benchmarks/.cache/results)")
    p.add_argument("--child", metavar="SPEC", help=argparse.SUPPRESS)
    return p


def main(argv: Optional[list] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return _child_main(args.child)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in peers.TOOLS]
    if unknown:
        raise SystemExit(f"unknown tool(s) {unknown}; choose from {list(peers.TOOLS)}")
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    report = compare(args.problem, tools, repeats=args.repeats, threads=args.threads,
                     lam=args.lam, quick=args.quick, overrides=_parse_overrides(args.overrides),
                     target_gap=None if args.no_tune else args.target_gap,
                     timeout=args.timeout)
    report["command"] = "python -m benchmarks.compare " + " ".join(
        sys.argv[1:] if argv is None else argv)
    text = render_markdown(report)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{args.problem}{'-quick' if args.quick else ''}"
    stem.with_suffix(".md").write_text(f"`{report['command']}`\n\n{text}")
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1, default=float))
    chart = render_chart(report, stem.with_suffix(".png"))
    print(f"wrote {stem}.md, {stem}.json" + (f", {chart}" if chart else
                                            " (no chart: pip install matplotlib)"),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
