"""Turn user input into the kernels' arrays, or raise an error that says how to fix it.

Nothing malformed may reach the compiled kernels: they trust their inputs.
The caller's arrays are never modified and never copied when they already
have a supported layout:

* dense ``numpy.ndarray`` of float32/float64, C- or F-contiguous: used as is;
* scipy ``csr_matrix``/``csr_array`` with float32/float64 data and int32/int64
  indices: used as is.

Anything else that can be converted is converted once, at a cost this module
documents: other numeric dtypes -> float64 (a copy of X), non-contiguous
dense -> a C-ordered copy, other sparse formats (CSC, COO, ...) -> CSR via
``tocsr()`` (a copy of X plus scipy's conversion temporaries).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal, Optional

import numpy as np
import scipy.sparse as sp

LAYOUT_C, LAYOUT_F, LAYOUT_CSR = 0, 1, 2
_EMPTY_INDEX = np.empty(0, dtype=np.int32)
_EMPTY_INDEX.setflags(write=False)
# Chunk for scans that must not allocate O(size of X): 1M entries.
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Design:
    """A validated design matrix, as the kernels see it.

    ``kernel_args`` is ``(layout, values, indices, indptr, n_rows, n_features)``:
    the first six arguments of every compiled kernel. ``values`` is a 1-D view
    of the caller's memory (dense) or the CSR data array; dense layouts carry
    empty int32 index arrays.
    """

    layout: int
    values: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_rows: int
    n_features: int
    matrix: Any  # the validated X itself (ndarray or CSR), for numpy-side use
    unit_values: bool = False  # CSR whose stored values are all 1 (one-hot data)

    @property
    def kernel_args(self) -> tuple:
        return (self.layout, self.values, self.indices, self.indptr, self.n_rows, self.n_features)

    @property
    def is_sparse(self) -> bool:
        return self.layout == LAYOUT_CSR

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.indices.nbytes + self.indptr.nbytes)

    def __reduce__(self) -> tuple:
        """Pickle X once: ``values`` (and for CSR the index arrays) are views of the
        matrix's own memory, which pickle would otherwise write a second time."""
        if self.layout == LAYOUT_CSR:
            return (_rebuild_csr_design, (self.values, self.indices, self.indptr, self.n_rows,
                                          self.n_features, type(self.matrix),
                                          self.unit_values))
        return (_rebuild_dense_design, (self.matrix,))


def _rebuild_dense_design(matrix: np.ndarray) -> Design:
    if matrix.flags.c_contiguous:
        layout, values = LAYOUT_C, matrix.reshape(-1)
    else:
        layout, values = LAYOUT_F, matrix.reshape(-1, order="F")
    return Design(layout, values, _EMPTY_INDEX, _EMPTY_INDEX, matrix.shape[0], matrix.shape[1],
                  matrix)


def _rebuild_csr_design(values: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                        n_rows: int, n_features: int, kind: type, unit: bool) -> Design:
    matrix = kind((values, indices, indptr), shape=(n_rows, n_features), copy=False)
    return Design(LAYOUT_CSR, values, indices, indptr, n_rows, n_features, matrix, unit)


def _real_dtype_or_raise(dtype: np.dtype, name: str) -> None:
    if dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers; got dtype {dtype}. Convert it first, "
            f"e.g. {name}.astype(float)."
        )


def _first_nonfinite(a: np.ndarray) -> int:
    """Index of the first NaN/inf in a 1-D array, scanning in chunks (no big temporary)."""
    for start in range(0, a.shape[0], _CHUNK):
        bad = np.flatnonzero(~np.isfinite(a[start : start + _CHUNK]))
        if bad.size:
            return start + int(bad[0])
    return -1


def _all_finite(a: np.ndarray) -> bool:
    """True when every entry is finite, without an array-sized temporary.

    A float64 sum of finite numbers is NaN/inf only if an entry is, or if the
    sum overflows; the chunked exact scan settles the second case.
    """
    if a.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(a.reshape(-1, order="A"), dtype=np.float64)
    if np.isfinite(total):
        return True
    return _first_nonfinite(a.reshape(-1, order="A")) < 0


def as_design(X: Any, name: str = "X", n_features: Optional[int] = None) -> Design:
    """Validate a design matrix and return the kernels' view of it.

    n_features: when given (new rows for a fitted model), the number of columns X must have.
    """
    design = _as_design(X, name)
    if n_features is not None and design.n_features != n_features:
        raise ValueError(f"{name} has {design.n_features} features but the model was fitted on "
                         f"{n_features}; give new rows the training data's columns.")
    return design


