"""What both public objectives share: checks of theta, directions and ``out=`` buffers,
and the thread count they keep."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads


def as_params(value: Any, name: str, n_params: int) -> np.ndarray:
    """A finite float64 C-contiguous vector of length n_params (no copy when it is one)."""
    if not isinstance(value, np.ndarray):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a real vector of length {n_params}; got "
                            f"{type(value).__name__} ({exc})") from None
    else:
        arr = value
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


def no_nan(result: Any) -> Any:
    """``result`` (a number, an array or a tuple of them), or a ValueError naming theta when
    it holds NaN. With finite, validated inputs a NaN can only come from scores x_i . w
    that overflow float64 (|z| > 1.8e308: inf - inf, 0 * inf); the true value is then not
    representable, which is said rather than returned as NaN."""
    parts = result if isinstance(result, tuple) else (result,)
    if any(np.isnan(np.asarray(part, dtype=np.float64)).any() for part in parts):
        raise ValueError("theta: the scores X @ coef overflow float64 at this theta (|z| "
                         "beyond 1.8e308), so the objective is not representable there; "
                         "use smaller coefficients or rescale the columns of X")
    return result


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
