# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled multinomial (softmax) kernels: loss and gradient, scores and probabilities.

Contract (as _kernels.pyx; _validate.py and _softmax_objective.py guarantee it)
-------------------------------------------------------------------------------
* The design is (layout, values, indices, indptr, n_rows, n_features), exactly
  as for the binomial kernels (dense C, dense F, CSR int32/int64; float32/64).
* K >= 1 classes. Every per-row array with K entries is a flat float64
  C-ordered n_rows x K array: counts c_ik, offset o_ik (or None), scores out.
  Targets come either as counts or as one class index per row (labels, intp
  in [0, K)); an optional per-row weight s_i multiplies the row's counts
  (the loss is linear in them), so c_ik below means s_i c_ik.
* Coefficients and their gradient are *feature-major*: W[j * K + k], shape
  n_features x K (see _rows_multi.pxd for why); intercepts b[k].
* z_ik = o_ik + b_k + x_i . W[:, k] is a raw score. The kernels return
  unnormalised, penalty-free sums over the rows:
      loss  = sum_i [ N_i logsumexp_k(z_ik) - sum_k c_ik z_ik ],  N_i = sum_k c_ik
      G     = X^T D,  grad_b = sum_i D_i,   D_ik = N_i softmax(z_i)_k - c_ik
* Threads: a static partition of the rows (partition_rows), one gradient
  buffer (n_features x K) per thread, merged in thread order; the result
  depends on n_threads only, never on scheduling. No OpenMP float reductions.
  The GIL is released; scratch per thread is O(n_features x K) plus a block of
  at most 256 x K scores; nothing the size of X.
"""

import threading

import numpy as np

from cython.parallel cimport prange
from libc.math cimport log
from libc.string cimport memset

from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._rows cimport (
    LAYOUT_CSR, Poll, block_work, interrupted, merge_thread_buffers, partition_rows,
    raise_pending, range_done, start_poll, thread_count,
)
from fastlogit._core._rows_multi cimport block_rows_multi, dense_block, xtdk_block, zk_block


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* exp(x) for x <= 0, written so that a loop over it vectorises (libm's exp
       is a scalar call of ~15 ns, which would be a third of a CSR evaluation).

       x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2, exp(x) = 2^n exp(r):
       - n by the 1.5 * 2^52 shifter: adding it rounds x / ln2 to an integer in
         round-to-nearest mode and leaves that integer in the low bits, so 2^n is
         built from integer adds and shifts (no double -> int64 conversion,
         which SSE2 lacks for vectors);
       - r = (x - n ln2_hi) - n ln2_lo with fdlibm's split of ln2 (ln2_hi has
         trailing zero bits, so n ln2_hi is exact for |n| < 2^11);
       - exp(r) by its Taylor series to degree 13 in Horner form: the
         remainder is below 3e-18 relative on |r| <= 0.347, so the result is
         within ~1 ulp of exp(x) (tests compare it with numpy's exp and mpmath).
       x is first clamped at -745 (so -inf is safe); where 2^n would be
       subnormal (n < -1022, x < -708.7) the scale is set to 0 by an integer
       mask, returning 0 instead of a number below 2.3e-308 -- an error
       invisible next to the softmax sum, which is >= 1. No branches: GCC
       if-converts the clamp once told that FP traps are not observed
       (no-trapping-math, which changes no result), and vectorises the loop.
       Every argument here is z_k - max_j z_j <= 0. */
    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC push_options
    #pragma GCC optimize ("no-trapping-math")
    #endif
    static inline double fl_exp_nonpos(double x) {
        const double shifter = 6755399441055744.0;
        double t, n, r, p, scale;
        int64_t tb, sb, ni, sub, bits;
        x = x < -745.0 ? -745.0 : x;
        t = x * 1.4426950408889634 + shifter;
        n = t - shifter;
        r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
        p = 1.6059043836821613e-10;                  /* 1/13! */
        p = p * r + 2.08767569878680990e-09;         /* 1/12! */
        p = p * r + 2.50521083854417188e-08;         /* 1/11! */
        p = p * r + 2.75573192239858907e-07;         /* 1/10! */
        p = p * r + 2.75573192239858907e-06;         /* 1/9! */
        p = p * r + 2.48015873015873016e-05;         /* 1/8! */
        p = p * r + 1.98412698412698413e-04;         /* 1/7! */
        p = p * r + 1.38888888888888889e-03;         /* 1/6! */
        p = p * r + 8.33333333333333333e-03;         /* 1/5! */
        p = p * r + 4.16666666666666667e-02;         /* 1/4! */
        p = p * r + 1.66666666666666667e-01;         /* 1/3! */
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        memcpy(&tb, &t, sizeof tb);
        memcpy(&sb, &shifter, sizeof sb);
        ni = tb - sb;                                /* n as an integer */
        sub = (ni + 1022) >> 63;                     /* all ones when n < -1022 */
        bits = (int64_t) ((uint64_t) (ni + 1023) << 52) & ~sub;
        memcpy(&scale, &bits, sizeof scale);
        return p * scale;
    }

    /* z[k] <- exp(z[k] - m) for k < K (z[k] <= m): a loop the compiler vectorises. */
    static inline void fl_exp_shifted(double *__restrict z, Py_ssize_t K, double m) {
        for (Py_ssize_t k = 0; k < K; k++) z[k] = fl_exp_nonpos(z[k] - m);
    }
    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC pop_options
    #endif
    """
    double exp_nonpos "fl_exp_nonpos"(double x) noexcept nogil
    void exp_shifted "fl_exp_shifted"(double *z, Py_ssize_t K, double m) noexcept nogil