def _as_design(X: Any, name: str) -> Design:
    if sp.issparse(X):
        return _sparse_design(X, name)
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(
            f"{name} must be a 2-D array or a scipy sparse matrix, got {type(X).__name__}"
        )
    arr = np.asarray(X)
    if arr.ndim != 2:
        hint = f" Use {name}.reshape(-1, 1) for a single feature." if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D (rows x features); got {arr.ndim}-D shape {arr.shape}.{hint}"
        )
    _real_dtype_or_raise(arr.dtype, name)
    if arr.dtype not in (np.float32, np.float64) or not arr.dtype.isnative:
        # bool/int/float16/big-endian: one float64 (or native float32) copy
        target = np.float32 if arr.dtype == np.float32 else np.float64
        arr = np.ascontiguousarray(arr, dtype=target)
    elif not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        arr = np.ascontiguousarray(arr)  # strided views: one C-ordered copy
    if not _all_finite(arr):
        order: Literal["C", "F"] = "C" if arr.flags.c_contiguous else "F"
        flat = arr.reshape(-1, order=order)
        pos = _first_nonfinite(flat)
        i, j = np.unravel_index(pos, arr.shape, order=order)
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {i}, column {j}: {flat[pos]}); "
            "remove or impute those values."
        )
    if arr.flags.c_contiguous:
        layout, values = LAYOUT_C, arr.reshape(-1)
    else:
        layout, values = LAYOUT_F, arr.reshape(-1, order="F")
    return Design(layout, values, _EMPTY_INDEX, _EMPTY_INDEX, arr.shape[0], arr.shape[1], arr)


def _sparse_design(X: Any, name: str) -> Design:
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x features); got shape {X.shape}")
    if X.format != "csr":
        # documented cost: one CSR copy of X (plus scipy's conversion temporaries)
        X = X.tocsr()
    _real_dtype_or_raise(X.data.dtype, f"{name}.data")
    n_rows, n_features = X.shape
    data, indices, indptr = X.data, X.indices, X.indptr
    if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1:
        raise ValueError(f"{name}: data, indices and indptr must be 1-D arrays")
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(
            f"{name} is a malformed CSR matrix: indptr has length {indptr.shape[0]}, "
            f"expected n_rows + 1 = {n_rows + 1}"
        )
    if indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise TypeError(f"{name}: CSR indices and indptr must be integers")
    nnz = int(indptr[-1]) if n_rows >= 0 else 0
    if int(indptr[0]) != 0:
        raise ValueError(f"{name} is a malformed CSR matrix: indptr[0] is {int(indptr[0])}, not 0")
    if indices.shape[0] != nnz or data.shape[0] != nnz:
        raise ValueError(
            f"{name} is a malformed CSR matrix: indptr[-1] = {nnz} but len(indices) = "
            f"{indices.shape[0]} and len(data) = {data.shape[0]}; all three must agree"
        )
    if n_rows > 0:
        steps = np.diff(indptr)
        if steps.min(initial=0) < 0:
            row = int(np.flatnonzero(steps < 0)[0])
            raise ValueError(
                f"{name} is a malformed CSR matrix: indptr decreases at row {row} "
                f"({int(indptr[row])} -> {int(indptr[row + 1])}); it must be non-decreasing"
            )
    if nnz > 0:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= n_features:
            bad = lo if lo < 0 else hi
            pos = int(np.flatnonzero(indices == bad)[0])
            row = int(np.searchsorted(indptr, pos, side="right") - 1)
            raise ValueError(
                f"{name} is a malformed CSR matrix: row {row} has column index {bad}, "
                f"outside [0, {n_features})"
            )
    # Supported index types: int32 or int64, the same for indices and indptr.
    # Convert the small indptr rather than the nnz-long indices when they differ.
    fits32 = nnz <= np.iinfo(np.int32).max and n_features <= np.iinfo(np.int32).max
    idx_dtype: type = np.int64 if indices.dtype == np.int64 or not fits32 else np.int32
    if indices.dtype != idx_dtype or not indices.dtype.isnative:
        indices = indices.astype(idx_dtype)
    if indptr.dtype != idx_dtype or not indptr.dtype.isnative:
        indptr = indptr.astype(idx_dtype)
    if data.dtype not in (np.float32, np.float64) or not data.dtype.isnative:
        data = data.astype(np.float32 if data.dtype == np.float32 else np.float64)
    indices = np.ascontiguousarray(indices)
    indptr = np.ascontiguousarray(indptr)
    data = np.ascontiguousarray(data)
    if not _all_finite(data):
        pos = _first_nonfinite(data)
        row = int(np.searchsorted(indptr, pos, side="right") - 1)
        raise ValueError(
            f"{name} contains NaN or infinity (row {row}, column {int(indices[pos])}: "
            f"{data[pos]}); remove or impute those values."
        )
    if data is not X.data or indices is not X.indices or indptr is not X.indptr:
        X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features), copy=False)
    # min and max, not data == 1: no nnz-sized temporary
    unit = bool(nnz > 0 and data.min() == 1 and data.max() == 1)
    return Design(LAYOUT_CSR, data, indices, indptr, n_rows, n_features, X, unit)


