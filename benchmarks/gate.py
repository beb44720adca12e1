"""Benchmark regression gate: is the head slower than the base?

A case regresses when the head is slower than the base by BOTH more than 15 %
AND more than 0.05 s (its median time per round, from pytest-benchmark's JSON).
Both margins must be exceeded: the relative one ignores noise on long cases,
the absolute one noise on short ones (so a case of a few milliseconds can never
fail the gate; it shows in the table all the same).

Compare two result files (exit status 1 on a regression):

    python -m benchmarks.gate compare base.json head.json

Benchmark a base commit against the working tree, on this machine, in one command
(the base is checked out into a temporary git worktree; both are built in place
and run their own benchmarks/ suite, one after the other, with a shared data cache):

    python -m benchmarks.gate run --base main
    python -m benchmarks.gate run --base main --quick -k eval     # a quick look

The GitHub workflow .github/workflows/benchmarks.yml runs the second command on
every pull request, base against head on the same runner.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

REL_MARGIN = 0.15
ABS_MARGIN = 0.05  # seconds
STATS = ("median", "min", "mean")


@dataclass(frozen=True)
class Change:
    """One case, base against head. ``base``/``head`` in seconds, None when absent."""

    name: str
    base: Optional[float]
    head: Optional[float]
    status: str  # "regression", "improvement", "same", "new", "removed"

    @property
    def ratio(self) -> Optional[float]:
        if self.base is None or self.head is None or self.base <= 0:
            return None
        return self.head / self.base


def case_times(results: Any, stat: str = "median") -> dict:
    """{case fullname: seconds} from pytest-benchmark JSON (a path, a JSON string's dict).

    Raises
    ------
    ValueError
        When the data is not pytest-benchmark output or ``stat`` is unknown.
    """
    if stat not in STATS:
        raise ValueError(f"stat must be one of {STATS}; got {stat!r}")
    if isinstance(results, (str, Path)):
        path = Path(results)
        try:
            results = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
    benches = results.get("benchmarks") if isinstance(results, dict) else None
    if not isinstance(benches, list):
        raise ValueError("not pytest-benchmark output: no 'benchmarks' list (write it with "
                         "pytest --benchmark-json=FILE)")
    out = {}
    for b in benches:
        stats = b.get("stats") or {}
        if stat not in stats:
            raise ValueError(f"case {b.get('fullname', '?')} has no {stat!r} statistic (was "
                             "the run made with --benchmark-disable?)")
        out[b["fullname"]] = float(stats[stat])
    return out


def classify(base: Optional[float], head: Optional[float], rel: float = REL_MARGIN,
             abs_s: float = ABS_MARGIN) -> str:
    """The status of one case: slower by both margins is a regression."""
    if base is None:
        return "new"
    if head is None:
        return "removed"
    if head > base * (1.0 + rel) and head - base > abs_s:
        return "regression"
    if base > head * (1.0 + rel) and base - head > abs_s:
        return "improvement"
    return "same"


def compare_times(base: dict, head: dict, rel: float = REL_MARGIN,
                  abs_s: float = ABS_MARGIN) -> list:
    """One ``Change`` per case in either run, in the head's order, then removed cases."""
    names = list(head) + [n for n in base if n not in head]
    return [Change(n, base.get(n), head.get(n), classify(base.get(n), head.get(n), rel, abs_s))
            for n in names]


def render(changes: list, rel: float = REL_MARGIN, abs_s: float = ABS_MARGIN,
           stat: str = "median") -> str:
    """A markdown report: the verdict, then every case."""
    bad = [c for c in changes if c.status == "regression"]
    verdict = (f"**{len(bad)} regression(s)**" if bad else "**no regression**")
    lines = [f"### Benchmark gate: {verdict}",
             "",
             f"A case regresses when the head's {stat} is slower than the base's by more than "
             f"{rel:.0%} and by more than {abs_s:g} s.",
             "",
             "| case | base s | head s | head / base | status |",
             "|---|--:|--:|--:|---|"]
    for c in sorted(changes, key=lambda c: (c.status != "regression", c.name)):
        base = "" if c.base is None else f"{c.base:.4f}"
        head = "" if c.head is None else f"{c.head:.4f}"
        ratio = "" if c.ratio is None else f"{c.ratio:.2f}"
        mark = "**REGRESSION**" if c.status == "regression" else c.status
        lines.append(f"| `{c.name}` | {base} | {head} | {ratio} | {mark} |")
    return "\n".join(lines) + "\n"


def combine(runs: list) -> dict:
    """Several rounds of {case: seconds} -> the fastest round of each case (noise only adds)."""
    out: dict = {}
    for times in runs:
        for name, t in times.items():
            out[name] = min(t, out.get(name, t))
    return out


# -- running both sides ---------------------------------------------------------------------

def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def _build(tree: Path) -> None:
    print(f"building {tree}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=tree,
                   check=True)


def _bench(tree: Path, json_path: Path, quick: bool, select: Optional[str], cache: Path,
           extra: list) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), str(tree)])
    env["FASTLOGIT_BENCH_CACHE"] = str(cache)
    if quick:
        env["FASTLOGIT_BENCH_QUICK"] = "1"
    else:
        env.pop("FASTLOGIT_BENCH_QUICK", None)
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
           f"--benchmark-json={json_path}", *extra]
    if select:
        cmd += ["-k", select]
    print(f"benchmarking {tree}: {' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=tree, env=env)
    if not json_path.exists():
        raise RuntimeError(f"the benchmarks of {tree} wrote no results (pytest exit status "
                           f"{proc.returncode})")
    if proc.returncode != 0:
        print(f"warning: pytest exited with {proc.returncode} in {tree}; comparing the cases "
              "that ran", file=sys.stderr)
    return case_times(json_path)


def run(base_ref: str, head: Path, out: Path, *, quick: bool = False,
        select: Optional[str] = None, rounds: int = 1, build_head: bool = True,
        extra: Optional[list] = None, rel: float = REL_MARGIN, abs_s: float = ABS_MARGIN,
        stat: str = "median") -> int:
    """Check ``base_ref`` out next to ``head``, build both, benchmark both, compare.

    Rounds alternate base, head, base, head, ...; a case keeps its fastest
    round on each side. Returns the exit status (1 on a regression).
    """
    head = head.resolve()
    out.mkdir(parents=True, exist_ok=True)
    sha = _git("rev-parse", "--verify", f"{base_ref}^{{commit}}", cwd=head)
    tmp = Path(tempfile.mkdtemp(prefix="fastlogit-gate-"))
    base = tmp / "base"
    cache = Path(os.environ.get("FASTLOGIT_BENCH_CACHE") or head / "benchmarks" / ".cache")
    try:
        _git("worktree", "add", "--detach", str(base), sha, cwd=head)
        _build(base)
        if build_head:
            _build(head)
        base_runs, head_runs = [], []
        for r in range(rounds):
            base_runs.append(_bench(base, out / f"base-{r + 1}.json", quick, select, cache,
                                    extra or []))
            head_runs.append(_bench(head, out / f"head-{r + 1}.json", quick, select, cache,
                                    extra or []))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=head,
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    changes = compare_times(combine(base_runs), combine(head_runs), rel, abs_s)
    return _report(changes, out / "gate.md", rel, abs_s, stat,
                   f"base {base_ref} ({sha[:10]}) against head {head}")


def _report(changes: list, path: Optional[Path], rel: float, abs_s: float, stat: str,
            title: str = "") -> int:
    text = render(changes, rel, abs_s, stat)
    if title:
        text = text.replace("\n\n", f"\n\n{title}.\n\n", 1)
    print(text)
    if path is not None:
        path.write_text(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as fh:
            fh.write(text)
    return 1 if any(c.status == "regression" for c in changes) else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gate",
                                description="Fail when benchmarks got slower by more than "
                                            "15 %% and more than 0.05 s.")
    p.add_argument("--rel", type=float, default=REL_MARGIN, help="relative margin (0.15)")
    p.add_argument("--abs", dest="abs_s", type=float, default=ABS_MARGIN,
                   help="absolute margin in seconds (0.05)")
    p.add_argument("--stat", choices=STATS, default="median",
                   help="pytest-benchmark statistic to compare (median)")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="compare two pytest-benchmark JSON files")
    c.add_argument("base", type=Path)
    c.add_argument("head", type=Path)
    c.add_argument("--markdown", type=Path, help="also write the report here")
    r = sub.add_parser("run", help="benchmark a base commit and this checkout, then compare")
    r.add_argument("--base", default="main", help="git ref of the base (default main)")
    r.add_argument("--head", type=Path, default=Path(__file__).resolve().parents[1],
                   help="the checkout to test (default: this one, as it is on disk)")
    r.add_argument("--out", type=Path, default=None,
                   help="directory for the JSON files and gate.md "
                        "(default: HEAD/benchmarks/.cache/gate)")
    r.add_argument("--quick", action="store_true", help="FASTLOGIT_BENCH_QUICK sizes")
    r.add_argument("-k", dest="select", help="pytest -k expression selecting cases")
    r.add_argument("--rounds", type=int, default=1,
                   help="alternate base and head this many times; fastest round wins")
    r.add_argument("--no-build-head", action="store_true",
                   help="the head is already built in place")
    return p


def main(argv: Optional[list] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "compare":
        try:
            changes = compare_times(case_times(args.base, args.stat),
                                    case_times(args.head, args.stat), args.rel, args.abs_s)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return _report(changes, args.markdown, args.rel, args.abs_s, args.stat)
    if args.rounds < 1:
        print("error: --rounds must be >= 1", file=sys.stderr)
        return 2
    out = args.out or args.head / "benchmarks" / ".cache" / "gate"
    return run(args.base, args.head, out, quick=args.quick, select=args.select,
               rounds=args.rounds, build_head=not args.no_build_head, rel=args.rel,
               abs_s=args.abs_s, stat=args.stat)


if __name__ == "__main__":
    sys.exit(main())