def _exp_nonpos(const double[::1] x, double[::1] out):
    """fl_exp_nonpos over an array (for the tests)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = exp_nonpos(x[i])


cdef enum:
    SCORES_RAW = 0
    SCORES_PROBA = 1
    SCORES_LOG_PROBA = 2

# Signal handlers run in Python's main thread only (see interrupted() in _rows.pxd).
cdef unsigned long MAIN_THREAD = threading.main_thread().ident


cdef inline double softmax_point(
    double *z, const double *c, Py_ssize_t label, double w, Py_ssize_t K,
) noexcept nogil:
    """Loss N logsumexp(z) - sum_k c_k z_k of one row; overwrites z with D = N softmax(z) - c.

    The row's counts are w * c[0:K] when c is not NULL, else w on class
    `label` (one label per row: the one-hot counts are never materialised).

    Stability: with m = max_k z_k every exp has a non-positive argument (no
    overflow; exp_nonpos relies on it) and the largest term is exactly 1, so s = sum_k exp(z_k - m)
    lies in [1, K] and log(s) is well conditioned. The loss is summed as
    sum_k c_k [(m - z_k) + log(s)], every term >= 0, rather than as the
    difference N lse - sum c_k z_k of two large numbers: a row whose counts
    fall on its top class then costs c log(s) with no cancellation, however
    large the scores.
    """
    cdef Py_ssize_t k
    cdef double m = z[0], s = 0.0, n = 0.0, loss = 0.0, logs, inv
    for k in range(1, K):
        if z[k] > m:
            m = z[k]
    if c != NULL:
        for k in range(K):
            n += c[k]
        n *= w
    else:
        n = w
    if n == 0.0:  # a row without counts (or weight) contributes nothing
        for k in range(K):
            z[k] = -w * c[k] if c != NULL else 0.0
        return 0.0
    if c != NULL:
        for k in range(K):
            loss += c[k] * (m - z[k])
    else:
        loss = m - z[label]
    exp_shifted(z, K, m)  # one exp per class, vectorised: z now holds exp(z_k - m)
    for k in range(K):
        s += z[k]
    logs = log(s)
    inv = n / s
    if c != NULL:
        for k in range(K):
            loss += c[k] * logs
            z[k] = inv * z[k] - w * c[k]
        return w * loss
    for k in range(K):
        z[k] = inv * z[k]
    z[label] -= w
    return w * (loss + logs)


cdef inline void softmax_transform(double *z, Py_ssize_t K, int transform) noexcept nogil:
    """z <- softmax(z) or log softmax(z), stably (the same max shift as above)."""
    cdef Py_ssize_t k
    cdef double m = z[0], s = 0.0, logs
    for k in range(1, K):
        if z[k] > m:
            m = z[k]
    if transform == SCORES_PROBA:
        exp_shifted(z, K, m)
        for k in range(K):
            s += z[k]
        s = 1.0 / s
        for k in range(K):
            z[k] = z[k] * s
    else:
        for k in range(K):
            s += exp_nonpos(z[k] - m)
        logs = log(s)
        for k in range(K):
            z[k] = (z[k] - m) - logs


cdef void _softmax_range(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t K, Py_ssize_t r0, Py_ssize_t r1,
    Py_ssize_t blk, const double *counts, const Py_ssize_t *labels, const double *weights,
    const double *offset, const double *W, const double *b, double *G, double *Z,
    double *scratch, double *out, Poll *poll, Py_ssize_t t,
) noexcept nogil:
    """One thread's rows [r0, r1), in blocks: out = (loss, grad_b[0..K)), G += X^T D."""
    cdef Py_ssize_t i0 = r0, i1, i, k
    cdef double loss = 0.0, block_loss
    cdef const double *Xb = NULL
    cdef int ld = 1
    cdef bint col_major = False
    memset(G, 0, p * K * sizeof(double))
    memset(out, 0, (K + 1) * sizeof(double))
    while i0 < r1:
        i1 = i0 + blk if i0 + blk < r1 else r1
        if interrupted(poll, t, block_work(layout, indptr, p, i0, i1) * K):
            break
        if layout != LAYOUT_CSR:
            Xb = dense_block(layout, values, n_rows, p, i0, i1, scratch, &ld, &col_major)
        zk_block(layout, values, indices, indptr, n_rows, p, i0, i1, K, W, b, offset, Z,
                 Xb, ld, col_major)
        # per-block partial sums added to the thread's totals: a two-level sum
        block_loss = 0.0
        for i in range(i1 - i0):
            block_loss += softmax_point(
                Z + i * K,
                counts + (i0 + i) * K if counts != NULL else NULL,
                labels[i0 + i] if labels != NULL else 0,
                weights[i0 + i] if weights != NULL else 1.0,
                K)
            for k in range(K):
                out[1 + k] += Z[i * K + k]
        loss += block_loss
        xtdk_block(layout, values, indices, indptr, n_rows, p, i0, i1, K, Z, G, Xb, ld, col_major)
        i0 = i1
    out[0] = loss


