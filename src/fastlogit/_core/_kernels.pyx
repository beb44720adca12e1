# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled kernels of fastlogit: binomial loss and gradient, predictions,
column statistics and the stable elementwise functions.

Contract (what every kernel here assumes, and what _validate.py guarantees)
---------------------------------------------------------------------------
* The design is given as (layout, values, indices, indptr, n_rows, n_features):
  - layout 0, dense C-contiguous: values = X.ravel() (a view), X[i, j] = values[i*p + j]
  - layout 1, dense F-contiguous: values = X.ravel("F") (a view), X[i, j] = values[i + j*n_rows]
  - layout 2, CSR: values/indices/indptr as scipy stores them, indices in
    [0, n_features), indptr non-decreasing from 0 to len(values).
  Dense layouts pass empty int32 index arrays. values are float32 or float64.
* n, k, offset are float64 C-contiguous of length n_rows (offset may be None);
  w and grad_out are float64 of length n_features. Sample weights are folded
  into n and k by the caller (s*n, s*k): the loss is linear in (n, k).
* z_i = offset_i + b + x_i . w is a raw score, never a probability.
* Kernels return unnormalised, penalty-free sums over the rows (loss,
  X^T r, sum r). Scaling and penalties belong to _objective.py.
* Accumulation is in float64 for float32 values too.
* Threads: rows are cut into n_threads contiguous ranges (partition_rows);
  range t writes its own buffer; buffers are merged in order t = 0, 1, ...
  The result depends on n_threads, never on scheduling; no OpenMP float
  reductions. The GIL is released in every loop. Scratch per thread is
  O(n_features) (+ a block of at most 256 rows); nothing the size of X.
"""

import threading

import numpy as np

from cython.parallel cimport prange
from libc.string cimport memset

from fastlogit._core._kernels cimport (
    binomial_point, binomial_point_w, floating, index_t, log1pexp, sigmoid,
)
from fastlogit._core._rows cimport (
    LAYOUT_CSR, Poll, block_rows, block_work, interrupted, merge_thread_buffers, partition_rows,
    raise_pending, range_done, start_poll, team, thread_count, xtd_block, z_block,
)

# Signal handlers run in Python's main thread only (see interrupted() in _rows.pxd).
cdef unsigned long MAIN_THREAD = threading.main_thread().ident

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fl_openmp_max_threads(void) { return omp_get_max_threads(); }
    static int fl_openmp_enabled(void) { return 1; }
    #else
    static int fl_openmp_max_threads(void) { return 1; }
    static int fl_openmp_enabled(void) { return 0; }
    #endif
    """
    int fl_openmp_max_threads() noexcept nogil
    int fl_openmp_enabled() noexcept nogil


def openmp_max_threads():
    """omp_get_max_threads(): honours OMP_NUM_THREADS and threadpoolctl limits (1 if serial)."""
    return fl_openmp_max_threads()


def kernel_thread_count(int n_threads, Py_ssize_t n_rows, Py_ssize_t n_values):
    """How many row ranges (threads) a kernel uses for an input of this size."""
    return thread_count(n_threads, n_rows, n_values)


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(fl_openmp_enabled())


# ---------------------------------------------------------------------------
# Elementwise functions, exposed to Python


cdef enum:
    ELEM_LOG1PEXP = 0
    ELEM_SIGMOID = 1
    ELEM_LOG_SIGMOID = 2


cdef void _elementwise(const double *z, double *out, Py_ssize_t m, int which) noexcept nogil:
    cdef Py_ssize_t i
    if which == ELEM_LOG1PEXP:
        for i in range(m):
            out[i] = log1pexp(z[i])
    elif which == ELEM_SIGMOID:
        for i in range(m):
            out[i] = sigmoid(z[i])
    else:
        for i in range(m):
            out[i] = -log1pexp(-z[i])


ELEMENTWISE = {"log1pexp": ELEM_LOG1PEXP, "sigmoid": ELEM_SIGMOID, "log_sigmoid": ELEM_LOG_SIGMOID}


def apply_elementwise(z, str name):
    """name(z) elementwise for name in ELEMENTWISE; see fastlogit._core._special for the API."""
    cdef int which = ELEMENTWISE[name]
    arr = np.asarray(z)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"expected a real numeric array, got dtype {arr.dtype}")
    out_dtype = np.float32 if arr.dtype == np.float32 else np.float64
    src = np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)
    out = np.empty(src.shape[0], dtype=np.float64)
    cdef const double[::1] s = src
    cdef double[::1] o = out
    if src.shape[0] > 0:
        with nogil:
            _elementwise(&s[0], &o[0], s.shape[0], which)
    res = out.reshape(arr.shape).astype(out_dtype, copy=False)
    return res[()] if res.ndim == 0 else res


