"""A fit of memory-mapped CSR data larger than the memory the process may use.

    sudo python benchmarks/memlimit_report.py                   # 2 GB of data, 768 MiB limit
    sudo python benchmarks/memlimit_report.py --gb 4 --limit-mb 1024 --dir /big/disk

The data are written as in memmap_report.py (.npy files, chunk by chunk). The fits then
run in a child process placed in a Linux memory cgroup whose limit is smaller than the
files: cgroup v2 (``memory.max``) where the unified hierarchy has the memory controller,
else cgroup v1 (``memory.limit_in_bytes``). Creating a cgroup needs root (or a delegated
subtree); ``systemd-run --user --scope -p MemoryMax=...`` is the unprivileged route
where a user systemd session exists. The limit counts the child's own memory *and* the
page cache its reads bring in, so the kernel must evict pages of the mapped file while
the fit runs: it does (they are clean file pages, re-read on the next pass), and the fit
finishes with the same coefficients as an unlimited fit of the same files.

Reported: wall time and coefficients of lbfgs and sgd fits inside the limit and outside
it (both from the memory-mapped files, each after evicting the files from the page
cache), the cgroup's peak usage and how often it hit the limit (v1: failcnt; v2: the
"max" count of memory.events), and the child's peak anonymous memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.memmap_report import FEATURES, NNZ, evict, write  # noqa: E402

# The child: open the files memory-mapped, fit, and print one JSON line.
CHILD = r"""
import json, sys, time, numpy as np
sys.path.insert(0, {root!r})
import fastlogit
from benchmarks.memmap_report import PeakMemory, open_mapped
from pathlib import Path
X, n, k = open_mapped(Path({folder!r}))
kw = json.loads({kw!r})
with PeakMemory() as mem:
    t0 = time.perf_counter()
    res = fastlogit.fit(X, n, k, **kw)
    dt = time.perf_counter() - t0
print(json.dumps(dict(time=dt, objective=res.objective, n_iter=res.n_iter,
                      coef=np.asarray(res.coef).tolist(), intercept=res.intercept,
                      rss_anon=mem.peak["RssAnon"], rss_file=mem.peak["RssFile"])))
"""


class MemoryCgroup:
    """A memory cgroup with a byte limit (v2 preferred, v1 otherwise); removed on exit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.path: Path | None = None
        self.version = 0

    def __enter__(self) -> MemoryCgroup:
        name = f"fastlogit-memlimit-{os.getpid()}"
        v2 = Path("/sys/fs/cgroup")
        if not (v2 / "cgroup.controllers").exists():
            v2 = Path("/sys/fs/cgroup/unified")
        v1 = Path("/sys/fs/cgroup/memory")
        errors = []
        if "memory" in _read(v2 / "cgroup.controllers").split():
            try:
                path = v2 / name
                path.mkdir()
                (path / "memory.max").write_text(str(self.limit))
                if (path / "memory.swap.max").exists():
                    (path / "memory.swap.max").write_text("0")
                self.path, self.version = path, 2
                return self
            except OSError as exc:
                errors.append(f"cgroup v2 at {v2}: {exc}")
        if (v1 / "memory.limit_in_bytes").exists():
            try:
                path = v1 / name
                path.mkdir()
                (path / "memory.limit_in_bytes").write_text(str(self.limit))
                self.path, self.version = path, 1
                return self
            except OSError as exc:
                errors.append(f"cgroup v1 at {v1}: {exc}")
        raise SystemExit("cannot create a memory cgroup (run as root, or use systemd-run "
                         "--user --scope -p MemoryMax=...): " + "; ".join(errors or
                                                                         ["no memory controller"]))

    def enter(self) -> None:
        """Move the calling process into the cgroup (a child's preexec_fn)."""
        assert self.path is not None
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def stats(self) -> dict:
        assert self.path is not None
        if self.version == 1:
            return {"peak_mib": int(_read(self.path / "memory.max_usage_in_bytes")) / 2**20,
                    "limit_hits": int(_read(self.path / "memory.failcnt"))}
        events = dict(line.split() for line in _read(self.path / "memory.events").splitlines())
        peak = _read(self.path / "memory.peak")  # kernels >= 5.19
        return {"peak_mib": int(peak) / 2**20 if peak else float("nan"),
                "limit_hits": int(events.get("max", 0))}

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            for _ in range(50):  # the child has exited; its charge may take a moment to go
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def run_child(folder: Path, kw: dict, cgroup: MemoryCgroup | None) -> dict:
    root = str(Path(__file__).resolve().parents[1])
    code = CHILD.format(root=root, folder=str(folder), kw=json.dumps(kw))
    evict(folder)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         preexec_fn=cgroup.enter if cgroup is not None else None)
    if out.returncode != 0:
        raise SystemExit(f"the fit failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, default=2.0, help="size of the CSR data on disk")
    ap.add_argument("--limit-mb", type=float, default=768.0, help="the cgroup's memory limit")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    ap.add_argument("--lbfgs-iter", type=int, default=10)
    ap.add_argument("--sgd-epochs", type=int, default=2)
    args = ap.parse_args()

    row_bytes = NNZ * (8 + 4) + 8 + 8 + 8
    n_rows = int(args.gb * 2**30 / row_bytes)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write(folder, n_rows)
        size = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        print(f"data: {n_rows:,} x {FEATURES:,} CSR, {NNZ} nonzeros per row: {size:,.0f} MiB "
              f"on disk (written in {time.perf_counter() - t0:.1f} s); memory limit "
              f"{args.limit_mb:,.0f} MiB ({args.limit_mb / size:.0%} of the data)")
        fits = {"lbfgs": dict(lam=1.0, max_iter=args.lbfgs_iter),
                "sgd": dict(lam=1.0, solver="sgd", max_iter=args.sgd_epochs, random_state=0)}
        for name, kw in fits.items():
            free = run_child(folder, kw, None)
            with MemoryCgroup(int(args.limit_mb * 2**20)) as cg:
                limited = run_child(folder, kw, cg)
                stats = cg.stats()
            same = np.array_equal(free["coef"], limited["coef"]) and \
                free["intercept"] == limited["intercept"]
            print(f"{name} ({kw}):\n"
                  f"  no limit:   {free['time']:7.2f} s, {free['n_iter']} iterations, "
                  f"peak own memory {free['rss_anon']} MiB\n"
                  f"  cgroup v{cg.version} limit {args.limit_mb:,.0f} MiB: "
                  f"{limited['time']:7.2f} s, "
                  f"peak own memory {limited['rss_anon']} MiB, cgroup peak "
                  f"{stats['peak_mib']:,.0f} MiB, limit reached {stats['limit_hits']:,} times\n"
                  f"  coefficients bitwise equal: {same}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
