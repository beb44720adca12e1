"""What the machine can do and what it is doing: memory read bandwidth (measured in the
same run as the benchmarks), peak resident memory of a block of code, load, versions."""

from __future__ import annotations

import importlib
import os
import platform
import resource
import sys
import threading
import time
from typing import Any, Optional

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


def load_average() -> Optional[list]:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def cpu_name() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def memory_total() -> Optional[int]:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def versions(packages: tuple = ("sklearn", "glum", "statsmodels", "threadpoolctl")) -> dict:
    """{package: version} of the installed peers (missing ones left out)."""
    out = {}
    for name in packages:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        out[{"sklearn": "scikit-learn"}.get(name, name)] = getattr(mod, "__version__", "?")
    return out


def describe() -> str:
    """CPU, cores, memory, Python and library versions, fastlogit's build and default threads."""
    import scipy

    import fastlogit
    from fastlogit._core import _kernels

    total = memory_total()
    mem = f", {total / 2**30:.0f} GiB" if total else ""
    return (f"{cpu_name()}, {os.cpu_count()} cores{mem} | Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, fastlogit "
            f"{fastlogit.__version__} (OpenMP {'on' if _kernels.openmp_enabled() else 'off'}, "
            f"default threads {_kernels.openmp_max_threads()})")


# ---------------------------------------------------------------------------
# Peak resident memory of a block


def _status_kib(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_high_water_mark() -> bool:
    """Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


class PeakMemory:
    """Peak resident memory inside ``with`` above the resident memory at its start.

    Linux: the kernel's own high-water mark (VmHWM), reset on entry, so nothing
    is sampled and nothing is missed. Elsewhere: psutil sampling every 2 ms
    (short spikes may be missed), or, without psutil, getrusage's lifetime
    maximum (only growth beyond the process's earlier peak is seen).

    Examples
    --------
    >>> with PeakMemory() as mem:
    ...     a = np.ones(10_000_000)
    >>> mem.peak_above_start > 70e6
    True
    """

    def __init__(self) -> None:
        self.method = ""
        self.start = 0
        self.peak = 0
        self._sampler: Any = None
        self._stop = threading.Event()

    @staticmethod
    def current() -> int:
        """Resident memory now, bytes."""
        kib = _status_kib("VmRSS")
        if kib is not None:
            return kib * 1024
        try:
            import psutil

            return int(psutil.Process().memory_info().rss)
        except ImportError:
            return _maxrss()

    @property
    def peak_above_start(self) -> int:
        return max(0, self.peak - self.start)

    def __enter__(self) -> PeakMemory:
        self.start = self.current()
        if _reset_high_water_mark():
            self.method = "VmHWM"
            return self
        try:
            import psutil
        except ImportError:
            self.method = "ru_maxrss"
            return self
        self.method = "psutil 2 ms"
        proc = psutil.Process()
        self.peak = self.start
        self._stop.clear()

        def sample() -> None:
            while not self._stop.wait(0.002):
                self.peak = max(self.peak, int(proc.memory_info().rss))

        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.method == "VmHWM":
            self.peak = (_status_kib("VmHWM") or 0) * 1024
        elif self._sampler is not None:
            self._stop.set()
            self._sampler.join()
            self.peak = max(self.peak, self.current())
        else:
            self.peak = _maxrss()


def _maxrss() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # bytes on macOS, KiB on Linux