cdef void _hessp_range(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t K, Py_ssize_t r0, Py_ssize_t r1,
    Py_ssize_t blk, const double *row_total, const double *offset, const double *W,
    const double *b, const double *V, const double *vb, double *G, double *Z, double *U,
    double *scratch, double *out, Poll *poll, Py_ssize_t t,
) noexcept nogil:
    """One thread's rows [r0, r1) of the Hessian-vector product: out[k] = sum_i R_ik,
    G += X^T R with R_ik = s_i N_i p_ik (u_ik - sum_c p_ic u_ic), u_i = vb + V^T x_i.

    Each block of rows is read for the scores and the directions while it is in cache,
    then once more for X^T R: one pass over X.
    """
    cdef Py_ssize_t i0 = r0, i1, i, k
    cdef double pu, r
    cdef const double *Xb = NULL
    cdef int ld = 1
    cdef bint col_major = False
    memset(G, 0, p * K * sizeof(double))
    memset(out, 0, K * sizeof(double))
    while i0 < r1:
        i1 = i0 + blk if i0 + blk < r1 else r1
        if interrupted(poll, t, 2 * block_work(layout, indptr, p, i0, i1) * K):
            break
        if layout != LAYOUT_CSR:
            Xb = dense_block(layout, values, n_rows, p, i0, i1, scratch, &ld, &col_major)
        zk_block(layout, values, indices, indptr, n_rows, p, i0, i1, K, W, b, offset, Z,
                 Xb, ld, col_major)
        zk_block(layout, values, indices, indptr, n_rows, p, i0, i1, K, V, vb, NULL, U,
                 Xb, ld, col_major)
        for i in range(i1 - i0):
            softmax_transform(Z + i * K, K, SCORES_PROBA)
            pu = 0.0
            for k in range(K):
                pu += Z[i * K + k] * U[i * K + k]
            for k in range(K):
                r = row_total[i0 + i] * Z[i * K + k] * (U[i * K + k] - pu)
                U[i * K + k] = r
                out[k] += r
        xtdk_block(layout, values, indices, indptr, n_rows, p, i0, i1, K, U, G, Xb, ld, col_major)
        i0 = i1


