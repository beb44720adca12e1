# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled second-order kernels of fastlogit: Hessian weights, Hessian-vector
products and the full Hessian ("sandwich") X~^T D X~.

Contract (the same as _kernels.pyx; _validate.py guarantees the inputs)
-----------------------------------------------------------------------
* The design is (layout, values, indices, indptr, n_rows, n_features), the
  first six arguments of every kernel (``Design.kernel_args``); dense layouts
  carry empty int32 index arrays. CSR rows may be unsorted and may hold
  duplicate column indices (their values add up, as in scipy).
* X~ = [1, X] is X with a leading column of ones for the intercept: index 0 of
  every (n_features + 1)-sized result is the intercept, index 1 + j feature j.
* n, offset, d are float64 C-contiguous of length n_rows (offset may be None);
  w, vw are float64 of length n_features. Sample weights are folded into n by
  the caller (s * n). The Hessian of the loss does not depend on k.
* D_ii = n_i sigmoid(z_i) (1 - sigmoid(z_i)), z_i = offset_i + b + x_i . w.
  The "weighted_" kernels take D (any non-negative weights) as an array, so a
  solver that needs several products at one point computes D once (an
  O(n_rows) array: the size of a result, as the IRLS weights are).
* Results are unnormalised and penalty-free; penalties belong to Python.
* Threads: a static row partition (partition_rows), one buffer per thread,
  buffers merged in thread order: deterministic for a given n_threads, no
  OpenMP float reductions, GIL released, float64 accumulation.
* Scratch per thread: O(n_features) for Hessian-vector products; one
  (n_features + 1)^2 buffer plus a block of at most 512 rows of X~ for the
  full Hessian. Nothing the size of X. The caller bounds n_threads so that the
  per-thread Hessian buffers fit in memory (_curvature.py).

The full Hessian
----------------
Each thread accumulates sum_i D_ii x~_i x~_i^T over its rows into the lower
triangle of its own buffer (symmetry halves the work); the buffers are merged
in thread order and the triangle is mirrored at the end.
* Dense X (and dense-ish CSR): a block of rows is copied once into a float64
  scratch Y with row i = sqrt(D_ii) x~_i (so float32 X is accumulated in
  float64), then BLAS dsyrk adds Y^T Y to the buffer. A rank-B update is what
  BLAS does best (register blocking, vector FMA); writing it here would be
  several times slower. D_ii >= 0, so the square root is real; the product
  sqrt(D)x sqrt(D)x differs from D x x by a few ulp only. dsyrk runs inside
  our threads: the Python layer limits BLAS to one thread meanwhile.
* Sparse CSR: each row adds D_ii x_ia x_ib for every pair of its stored
  entries (O(nnz_i^2) per row, nothing densified).