# ---------------------------------------------------------------------------
# Binomial loss and gradient


cdef inline double _binomial_block(
    double *zd, const double *n, const double *k, Py_ssize_t m, double *sums, double *W,
    double *r,
) noexcept nogil:
    """Loss of the rows of a block; overwrites zd (scores) with r = n*sigmoid(z) - k and adds
    sum r to sums[0]. With W (not NULL) it also writes the IRLS weights W = n p (1 - p) and
    r, and adds sum W to sums[1]."""
    cdef Py_ssize_t i
    cdef double loss = 0.0, s = 0.0, sw = 0.0, d
    if W == NULL:
        for i in range(m):
            loss += binomial_point(zd[i], n[i], k[i], &d)
            zd[i] = d
            s += d
    else:
        for i in range(m):
            loss += binomial_point_w(zd[i], n[i], k[i], &d, &W[i])
            zd[i] = d
            r[i] = d
            s += d
            sw += W[i]
    sums[0] += s
    sums[1] += sw
    return loss


cdef void _binomial_range(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t blk,
    const double *n, const double *k, const double *offset, const double *w, double b,
    double *g, double *zbuf, double *out, Poll *poll, Py_ssize_t t, double *W, double *r,
) noexcept nogil:
    """One thread's share (range t): rows [r0, r1) in blocks; out = (loss, sum r, sum W),
    g += X^T r (W and r per row too when W is not NULL)."""
    cdef Py_ssize_t i0 = r0, i1
    cdef double loss = 0.0
    cdef double sums[2]
    sums[0] = 0.0
    sums[1] = 0.0
    memset(g, 0, p * sizeof(double))
    while i0 < r1:
        i1 = i0 + blk if i0 + blk < r1 else r1
        if interrupted(poll, t, block_work(layout, indptr, p, i0, i1)):
            break
        z_block(layout, values, indices, indptr, n_rows, p, i0, i1, w, b, offset, zbuf)
        # per-block partial sums, added to the thread total: a two-level sum
        loss += _binomial_block(zbuf, n + i0, k + i0, i1 - i0, sums,
                                W + i0 if W != NULL else NULL, r + i0 if W != NULL else NULL)
        xtd_block(layout, values, indices, indptr, n_rows, p, i0, i1, zbuf, g)
        i0 = i1
    out[0] = loss
    out[1] = sums[0]
    out[2] = sums[1]


def binomial_loss_grad(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] n, const double[::1] k, const double[::1] offset,
    const double[::1] w, double b, double[::1] grad_out, int n_threads,
    bint unit_values=False, double[::1] weight_out=None, double[::1] resid_out=None,
):
    """sum_i [n_i log1pexp(z_i) - k_i z_i] and its gradient, in one pass over the rows.

    Returns (loss, grad_b) and writes X^T r into grad_out, where
    r_i = n_i sigmoid(z_i) - k_i and grad_b = sum_i r_i. ``unit_values`` (CSR
    only) promises that every stored value is 1: the loops then skip reading
    them, a third less memory traffic on one-hot data, with identical results.
    With ``weight_out`` and ``resid_out`` (the IRLS quantities of the
    coordinate-descent engine) the same pass also writes W_i = n_i p_i (1 - p_i) and
    r_i, and returns (loss, grad_b, sum_i W_i).
    """
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, values.shape[0])
    cdef Py_ssize_t blk = block_rows(layout, n_rows, p, values.shape[0],
                                     sizeof(floating), sizeof(index_t))
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] gbuf = np.empty((T - 1, p), dtype=np.float64)
    cdef double[:, ::1] zbuf = np.empty((T, blk), dtype=np.float64)
    cdef double[:, ::1] sums = np.zeros((T, 3), dtype=np.float64)
    cdef const double *off = &offset[0] if offset is not None else NULL
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef bint irls = weight_out is not None
    cdef double *W = NULL
    cdef double *r = NULL
    cdef int t
    cdef double *g
    cdef double loss = 0.0, gb = 0.0, sw = 0.0
    cdef Poll poll = start_poll(MAIN_THREAD, <double> values.shape[0] + 16.0 * n_rows)
    if irls and (resid_out is None or weight_out.shape[0] != n_rows
                 or resid_out.shape[0] != n_rows):
        raise ValueError("weight_out and resid_out go together, one value per row")
    if irls and n_rows > 0:
        W = &weight_out[0]
        r = &resid_out[0]
    if unit_values and layout == LAYOUT_CSR:
        vals = NULL

    if n_rows == 0:
        grad_out[:] = 0.0
        if irls:
            return 0.0, 0.0, 0.0
        return 0.0, 0.0
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=team(T)):
            g = &grad_out[0] if t == 0 else &gbuf[t - 1, 0]
            _binomial_range(layout, vals, &indices[0], &indptr[0], n_rows, p,
                            bounds[t], bounds[t + 1], blk, &n[0], &k[0], off, &w[0], b,
                            g, &zbuf[t, 0], &sums[t, 0], &poll, t, W, r)
            range_done(&poll, t, T)
        merge_thread_buffers(&grad_out[0], &gbuf[0, 0], T - 1, p, T)
        for t in range(T):
            loss += sums[t, 0]
            gb += sums[t, 1]
            sw += sums[t, 2]
    raise_pending(&poll)
    if irls:
        return loss, gb, sw
    return loss, gb


