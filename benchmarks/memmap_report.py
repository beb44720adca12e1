"""Fitting a CSR data set from memory-mapped .npy files, and what the page cache does.

    python benchmarks/memmap_report.py                     # 2 GB of CSR on disk
    python benchmarks/memmap_report.py --gb 0.2 --quick    # a smoke run
    python benchmarks/memmap_report.py --dir /big/disk     # where to write the files

The data (make_sparse_binomial's one-hot rows: 32 nonzeros per row, 100,000 columns,
float64 values, int32 indices) are written chunk by chunk with
numpy.lib.format.open_memmap, so the writer never holds them either. The fits open them
with np.load(..., mmap_mode="r") and build a scipy CSR matrix on the mapped arrays:
nothing is read into memory first and nothing is copied (checked: the validated design
shares memory with the mapped files).

Memory. The process's *own* (anonymous) memory is what a memory limit must hold: the
mapped file's pages are page cache, which the kernel evicts and re-reads as needed. A
sampler thread records peak RssAnon and RssFile from /proc/self/status during each fit.
How to impose a limit (what we found on Linux; benchmarks/memlimit_report.py does it):
  * ``systemd-run --user --scope -p MemoryMax=1G python ...`` (cgroup v2): the right
    tool where a user systemd session exists (page cache is charged to the cgroup but is
    reclaimable, so the fit runs with a file larger than the limit). As root, a cgroup
    made directly in /sys/fs/cgroup (v2 or v1) does the same: memlimit_report.py.
  * ``ulimit -v`` / RLIMIT_AS is the wrong tool: it limits address space, and a mapping
    of a 2 GB file takes 2 GB of address space whether or not it is resident, so the
    np.load itself fails under a limit smaller than the file.
  * RLIMIT_RSS is not enforced by Linux.

Page cache. Each fit runs twice: "cold" after posix_fadvise(DONTNEED) on the files
(which evicts their clean pages from the page cache, for this file only; no global
cache drop), then "warm" with the pages cached. A cold pass reads the file from disk at
the disk's speed; a warm pass runs at memory speed, as the in-memory fit does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fastlogit  # noqa: E402
from benchmarks import machine  # noqa: E402
from fastlogit._input._validate import as_design  # noqa: E402
from fastlogit.datasets import make_sparse_binomial  # noqa: E402

NNZ, FEATURES = 32, 100_000
NAMES = ("data", "indices", "indptr", "n", "k")


def write(folder: Path, n_rows: int, chunk: int = 500_000) -> None:
    """The CSR arrays and counts as .npy files, written chunk by chunk."""
    from numpy.lib.format import open_memmap

    out = {
        "data": open_memmap(folder / "data.npy", "w+", np.float64, (n_rows * NNZ,)),
        "indices": open_memmap(folder / "indices.npy", "w+", np.int32, (n_rows * NNZ,)),
        "indptr": open_memmap(folder / "indptr.npy", "w+", np.int64, (n_rows + 1,)),
        "n": open_memmap(folder / "n.npy", "w+", np.float64, (n_rows,)),
        "k": open_memmap(folder / "k.npy", "w+", np.float64, (n_rows,)),
    }
    out["indptr"][:] = np.arange(0, n_rows * NNZ + 1, NNZ, dtype=np.int64)
    for i, r0 in enumerate(range(0, n_rows, chunk)):
        r1 = min(r0 + chunk, n_rows)
        part = make_sparse_binomial(r1 - r0, FEATURES, NNZ, seed=1000 + i)
        out["data"][r0 * NNZ:r1 * NNZ] = part.X.data
        out["indices"][r0 * NNZ:r1 * NNZ] = part.X.indices
        out["n"][r0:r1] = part.n
        out["k"][r0:r1] = part.k
    for arr in out.values():
        arr.flush()
    del out


def evict(folder: Path) -> None:
    """Drop the files' pages from the page cache (clean pages of these files only)."""
    for name in NAMES:
        fd = os.open(folder / f"{name}.npy", os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def open_mapped(folder: Path):
    mm = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in NAMES}
    n_rows = mm["n"].shape[0]
    X = sp.csr_matrix((mm["data"], mm["indices"], mm["indptr"]), shape=(n_rows, FEATURES))
    design = as_design(X)
    assert np.shares_memory(design.values, mm["data"]), "the data were copied"
    assert np.shares_memory(design.indices, mm["indices"]), "the indices were copied"
    return X, mm["n"], mm["k"]


