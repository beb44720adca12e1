"""The one place that turns a user's ``threads=`` into a kernel thread count."""

from __future__ import annotations

import numbers
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

from fastlogit._core._kernels import openmp_max_threads

# The most threads a kernel is ever given: a larger ``threads`` is clamped to it
# (documented in resolve_threads). It does not depend on the machine, so results
# (which depend on the thread count) are the same everywhere for a given ``threads``;
# each kernel further caps it by the work it has (so small data never wakes a
# large team). Without a cap, threads=5000 made GNU OpenMP abort the process when it
# could not create the threads, and 2**40 overflowed the kernels' int.
MAX_THREADS = 256


def resolve_threads(threads: Optional[int]) -> int:
    """Number of threads for the compiled kernels.

    Parameters
    ----------
    threads : int or None
        ``None`` follows OpenMP's own default, which honours ``OMP_NUM_THREADS``
        and limits set with ``threadpoolctl.threadpool_limits``; ``-1`` means
        every core of the machine; a positive integer is used as given.

        A count above ``MAX_THREADS`` (256) is clamped to it.

    Returns
    -------
    int
        In [1, MAX_THREADS]. Results depend on this number (the rows are split into
        that many ranges) but never on scheduling: a given count is bitwise
        reproducible. In a child process made by ``fork`` the kernels keep the same
        ranges but run them one after another (GNU OpenMP's thread pool does not
        survive fork), so a forked child never hangs and gets the same results.

    Raises
    ------
    TypeError
        For anything but None or an integer (booleans and floats included).
    ValueError
        For 0 or a negative integer other than -1.

    Examples
    --------
    >>> resolve_threads(2), resolve_threads(2**40)
    (2, 256)
    """
    if threads is None:
        return min(MAX_THREADS, max(1, int(openmp_max_threads())))
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be None, -1 or a positive integer, got {threads!r}")
    if threads == -1:
        return min(MAX_THREADS, max(1, os.cpu_count() or 1))
    if threads < 1:
        raise ValueError(
            f"threads must be None (follow OMP_NUM_THREADS/threadpoolctl), -1 (all cores) "
            f"or a positive integer; got {threads}"
        )
    return int(min(threads, MAX_THREADS))


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

# Only Python's main thread touches the limit. With fits running from several Python
# threads, the last one out restored a count that another thread had set, and OpenBLAS
# (scipy's wheels, two copies loaded) kept ignoring that restore: eight threads whose
# first fits ran at once left BLAS on one thread for the rest of the process. The main
# thread sets and restores itself (read back and repeated until it holds); fits from
# other threads leave BLAS as it is (they only lose the speed-up on wide problems).

_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved: list = []  # (library controller, its thread count before the limit)
# The scan of the loaded libraries (/proc/self/maps) costs ~3 ms, as much as a whole
# small fit: it is done once, at the first fit, and its controller reused.
_blas_controller: Any = None
_RESTORE_ATTEMPTS = 50


def _blas_libraries() -> list:
    global _blas_controller
    from threadpoolctl import ThreadpoolController

    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return list(_blas_controller.select(user_api="blas").lib_controllers)


def _set_threads_checked(lib: Any, n: int) -> None:
    """lib.set_num_threads(n), read back and repeated (briefly) until it holds."""
    for _ in range(_RESTORE_ATTEMPTS):
        lib.set_num_threads(n)
        if lib.num_threads == n:
            return
        time.sleep(0.001)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread for the duration (no-op without threadpoolctl).

    Only in Python's main thread (a no-op in any other thread, see above), nested
    calls counted: the outermost saves every BLAS library's thread count and sets 1,
    and restores the saved counts (checked) on the way out, so the process is left as
    it was found.
    """
    global _blas_users, _blas_saved
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:  # optional: without it, wide fits are slower, never wrong
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _blas_lock:
        if _blas_users == 0:
            libs = _blas_libraries()
            _blas_saved = [(lib, lib.num_threads) for lib in libs]
            for lib, n in _blas_saved:
                if n != 1:
                    _set_threads_checked(lib, 1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for lib, n in _blas_saved:
                    if n != 1:
                        _set_threads_checked(lib, n)
                _blas_saved = []