# ---------------------------------------------------------------------------
# Linear predictor


def linear_predictor(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] w, double b, const double[::1] offset, double[::1] out, int n_threads,
):
    """out[i] = offset[i] + b + x_i . w for every row (the same loops as the loss)."""
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, values.shape[0])
    cdef Py_ssize_t blk = block_rows(layout, n_rows, p, values.shape[0],
                                     sizeof(floating), sizeof(index_t))
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef const double *off = &offset[0] if offset is not None else NULL
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef int t
    cdef Py_ssize_t i0, i1
    cdef Poll poll = start_poll(MAIN_THREAD, <double> values.shape[0] + 16.0 * n_rows)
    if n_rows == 0:
        return
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=team(T)):
            i0 = bounds[t]
            while i0 < bounds[t + 1]:
                i1 = i0 + blk if i0 + blk < bounds[t + 1] else bounds[t + 1]
                if interrupted(&poll, t, block_work(layout, &indptr[0], p, i0, i1)):
                    break
                z_block(layout, vals, &indices[0], &indptr[0], n_rows, p, i0, i1,
                        &w[0], b, off, &out[i0])
                i0 = i1
            range_done(&poll, t, T)
    raise_pending(&poll)


# ---------------------------------------------------------------------------
# Weighted column statistics (for standardised coordinates)


cdef void _moments_range(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t r0, Py_ssize_t r1,
    const double *weight, const double *center, double *acc,
) noexcept nogil:
    """acc[0:p] += sum w (x - c), acc[p:2p] += sum w (x - c)^2, acc[2p:3p] += sum w,
    over the *stored* entries of rows [r0, r1) (all entries, for dense X)."""
    cdef Py_ssize_t i, j, jj
    cdef double wi, d
    memset(acc, 0, 3 * p * sizeof(double))
    if layout == LAYOUT_CSR:
        for i in range(r0, r1):
            wi = weight[i]
            for jj in range(indptr[i], indptr[i + 1]):
                j = indices[jj]
                d = values[jj] - center[j]
                acc[j] += wi * d
                acc[p + j] += wi * d * d
                acc[2 * p + j] += wi
    elif layout == 0:
        for i in range(r0, r1):
            wi = weight[i]
            for j in range(p):
                d = values[i * p + j] - center[j]
                acc[j] += wi * d
                acc[p + j] += wi * d * d
    else:
        for j in range(p):
            for i in range(r0, r1):
                d = values[i + j * n_rows] - center[j]
                acc[j] += weight[i] * d
                acc[p + j] += weight[i] * d * d


def weighted_column_moments(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] weight, const double[::1] center, int n_threads,
):
    """Per column j, over stored entries: (sum w (x-c_j), sum w (x-c_j)^2, sum w).

    For dense X the third is left at zero (every entry is stored: use sum w).
    Returns an array of shape (3, n_features).
    """
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, values.shape[0])
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    result = np.zeros((T, 3 * p), dtype=np.float64)
    cdef double[:, ::1] acc = result
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef int t
    if n_rows > 0 and p > 0:
        with nogil:
            partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                           n_rows, T, &bounds[0])
            for t in prange(T, schedule="static", chunksize=1, num_threads=team(T)):
                _moments_range(layout, vals, &indices[0], &indptr[0], n_rows, p,
                               bounds[t], bounds[t + 1], &weight[0], &center[0], &acc[t, 0])
            merge_thread_buffers(&acc[0, 0], &acc[1, 0] if T > 1 else NULL, T - 1, 3 * p, T)
    return result[0].reshape(3, p)
