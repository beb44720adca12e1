"""What the machine can do: memory read bandwidth, measured in the same run as the benchmarks."""

from __future__ import annotations

import os
import platform
import threading
import time

import numpy as np


def read_bandwidth(threads: int = 1, nbytes: int = 1 << 30, repeats: int = 5) -> float:
    """Bytes per second that `threads` threads read from memory (median of repeats).

    Each thread sums its own part of a 1 GiB float64 array (numpy releases the
    GIL in the reduction), far larger than any cache.
    """
    a = np.ones(nbytes // 8)
    parts = np.array_split(a, threads)
    times = []
    for _ in range(repeats):
        ts = [threading.Thread(target=np.add.reduce, args=(p,)) for p in parts]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        times.append(time.perf_counter() - t0)
    return a.nbytes / float(np.median(times))


def describe() -> str:
    import scipy

    import fastlogit
    from fastlogit import _kernels

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores | Python {platform.python_version()}, numpy "
            f"{np.__version__}, scipy {scipy.__version__}, fastlogit {fastlogit.__version__} "
            f"(OpenMP {'on' if _kernels.openmp_enabled() else 'off'}, "
            f"default threads {_kernels.openmp_max_threads()})")