def _dense_scratch(int layout, bint narrow, int T, Py_ssize_t blk, Py_ssize_t p):
    """Per-thread block x n_features double scratch, needed only to widen float32 blocks
    (and F-ordered blocks too tall for BLAS's int leading dimension)."""
    if layout != LAYOUT_CSR and (narrow or layout == 1):
        return np.empty((T, max(blk * p, 1)), dtype=np.float64)
    return np.empty((T, 1), dtype=np.float64)


def softmax_loss_grad(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features, Py_ssize_t K,
    const double[::1] counts, const Py_ssize_t[::1] labels, const double[::1] weights,
    const double[::1] offset, const double[::1] coef, const double[::1] intercept,
    double[::1] grad_out, double[::1] grad_intercept_out, int n_threads,
):
    """Multinomial loss and gradient in one pass over the rows.

    The targets are either counts (flat n_rows x K) or labels (class index in
    [0, K) per row; counts must then be None); weights (per row, or None)
    multiply the row's counts.

    Returns the loss sum_i [N_i logsumexp(z_i) - c_i . z_i]; writes X^T D
    (n_features x K, feature-major) into grad_out and sum_i D_i into
    grad_intercept_out, D_ik = N_i softmax(z_i)_k - c_ik.
    """
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, values.shape[0] * K)
    cdef Py_ssize_t blk = block_rows_multi(layout, n_rows, p, values.shape[0],
                                           sizeof(floating), sizeof(index_t), K)
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] scratch = _dense_scratch(layout, floating is float, T, blk, p)
    # every per-thread buffer gets at least one element so that &buf[0] is valid
    cdef double[::1] gbuf = np.empty(max((T - 1) * p * K, 1), dtype=np.float64)
    cdef double[::1] g0 = np.empty(max(p * K, 1), dtype=np.float64)
    cdef double[:, ::1] zbuf = np.empty((T, blk * K), dtype=np.float64)
    cdef double[:, ::1] sums = np.zeros((T, K + 1), dtype=np.float64)
    cdef const double *off = &offset[0] if offset is not None else NULL
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const double *W = &coef[0] if p > 0 else NULL
    cdef const double *cnt = &counts[0] if counts is not None else NULL
    cdef const Py_ssize_t *lab = &labels[0] if labels is not None else NULL
    cdef const double *wts = &weights[0] if weights is not None else NULL
    cdef int t
    cdef Py_ssize_t k
    cdef double *g
    cdef double loss = 0.0, s
    cdef Poll poll = start_poll(MAIN_THREAD, (<double> values.shape[0] + 16.0 * n_rows) * K)

    if (cnt == NULL) == (lab == NULL):
        raise ValueError("give exactly one of counts and labels")
    if n_rows == 0:
        grad_out[:] = 0.0
        grad_intercept_out[:] = 0.0
        return 0.0
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            g = &g0[0] if t == 0 else &gbuf[(t - 1) * p * K]
            _softmax_range(layout, vals, &indices[0], &indptr[0], n_rows, p, K,
                           bounds[t], bounds[t + 1], blk, cnt, lab, wts, off, W, &intercept[0],
                           g, &zbuf[t, 0], &scratch[t, 0], &sums[t, 0], &poll, t)
            range_done(&poll, t, T)
        merge_thread_buffers(&g0[0], &gbuf[0], T - 1, p * K, T)
        for t in range(T):
            loss += sums[t, 0]
        for k in range(K):
            s = 0.0
            for t in range(T):
                s = s + sums[t, 1 + k]
            grad_intercept_out[k] = s
    raise_pending(&poll)
    if p > 0:
        grad_out[:] = g0[:p * K]
    return loss


