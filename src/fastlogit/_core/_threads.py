"""The one place that turns a user's ``threads=`` into a kernel thread count."""

from __future__ import annotations

import numbers
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

from fastlogit._core._kernels import openmp_max_threads


def resolve_threads(threads: Optional[int]) -> int:
    """Number of threads for the compiled kernels.

    Parameters
    ----------
    threads : int or None
        ``None`` follows OpenMP's own default, which honours ``OMP_NUM_THREADS``
        and limits set with ``threadpoolctl.threadpool_limits``; ``-1`` means
        every core of the machine; a positive integer is used as given.

    Returns
    -------
    int >= 1. Results depend on this number (the rows are split into that many
    ranges) but never on scheduling: a given count is bitwise reproducible.

    Raises
    ------
    TypeError, ValueError
        For anything but None, -1 or a positive integer.
    """
    if threads is None:
        return max(1, int(openmp_max_threads()))
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be None, -1 or a positive integer, got {threads!r}")
    if threads == -1:
        return max(1, os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(
            f"threads must be None (follow OMP_NUM_THREADS/threadpoolctl), -1 (all cores) "
            f"or a positive integer; got {threads}"
        )
    return int(threads)


# ---------------------------------------------------------------------------
# BLAS threads during L-BFGS-B
#
# scipy's L-BFGS-B does its vector algebra (ddot, daxpy) through OpenBLAS,
# which threads those calls for vectors longer than ~10^4 and then leaves its
# worker threads spinning for ~0.1 s. On a wide problem every iteration then
# runs our OpenMP kernel against spinning BLAS workers: measured 1.7x slower
# per evaluation on 1M x 100k CSR with 2 cores. While any fastlogit solver
# runs, BLAS is therefore limited to one thread (those calls are tiny) with
# threadpoolctl, when it is installed. The limit is process-wide (that is how
# BLAS libraries work), so it is reference-counted: concurrent fits from
# several threads set it once and the last one out restores the original.

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None
# The scan of the loaded libraries (/proc/self/maps) costs ~3 ms, as much as a whole
# small fit: it is done once, at the first fit, and its controller reused.
_blas_controller: Any = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread for the duration (no-op without threadpoolctl)."""
    global _blas_users, _blas_limiter, _blas_controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it, wide fits are slower, never wrong
        yield
        return
    with _blas_lock:
        if _blas_users == 0:
            if _blas_controller is None:
                _blas_controller = ThreadpoolController()
            _blas_limiter = _blas_controller.limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