def as_row_vector(
    value: Any, name: str, n_rows: int, *, allow_scalar: bool = False,
    default: Optional[float] = None,
) -> Optional[np.ndarray]:
    """A float64 C-contiguous vector of length n_rows (no copy when it already is one).

    None gives None, or a broadcast of ``default`` when one is set.
    """
    if value is None:
        return None if default is None else np.full(n_rows, default, dtype=np.float64)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}")
    arr = np.asarray(value)
    _real_dtype_or_raise(arr.dtype, name)
    if arr.ndim == 0:
        if not allow_scalar:
            raise ValueError(f"{name} must be a 1-D array of length {n_rows}, got a scalar")
        arr = np.full(n_rows, float(arr), dtype=np.float64)
    elif arr.ndim == 2 and 1 in arr.shape and arr.size == n_rows:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of length {n_rows}; got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(
            f"{name} has length {arr.shape[0]} but X has {n_rows} rows; they must agree"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not _all_finite(arr):
        pos = _first_nonfinite(arr)
        raise ValueError(f"{name} contains NaN or infinity (row {pos}: {arr[pos]})")
    return arr


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def as_counts(n: Any, k: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate trials n (array or scalar) and successes k: 0 <= k <= n, finite."""
    if k is None or n is None:
        raise TypeError("give both n (trials) and k (successes), or y= for 0/1 labels")
    n_arr = as_row_vector(n, "n", n_rows, allow_scalar=True)
    k_arr = as_row_vector(k, "k", n_rows)
    assert n_arr is not None and k_arr is not None
    if n_rows and n_arr.min() < 0:
        i = _first(n_arr < 0)
        raise ValueError(f"n (trials) must be >= 0; row {i} has n={n_arr[i]:g}")
    if n_rows and k_arr.min() < 0:
        i = _first(k_arr < 0)
        raise ValueError(f"k must satisfy 0 <= k <= n; row {i} has k={k_arr[i]:g}")
    if n_rows and np.any(k_arr > n_arr):
        i = _first(k_arr > n_arr)
        raise ValueError(f"k must satisfy 0 <= k <= n; row {i} has k={k_arr[i]:g}, n={n_arr[i]:g}")
    return n_arr, k_arr


def as_labels(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels -> (n = 1, k = y)."""
    k_arr = as_row_vector(y, "y", n_rows)
    assert k_arr is not None
    if n_rows and not np.all((k_arr == 0) | (k_arr == 1)):
        i = _first((k_arr != 0) & (k_arr != 1))
        raise ValueError(
            f"y must hold 0/1 labels; row {i} has y={k_arr[i]:g}. For proportions or counts "
            "pass n (trials) and k (successes) instead."
        )
    return np.ones(n_rows, dtype=np.float64), k_arr


def as_binomial_targets(n: Any, k: Any, y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) from either n and k (trials, successes) or y= (0/1 labels: n = 1, k = y)."""
    if y is None:
        return as_counts(n, k, n_rows)
    if n is not None or k is not None:
        raise TypeError("give either y= (0/1 labels) or n and k (trials, successes), not both")
    return as_labels(y, n_rows)


def as_sample_weight(sample_weight: Any, n_rows: int) -> Optional[np.ndarray]:
    s = as_row_vector(sample_weight, "sample_weight", n_rows, allow_scalar=True)
    if s is not None and n_rows and s.min() < 0:
        i = _first(s < 0)
        raise ValueError(f"sample_weight must be >= 0; row {i} has {s[i]:g}")
    return s


def as_nonnegative_scalar(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def as_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def as_flag(value: Any, name: str) -> bool:
    """A bool (numpy's too); anything else is refused rather than judged by truthiness."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def check_feature_names(X: Any, expected: Optional[tuple], name: str = "X") -> None:
    """Refuse new data whose column names differ from the training data's.

    When both sides have names (the model was fitted on a DataFrame or with
    ``feature_names``, and X is a DataFrame) they must be the same names in the same
    order: rows are read by position, so a DataFrame with its columns in another order
    would otherwise give silently wrong predictions (scikit-learn raises here too).
    Arrays and sparse matrices carry no names and are read by position.
    """
    columns = getattr(X, "columns", None)
    if expected is None or columns is None or isinstance(X, np.ndarray):
        return
    given = tuple(str(c) for c in columns)
    if given == tuple(expected):
        return
    missing = [c for c in expected if c not in given]
    unexpected = [c for c in given if c not in expected]
    if not missing and not unexpected:
        detail = ("the same names in another order; select them in the training order, "
                  f"e.g. {name}[{list(expected)!r}]")
    else:
        detail = (f"missing {missing[:5]!r}{'...' if len(missing) > 5 else ''}, unexpected "
                  f"{unexpected[:5]!r}{'...' if len(unexpected) > 5 else ''}")
    raise ValueError(f"{name}'s column names do not match the ones the model was fitted "
                     f"with: {detail}")