"""

import threading

import numpy as np

from cython.parallel cimport prange
from libc.math cimport exp, fabs, sqrt
from libc.string cimport memset
from scipy.linalg.cython_blas cimport dsyrk

from fastlogit._core._kernels import linear_predictor

from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._rows cimport (
    LAYOUT_C, LAYOUT_CSR, Poll, block_rows, block_work, dot, interrupted, merge_thread_buffers,
    partition_rows, raise_pending, range_done, start_poll, thread_count, xtd_block, z_block,
)

# Signal handlers run in Python's main thread only (see interrupted() in _rows.pxd).
cdef unsigned long MAIN_THREAD = threading.main_thread().ident


# ---------------------------------------------------------------------------
# Per-row math


cdef inline double hessian_weight(double z, double n) noexcept nogil:
    """n sigmoid(z) (1 - sigmoid(z)) = n e / (1 + e)^2 with e = exp(-|z|).

    The weight is even in z; evaluating it at -|z| means exp never overflows
    and no 1 - sigmoid(z) is formed (that difference would lose every digit
    for z above ~37, where the true weight is still ~e^-z). For |z| > 745, e
    underflows to 0 and so does the weight (its true value is below 1e-323).
    """
    cdef double e = exp(-fabs(z))
    cdef double q = 1.0 + e
    return n * (e / (q * q))


# ---------------------------------------------------------------------------
# Hessian weights D


def binomial_hessian_weights(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] n, const double[::1] offset, const double[::1] w, double b,
    double[::1] d_out, int n_threads,
):
    """d_out[i] = n_i sigmoid(z_i) (1 - sigmoid(z_i)), z_i = offset_i + b + x_i . w.

    The scores come from the predictions kernel (one pass over X); the weights are then
    an elementwise pass over the O(n_rows) output.
    """
    linear_predictor(layout, values, indices, indptr, n_rows, n_features, w, b, offset, d_out,
                     n_threads)
    cdef int T = thread_count(n_threads, n_rows, 0)
    cdef Py_ssize_t i
    with nogil:
        for i in prange(n_rows, schedule="static", num_threads=T):
            d_out[i] = hessian_weight(d_out[i], n[i])


# ---------------------------------------------------------------------------
# Hessian-vector products H v = X~^T D (X~ v)


cdef void _hessp_range(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t blk,
    const double *n, const double *d, const double *offset, const double *w, double b,
    const double *vw, double vb, double *hv, double *zbuf, double *ubuf, double *hv_b,
    Poll *poll, Py_ssize_t t,
) noexcept nogil:
    """One thread's share: hv = X[r0:r1]^T (D u), hv_b = sum D u with u = vb + X vw.

    A block's rows are read from memory once (computing u, and z when D is not
    given) and are still in cache when X^T (D u) reads them again.
    """
    cdef Py_ssize_t i0 = r0, i1, i, m
    cdef double total = 0.0, s
    memset(hv, 0, p * sizeof(double))
    while i0 < r1:
        i1 = i0 + blk if i0 + blk < r1 else r1
        if interrupted(poll, t, block_work(layout, indptr, p, i0, i1)):
            break
        m = i1 - i0
        z_block(layout, values, indices, indptr, n_rows, p, i0, i1, vw, vb, NULL, ubuf)
        s = 0.0
        if d == NULL:
            z_block(layout, values, indices, indptr, n_rows, p, i0, i1, w, b, offset, zbuf)
            for i in range(m):
                ubuf[i] = hessian_weight(zbuf[i], n[i0 + i]) * ubuf[i]
                s += ubuf[i]
        else:
            for i in range(m):
                ubuf[i] = d[i0 + i] * ubuf[i]
                s += ubuf[i]
        total += s
        xtd_block(layout, values, indices, indptr, n_rows, p, i0, i1, ubuf, hv)
        i0 = i1
    hv_b[0] = total


cdef double _hessp(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double *n, const double *d, const double *off, const double *w, double b,
    const double[::1] vw, double vb, double[::1] hv_out, int n_threads,
):
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, values.shape[0])
    cdef Py_ssize_t blk = block_rows(layout, n_rows, p, values.shape[0],
                                     sizeof(floating), sizeof(index_t))
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] hbuf = np.empty((T - 1, p), dtype=np.float64)
    cdef double[:, ::1] zbuf = np.empty((T, blk), dtype=np.float64)
    cdef double[:, ::1] ubuf = np.empty((T, blk), dtype=np.float64)
    cdef double[::1] sums = np.zeros(T, dtype=np.float64)
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef int t
    cdef double *h
    cdef double hv_b = 0.0
    cdef Poll poll = start_poll(MAIN_THREAD, <double> values.shape[0] + 16.0 * n_rows)
    if n_rows == 0:
        hv_out[:] = 0.0
        return 0.0
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            h = &hv_out[0] if t == 0 else &hbuf[t - 1, 0]
            _hessp_range(layout, vals, &indices[0], &indptr[0], n_rows, p,
                         bounds[t], bounds[t + 1], blk, n, d, off, w, b, &vw[0], vb,
                         h, &zbuf[t, 0], &ubuf[t, 0], &sums[t], &poll, t)
            range_done(&poll, t, T)
        merge_thread_buffers(&hv_out[0], &hbuf[0, 0], T - 1, p, T)
        for t in range(T):
            hv_b += sums[t]
    raise_pending(&poll)
    return hv_b


def binomial_hessp(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] n, const double[::1] offset, const double[::1] w, double b,
    const double[::1] vw, double vb, double[::1] hv_out, int n_threads,
):
    """Hessian of the loss at (b, w) times (vb, vw), in one pass over the rows.

    Writes X^T D u into hv_out and returns sum_i D_ii u_i (the intercept part),
    where u = vb + X vw and D_ii = n_i sigmoid(z_i)(1 - sigmoid(z_i)).
    """
    return _hessp(layout, values, indices, indptr, n_rows, n_features, &n[0], NULL,
                  &offset[0] if offset is not None else NULL, &w[0], b,
                  vw, vb, hv_out, n_threads)


def weighted_hessp(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] d, const double[::1] vw, double vb, double[::1] hv_out, int n_threads,
):
    """X~^T diag(d) X~ times (vb, vw) for given weights d: one pass, one dot per row.

    Writes the feature part into hv_out and returns the intercept part.
    """
    return _hessp(layout, values, indices, indptr, n_rows, n_features, NULL, &d[0],
                  NULL, NULL, 0.0, vw, vb, hv_out, n_threads)


# ---------------------------------------------------------------------------
# The full Hessian X~^T D X~


# Rows per block of the dense path: the float64 block Y (rows x (p + 1)) is
# kept near 512 KiB (half the L2 of common cores), but never fewer than 64
# rows, so that each dsyrk call does at least 64 multiply-adds per entry of
# the buffer it updates (fewer would make the update memory-bound for large p).
cdef enum:
    GRAM_BLOCK_DOUBLES = 65536
    GRAM_MIN_BLOCK = 64
    GRAM_MAX_BLOCK = 512


cdef inline Py_ssize_t gram_block_rows(Py_ssize_t P) noexcept nogil:
    cdef Py_ssize_t blk = GRAM_BLOCK_DOUBLES // P
    if blk < GRAM_MIN_BLOCK:
        blk = GRAM_MIN_BLOCK
    if blk > GRAM_MAX_BLOCK:
        blk = GRAM_MAX_BLOCK
    return blk


cdef void _gather_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, double *Y,
) noexcept nogil:
    """Y[i - i0] = x~_i = [1, x_i] in float64, row-major with row length P = p + 1."""
    cdef Py_ssize_t P = p + 1, m = i1 - i0, i, j, jj
    cdef double *y
    cdef const floating *col
    if layout == LAYOUT_CSR:
        memset(Y, 0, m * P * sizeof(double))
        for i in range(m):
            y = Y + i * P
            y[0] = 1.0
            for jj in range(indptr[i0 + i], indptr[i0 + i + 1]):
                y[1 + indices[jj]] += values[jj]  # duplicates add up
    elif layout == LAYOUT_C:
        for i in range(m):
            y = Y + i * P
            y[0] = 1.0
            col = values + (i0 + i) * p
            for j in range(p):
                y[1 + j] = col[j]
    else:
        for i in range(m):
            Y[i * P] = 1.0
        for j in range(p):
            col = values + j * n_rows + i0
            for i in range(m):
                Y[i * P + 1 + j] = col[i]


cdef void _pairs_csr(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t i0, Py_ssize_t i1, const double *d, double *H, Py_ssize_t P,
) noexcept nogil:
    """Lower triangle of H += sum_i d_i x~_i x~_i^T over the stored entries of CSR rows."""
    cdef Py_ssize_t i, a, c, ja, jc, start, end
    cdef double di, xa, v
    for i in range(i0, i1):
        di = d[i - i0]
        if di == 0.0:
            continue
        start = indptr[i]
        end = indptr[i + 1]
        H[0] += di
        for a in range(start, end):
            ja = indices[a] + 1
            xa = di * data[a]
            H[ja * P] += xa
            for c in range(start, a):
                jc = indices[c] + 1
                v = xa * data[c]
                if jc < ja:
                    H[ja * P + jc] += v
                elif jc > ja:
                    H[jc * P + ja] += v
                else:  # a duplicate entry of the same column: the cross term counts twice
                    H[ja * P + ja] += 2.0 * v
            H[ja * P + ja] += xa * data[a]


cdef void _gram_range(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t blk,
    const double *n, const double *d, const double *offset, const double *w, double b,
    bint sparse_pairs, double *H, double *Y, double *dbuf, Poll *poll, Py_ssize_t t,
) noexcept nogil:
    """One thread's share: lower triangle of H = sum over rows [r0, r1) of D_ii x~_i x~_i^T."""
    cdef Py_ssize_t i0 = r0, i1, i, j, m
    cdef int P = <int> (p + 1), mb
    cdef double one = 1.0, s
    cdef double *y
    cdef char uplo = b"U"  # Fortran's upper triangle of column-major H is our (C) lower one
    cdef char trans = b"N"
    memset(H, 0, <size_t> P * <size_t> P * sizeof(double))
    while i0 < r1:
        i1 = i0 + blk if i0 + blk < r1 else r1
        # about P / 2 multiply-adds per stored value (as in _gram's thread count)
        if interrupted(poll, t, block_work(layout, indptr, p, i0, i1) * (1 + P // 16)):
            break
        m = i1 - i0
        if layout == LAYOUT_CSR and sparse_pairs:
            if d != NULL:
                for i in range(m):
                    dbuf[i] = d[i0 + i]
            else:
                z_block(layout, values, indices, indptr, n_rows, p, i0, i1, w, b, offset, dbuf)
                for i in range(m):
                    dbuf[i] = hessian_weight(dbuf[i], n[i0 + i])
            _pairs_csr(values, indices, indptr, i0, i1, dbuf, H, P)
        else:
            # X is read once: gathered into Y, z taken from Y, then Y scaled by sqrt(D)
            _gather_block(layout, values, indices, indptr, n_rows, p, i0, i1, Y)
            for i in range(m):
                y = Y + i * P
                if d != NULL:
                    s = sqrt(d[i0 + i])
                else:
                    s = b + (offset[i0 + i] if offset != NULL else 0.0) + dot(y + 1, w, p)
                    s = sqrt(hessian_weight(s, n[i0 + i]))
                for j in range(P):
                    y[j] = s * y[j]
            # H += Y^T Y. Column-major, Y is the P x m matrix whose columns are the rows
            mb = <int> m
            dsyrk(&uplo, &trans, &P, &mb, &one, Y, &P, &one, H, &P)
        i0 = i1


cdef void _mirror_lower(double *H, Py_ssize_t P) noexcept nogil:
    cdef Py_ssize_t r, c
    for r in range(P):
        for c in range(r + 1, P):
            H[r * P + c] = H[c * P + r]


cdef _gram(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double *n, const double *d, const double *off, const double *w, double b,
    double[:, ::1] hess_out, int n_threads, bint sparse_pairs,
):
    cdef Py_ssize_t p = n_features, P = n_features + 1
    if hess_out.shape[0] != P or hess_out.shape[1] != P:
        raise ValueError(f"hess_out must have shape ({P}, {P})")
    # each stored value meets about P / 2 others (at BLAS speed for dense blocks)
    cdef int T = thread_count(n_threads, n_rows, values.shape[0] * (1 + P // 16))
    cdef bint pairs = sparse_pairs and layout == LAYOUT_CSR
    cdef Py_ssize_t blk = (block_rows(layout, n_rows, p, values.shape[0], sizeof(floating),
                                      sizeof(index_t)) if pairs else gram_block_rows(P))
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] hbuf = np.empty((T - 1, P * P), dtype=np.float64)
    cdef double[:, ::1] ybuf = np.empty((T, 1 if pairs else blk * P), dtype=np.float64)
    cdef double[:, ::1] dbuf = np.empty((T, blk), dtype=np.float64)
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef int t
    cdef double *h
    cdef Poll poll = start_poll(MAIN_THREAD,
                                (<double> values.shape[0] + 16.0 * n_rows) * (1 + P // 16))
    if n_rows == 0:
        hess_out[:, :] = 0.0
        return
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            h = &hess_out[0, 0] if t == 0 else &hbuf[t - 1, 0]
            _gram_range(layout, vals, &indices[0], &indptr[0], n_rows, p,
                        bounds[t], bounds[t + 1], blk, n, d, off, w, b, pairs,
                        h, &ybuf[t, 0], &dbuf[t, 0], &poll, t)
            range_done(&poll, t, T)
        merge_thread_buffers(&hess_out[0, 0], &hbuf[0, 0], T - 1, P * P, T)
        _mirror_lower(&hess_out[0, 0], P)
    raise_pending(&poll)


def binomial_hessian(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] n, const double[::1] offset, const double[::1] w, double b,
    double[:, ::1] hess_out, int n_threads, bint sparse_pairs=True,
):
    """The Hessian X~^T D X~ of the loss at (b, w), shape (p + 1, p + 1), intercept first.

    One pass over the rows. ``sparse_pairs`` (CSR only) chooses the pairwise
    sparse update; False densifies blocks of rows and uses dsyrk (faster when
    rows hold more than about a quarter of the columns).
    """
    _gram(layout, values, indices, indptr, n_rows, n_features, &n[0], NULL,
          &offset[0] if offset is not None else NULL, &w[0], b, hess_out, n_threads,
          sparse_pairs)


def weighted_gram(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] d, double[:, ::1] hess_out, int n_threads, bint sparse_pairs=True,
):
    """X~^T diag(d) X~ for given non-negative weights d, shape (p + 1, p + 1)."""
    _gram(layout, values, indices, indptr, n_rows, n_features, NULL, &d[0], NULL, NULL, 0.0,
          hess_out, n_threads, sparse_pairs)
