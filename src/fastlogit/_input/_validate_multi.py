"""Validation of multinomial targets and per-class arrays (the companion of _validate.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from fastlogit._input._validate import _all_finite, _first_nonfinite, _real_dtype_or_raise


def as_real_matrix(value: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A finite float64 C-contiguous array of exactly ``shape`` (no copy when it is one)."""
    if sp.issparse(value):
        raise TypeError(f"{name} must be a dense array of shape {shape}, not a sparse matrix; "
                        f"use {name}.toarray()")
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a numeric array of shape {shape}")
    arr = np.asarray(value)
    _real_dtype_or_raise(arr.dtype, name)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (rows of X x classes); "
                         f"got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not _all_finite(arr):
        pos = _first_nonfinite(arr.reshape(-1))
        i, k = divmod(pos, shape[1])
        raise ValueError(f"{name} contains NaN or infinity (row {i}, column {k})")
    return arr


@dataclass(frozen=True)
class ClassTargets:
    """Multinomial targets: either class indices with their labels, or a count matrix."""

    n_classes: int
    labels: Optional[np.ndarray]  # (n_rows,) intp in [0, K)
    classes: Optional[np.ndarray]  # (K,) sorted class labels, with labels
    counts: Optional[np.ndarray]  # (n_rows, K) float64 C-order


def encode_labels(y: Any, n_rows: int, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Class labels -> (sorted classes, intp index of each row's class)."""
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array of class labels")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one class label per row); got shape {arr.shape}. "
            "For a matrix of class counts use counts= instead."
        )
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_rows} rows")
    if arr.dtype.kind == "f" and not _all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinity (row {_first_nonfinite(arr)})")
    if arr.dtype.kind == "O" and any(v is None for v in arr):
        raise ValueError(f"{name} contains None; every row needs a class label")
    try:
        classes, index = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"{name} holds labels that cannot be sorted ({exc}); "
                        "use labels of one type") from exc
    return classes, np.ascontiguousarray(index.reshape(-1), dtype=np.intp)


def as_class_targets(y: Any, counts: Any, n_rows: int) -> ClassTargets:
    """Validate y= (labels, >= 2 classes) or counts= (n_rows x K, K >= 2, >= 0)."""
    if (y is None) == (counts is None):
        raise TypeError("give either y= (one class label per row) or counts= "
                        "(an n_rows x n_classes matrix of counts), not both and not neither")
    if y is not None:
        classes, index = encode_labels(y, n_rows)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y has a single class ({classes[0]!r}) but multinomial regression needs at "
                "least 2 classes"
            )
        return ClassTargets(int(classes.shape[0]), index, classes, None)
    if sp.issparse(counts):
        counts = counts.toarray()  # an n_rows x K matrix is small next to X
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise ValueError(f"counts must be 2-D (rows of X x classes); got shape {arr.shape}")
    K = arr.shape[1]
    if K < 2:
        raise ValueError(f"counts has {K} column(s) but multinomial regression needs at least "
                         "2 classes")
    arr = as_real_matrix(arr, "counts", (n_rows, K))
    if n_rows and arr.min() < 0:
        i, k = divmod(int(np.argmin(arr)), K)
        raise ValueError(f"counts must be >= 0; row {i}, class {k} has {arr[i, k]:g}")
    return ClassTargets(K, None, None, arr)
