"""What the benchmark files time: one compiled loss+gradient evaluation, numpy's two-pass
evaluation, and the layouts a problem can be presented in."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from benchmarks.problems import csr_from_parts
from fastlogit._core import _kernels
from fastlogit._input._validate import as_design

SPARSE_LAYOUTS = ("csr_f64_i32", "csr_f32_i32", "csr_f64_i64")
DENSE_LAYOUTS = ("dense_c_f64", "dense_f_f64", "dense_c_f32")


def layout(X: Any, case: str) -> Any:
    """X in the named layout (a copy unless it already is)."""
    if case == "csr_f64_i32":
        return csr_from_parts(X.data.astype(np.float64, copy=False),
                              X.indices.astype(np.int32, copy=False),
                              X.indptr.astype(np.int32, copy=False), X.shape)
    if case == "csr_f32_i32":
        return csr_from_parts(X.data.astype(np.float32), X.indices.astype(np.int32, copy=False),
                              X.indptr.astype(np.int32, copy=False), X.shape)
    if case == "csr_f64_i64":
        return csr_from_parts(X.data.astype(np.float64, copy=False),
                              X.indices.astype(np.int64), X.indptr.astype(np.int64), X.shape)
    if case == "dense_c_f64":
        return np.ascontiguousarray(X, dtype=np.float64)
    if case == "dense_f_f64":
        return np.asfortranarray(X, dtype=np.float64)
    if case == "dense_c_f32":
        return np.ascontiguousarray(X, dtype=np.float32)
    raise ValueError(f"unknown layout {case!r}")


def kernel_eval(X: Any, n: np.ndarray, k: np.ndarray, w: np.ndarray, threads: int
                ) -> Callable[[], tuple]:
    """One compiled loss+gradient pass at (b=-0.5, w), as fastlogit's objective makes it
    (one-hot CSR, whose stored values are all 1, takes the value-free path as in a fit)."""
    design = as_design(X)
    if sp.issparse(X):  # the layout asked for is the layout timed: no silent conversion
        assert design.kernel_args[1].dtype == X.data.dtype
        assert design.kernel_args[2].dtype == X.indices.dtype
    g = np.empty(design.n_features)
    args = design.kernel_args
    unit = design.unit_values
    return lambda: _kernels.binomial_loss_grad(*args, n, k, None, w, -0.5, g, threads, unit)


def numpy_eval(X: Any, n: np.ndarray, k: np.ndarray, w: np.ndarray) -> Callable[[], tuple]:
    """numpy/scipy's two passes: z = X w + b, loss, r = n sigmoid(z) - k, X^T r."""
    from scipy.special import expit

    def run() -> tuple:
        z = X @ w - 0.5
        loss = np.sum(n * np.logaddexp(0.0, z) - k * z)
        r = n * expit(z) - k
        return loss, X.T @ r, r.sum()

    return run
