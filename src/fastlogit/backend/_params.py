"""What both public objectives share: checks of theta, directions and ``out=`` buffers,
and the thread count they keep."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads


def as_params(value: Any, name: str, n_params: int) -> np.ndarray:
    """A finite float64 C-contiguous vector of length n_params (no copy when it is one)."""
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, np.ndarray) else value
    if arr.dtype != np.float64:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real vector of length {n_params}; "
                            f"got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim != 1 or arr.shape[0] != n_params:
        raise ValueError(f"{name} must have shape ({n_params},) (n_params); got {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite; entry {bad} is {arr[bad]}")
    return np.ascontiguousarray(arr)


def as_out(out: Optional[np.ndarray], n_params: int) -> np.ndarray:
    """The caller's output buffer (checked, written in place) or a new one."""
    if out is None:
        return np.empty(n_params, dtype=np.float64)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array of shape ({n_params},) and dtype float64")
    if out.shape != (n_params,) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape ({n_params},); "
                         f"got shape {out.shape}, dtype {out.dtype}")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    return out


class ThreadsMixin:
    """The kernels' thread count, resolved once (an int, or None for the default rule)."""

    _threads: int

    def _set_threads(self, threads: Optional[int]) -> None:
        self._threads = resolve_threads(threads)

    @property
    def threads(self) -> int:
        """Threads each kernel call uses (resolved when the objective was made)."""
        return self._threads
