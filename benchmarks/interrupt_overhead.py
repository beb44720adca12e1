"""What the kernels' Ctrl-C polling costs: one loss+gradient evaluation, base vs head.

    python -m benchmarks.interrupt_overhead --base /path/to/other/tree [--rounds 30]

``--base`` is another built checkout (``setup.py build_ext --inplace`` done), e.g. the
commit before the polling went in; the head is this tree. Both compiled
``fastlogit._core._kernels`` modules are loaded into this one process (from their files) and
called alternately, base then head then base ..., on the same arrays, so that drifting
machine load hits both alike. Each round times one evaluation of each per thread
count; the medians over the rounds are printed with the ratio head / base. This is the
main thread, so the polling is live (the calling thread adds up the work done and takes
the GIL for PyErr_CheckSignals about every 2^24 units).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import numpy as np

HEAD = Path(__file__).resolve().parents[1]


def _load_kernels(tree: Path):
    """The compiled fastlogit._core._kernels of a built tree, as a separate module object."""
    (so,) = sorted((tree / "src" / "fastlogit").glob("_kernels.*.so")) or sorted(
        (tree / "src" / "fastlogit").glob("_kernels.*.pyd"))
    spec = importlib.util.spec_from_file_location("fastlogit._core._kernels", so)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    from benchmarks.problems import load
    from fastlogit._input._validate import as_design

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path, help="another built checkout")
    parser.add_argument("--problem", default="sparse-1m")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args(argv)
    kernels = {"base": _load_kernels(args.base.resolve()), "head": _load_kernels(HEAD)}
    threads = [int(t) for t in args.threads.split(",")]
    prob = load(args.problem)
    design = as_design(prob.X)
    g = np.empty(design.n_features)
    times: dict[tuple[str, int], list[float]] = {(n, t): [] for n in kernels for t in threads}
    answers = {}
    for r in range(args.rounds + 1):
        order = list(kernels) if r % 2 == 0 else list(reversed(kernels))
        for t in threads:
            for name in order:
                start = time.perf_counter()
                loss, _ = kernels[name].binomial_loss_grad(
                    *design.kernel_args, prob.n, prob.k, None, prob.coef, -0.5, g, t)
                if r > 0:  # round 0 warms up
                    times[name, t].append(time.perf_counter() - start)
                answers[name, t] = loss
    assert answers["base", threads[0]] == answers["head", threads[0]]
    print(f"{args.problem}: {design.n_rows:,} x {design.n_features:,}, "
          f"{design.values.shape[0]:,} stored values; binomial_loss_grad, {args.rounds} "
          f"alternating rounds; load average {os.getloadavg()[0]:.2f}")
    print(f"  base {args.base.resolve()}\n  head {HEAD}")
    for t in threads:
        base = statistics.median(times["base", t])
        head = statistics.median(times["head", t])
        wins = sum(h < b for h, b in zip(times["head", t], times["base", t]))
        print(f"  threads={t}: base {base * 1e3:7.2f} ms   head {head * 1e3:7.2f} ms   "
              f"head/base {head / base:.3f}   (head faster in {wins}/{args.rounds} rounds)")


if __name__ == "__main__":
    main()