class PeakMemory:
    """Peak RssAnon / RssFile (MiB) of this process while the block runs."""

    def __enter__(self):
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        with open("/proc/self/status") as fh:
            for line in fh:
                key = line.split(":")[0]
                if key in self.peak:
                    self.peak[key] = max(self.peak[key], int(line.split()[1]) // 1024)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def cached_mib(folder: Path) -> float:
    """MiB of the files in the page cache (util-linux fincore), or nan without it."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES",
                              *[str(folder / f"{name}.npy") for name in NAMES]],
                             capture_output=True, text=True, check=True).stdout
        return sum(int(x) for x in out.split()) / 2**20
    except (OSError, subprocess.CalledProcessError, ValueError):
        return float("nan")


def timed_fit(label: str, X, n, k, kw: dict) -> dict:
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        res = fastlogit.fit(X, n, k, **kw)
        dt = time.perf_counter() - t0
    print(f"  {label:26s} {dt:8.2f} s   F = {res.objective:.6f}   iterations {res.n_iter:3d}"
          f"   peak RssAnon {mem.peak['RssAnon']:5d} MiB, RssFile {mem.peak['RssFile']:5d} MiB")
    return {"coef": np.array(res.coef), "time": dt}  # no reference to the mapped arrays


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0, help="size of the CSR data on disk")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    ap.add_argument("--lbfgs-iter", type=int, default=20)
    ap.add_argument("--sgd-epochs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the in-memory comparison")
    args = ap.parse_args()
    print(machine.describe())
    n_rows = int(args.gb * 2**30 / (NNZ * 12))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write(folder, n_rows)
        size = sum((folder / f"{name}.npy").stat().st_size for name in NAMES)
        print(f"wrote {n_rows:,} rows x {FEATURES:,} features ({n_rows * NNZ:,} nonzeros), "
              f"{size / 2**30:.2f} GiB in {time.perf_counter() - t0:.1f} s to {folder}")
        for state in ("cold", "warm"):
            if state == "cold":
                evict(folder)
            t0 = time.perf_counter()
            total = 0.0
            for name in ("data", "indices"):
                arr = np.load(folder / f"{name}.npy", mmap_mode="r")
                for lo in range(0, arr.shape[0], 1 << 24):  # 16M entries at a time
                    total += float(np.add.reduce(arr[lo:lo + (1 << 24)], dtype=np.float64))
                del arr
            dt = time.perf_counter() - t0
            print(f"one {state} sequential read of data + indices: {dt:.2f} s "
                  f"({(size / 2**30) / dt:.2f} GiB/s)")
        opts = {"lbfgs": dict(lam=1.0, max_iter=args.lbfgs_iter),
                "sgd": dict(lam=1.0, solver="sgd", max_iter=args.sgd_epochs, random_state=0)}
        mapped = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
            print("memory-mapped (np.load(mmap_mode='r')); cold = the files' pages evicted "
                  "first (no mapping alive, posix_fadvise DONTNEED):")
            for name, kw in opts.items():
                evict(folder)
                print(f"  page cache holds {cached_mib(folder):.0f} MiB of the files before "
                      f"the cold {name} fit")
                X, n, k = open_mapped(folder)
                timed_fit(f"{name} cold", X, n, k, kw)
                mapped[name] = timed_fit(f"{name} warm (pages cached)", X, n, k, kw)
                del X, n, k  # unmap, so that the next eviction can drop the pages
            if not args.quick:
                X, n, k = open_mapped(folder)
                Xm = sp.csr_matrix((np.array(X.data), np.array(X.indices),
                                    np.array(X.indptr)), shape=X.shape)
                nm, km = np.array(n), np.array(k)
                del X, n, k
                print("in memory (the same arrays read into RAM first):")
                for name, kw in opts.items():
                    res = timed_fit(f"{name} in memory", Xm, nm, km, kw)
                    same = np.array_equal(res["coef"], mapped[name]["coef"])
                    print(f"    coefficients bitwise equal to the memory-mapped fit: {same}")


if __name__ == "__main__":
    main()