def softmax_scores(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features, Py_ssize_t K,
    const double[::1] coef, const double[::1] intercept, const double[::1] offset,
    double[::1] out, int transform, int n_threads,
):
    """out[i, k] = z_ik (transform 0), softmax(z_i)_k (1) or log softmax(z_i)_k (2).

    The same row loops as the loss; out is a flat n_rows x K C-ordered array.
    """
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, values.shape[0] * K)
    cdef Py_ssize_t blk = block_rows_multi(layout, n_rows, p, values.shape[0],
                                           sizeof(floating), sizeof(index_t), K)
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] scratch = _dense_scratch(layout, floating is float, T, blk, p)
    cdef const double *off = &offset[0] if offset is not None else NULL
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const double *W = &coef[0] if p > 0 else NULL
    cdef int t, ld = 1
    cdef bint col_major = False
    cdef const double *Xb = NULL
    cdef Py_ssize_t i0, i1, i
    cdef Poll poll = start_poll(MAIN_THREAD, (<double> values.shape[0] + 16.0 * n_rows) * K)
    if n_rows == 0:
        return
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            i0 = bounds[t]
            while i0 < bounds[t + 1]:
                i1 = i0 + blk if i0 + blk < bounds[t + 1] else bounds[t + 1]
                if interrupted(&poll, t, block_work(layout, &indptr[0], p, i0, i1) * K):
                    break
                if layout != LAYOUT_CSR:
                    Xb = dense_block(layout, vals, n_rows, p, i0, i1, &scratch[t, 0], &ld,
                                     &col_major)
                zk_block(layout, vals, &indices[0], &indptr[0], n_rows, p, i0, i1, K,
                         W, &intercept[0], off, &out[i0 * K], Xb, ld, col_major)
                if transform != SCORES_RAW:
                    for i in range(i0, i1):
                        softmax_transform(&out[i * K], K, transform)
                i0 = i1
            range_done(&poll, t, T)
    raise_pending(&poll)


def softmax_hessp(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features, Py_ssize_t K,
    const double[::1] row_total, const double[::1] offset, const double[::1] coef,
    const double[::1] intercept, const double[::1] direction,
    const double[::1] direction_intercept, double[::1] hv_out, double[::1] hv_intercept_out,
    int n_threads,
):
    """The loss's Hessian at (W, b) times a direction (V, vb), in one pass over the rows.

    With p_i = softmax(z_i), u_i = vb + V^T x_i and R_ik = s_i N_i p_ik (u_ik - p_i . u_i)
    (``row_total`` holds s_i N_i), writes X^T R (feature-major, n_features x K) into
    hv_out and sum_i R_i into hv_intercept_out. The same threads, buffers and merge
    order as softmax_loss_grad.
    """
    cdef Py_ssize_t p = n_features
    cdef int T = thread_count(n_threads, n_rows, 2 * values.shape[0] * K)
    cdef Py_ssize_t blk = block_rows_multi(layout, n_rows, p, values.shape[0],
                                           sizeof(floating), sizeof(index_t), K)
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] scratch = _dense_scratch(layout, floating is float, T, blk, p)
    cdef double[::1] gbuf = np.empty(max((T - 1) * p * K, 1), dtype=np.float64)
    cdef double[::1] g0 = np.empty(max(p * K, 1), dtype=np.float64)
    cdef double[:, ::1] zbuf = np.empty((T, blk * K), dtype=np.float64)
    cdef double[:, ::1] ubuf = np.empty((T, blk * K), dtype=np.float64)
    cdef double[:, ::1] sums = np.zeros((T, K), dtype=np.float64)
    cdef const double *off = &offset[0] if offset is not None else NULL
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const double *W = &coef[0] if p > 0 else NULL
    cdef const double *V = &direction[0] if p > 0 else NULL
    cdef int t
    cdef Py_ssize_t k
    cdef double *g
    cdef double s
    cdef Poll poll = start_poll(MAIN_THREAD, 2.0 * (<double> values.shape[0] + 16.0 * n_rows) * K)
    if n_rows == 0:
        hv_out[:] = 0.0
        hv_intercept_out[:] = 0.0
        return
    with nogil:
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL,
                       n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            g = &g0[0] if t == 0 else &gbuf[(t - 1) * p * K]
            _hessp_range(layout, vals, &indices[0], &indptr[0], n_rows, p, K,
                         bounds[t], bounds[t + 1], blk, &row_total[0], off, W, &intercept[0],
                         V, &direction_intercept[0], g, &zbuf[t, 0], &ubuf[t, 0],
                         &scratch[t, 0], &sums[t, 0], &poll, t)
            range_done(&poll, t, T)
        merge_thread_buffers(&g0[0], &gbuf[0], T - 1, p * K, T)
        for k in range(K):
            s = 0.0
            for t in range(T):
                s = s + sums[t, k]
            hv_intercept_out[k] = s
    raise_pending(&poll)
    if p > 0:
        hv_out[:] = g0[:p * K]
