# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled kernels of the multinomial coordinate-descent engine (_solvers/_cd_multinomial.py).

Contract
--------
* Scores are kept between calls: Z, a flat C-ordered n_rows x K float64 array,
  z_ik = o_ik + b_k + x_i . w_k. Targets are counts (flat n_rows x K) or one class
  index per row (labels, intp); weights (or None) multiply a row's counts, as in
  _softmax.pyx. N_i = sum_k c_ik.
* Row kernels (``class_irls``, ``shifted_loss``) read Z only (never X): static row
  ranges, per-thread partial sums merged in thread order, GIL released, bitwise
  reproducible at a given thread count; they poll for Ctrl-C between blocks.
* Column kernels (``column_combination``, ``group_weighted_sums``, ``group_cd_solve``)
  read the design by columns as _cd_kernels.pyx does (``col_layout`` COL_C, COL_F or
  COL_CSC, values NULL when every stored value is 1, the arguments of
  ``ColumnAccess.args``); they run on the calling thread, GIL released, and poll.
* Coefficient matrices are feature-major, W[j * K + k] (n_features x K), as in
  _rows_multi.pxd: a column's K coefficients are contiguous.
* Everything is accumulated in float64, whatever the dtype of the values.

The grouped penalty's inner model (``group_cd_solve``) is the quadratic model of the
loss with the class-diagonal part of the softmax Hessian, per row and class
h_ik = s_i N_i p_ik (1 - p_ik), plus the penalty
sum_j [l2_j ||w_j||^2 / 2 + l1_j ||w_j||_2] (w_j the K coefficients of feature j). A
feature's K-vector minimises that model exactly (a block soft-threshold with one
scalar equation, see ``_group_step``); with an intercept each class's intercept
follows its coefficients along the h-centred column, as in cd_solve.
"""

import threading

import numpy as np

from cython.parallel cimport prange
from libc.math cimport exp, fabs, log, sqrt

from fastlogit._core._columns cimport COL_CSC, COL_F, col_work
from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._rows cimport (
    POLL_WORK, Poll, interrupted, raise_pending, range_done, start_poll,
    team, thread_count,
)

cdef unsigned long MAIN_THREAD = threading.main_thread().ident

cdef enum:
    ROW_BLOCK = 1024  # rows between two interrupt polls


# ---------------------------------------------------------------------------
# Row kernels on the scores


cdef inline void _even_rows(Py_ssize_t n_rows, int T, Py_ssize_t *bounds) noexcept nogil:
    """Static row ranges of equal length (every row costs the same here: K scores)."""
    cdef int t
    for t in range(T + 1):
        bounds[t] = (n_rows * t) // T


cdef inline double _row_softmax(
    const double *z, double *prob, const double *c, Py_ssize_t label, double w,
    Py_ssize_t K, double *total,
) noexcept nogil:
    """Loss N logsumexp(z) - c . z of one row (weighted); prob = softmax(z).

    As softmax_point (_softmax.pyx): with m = max_k z_k every exp argument is <= 0 and
    the loss is summed as sum_k c_k [(m - z_k) + log s], every term >= 0.
    """
    cdef Py_ssize_t k
    cdef double m = z[0], s = 0.0, n = 0.0, loss = 0.0, logs
    for k in range(1, K):
        if z[k] > m:
            m = z[k]
    for k in range(K):
        prob[k] = exp(z[k] - m)
        s += prob[k]
    logs = log(s)
    for k in range(K):
        prob[k] = prob[k] / s
    if c != NULL:
        for k in range(K):
            n += c[k]
            loss += c[k] * ((m - z[k]) + logs)
    else:
        n = 1.0
        loss = (m - z[label]) + logs
    total[0] = w * n
    return w * loss


cdef inline double _count(const double *c, Py_ssize_t label, double w, Py_ssize_t k) noexcept nogil:
    """s_i c_ik."""
    if c != NULL:
        return w * c[k]
    return w if label == k else 0.0


cdef void _irls_range(
    const double *Z, Py_ssize_t K, Py_ssize_t r0, Py_ssize_t r1, const double *counts,
    const Py_ssize_t *labels, const double *weights, Py_ssize_t cls, double *W, double *r,
    double *prob, Poll *poll, Py_ssize_t t,
) noexcept nogil:
    cdef Py_ssize_t i, k, k0, k1, o
    cdef double sn, rest, wt
    k0 = 0 if cls < 0 else cls
    k1 = K if cls < 0 else cls + 1
    for i in range(r0, r1):
        if (i - r0) % ROW_BLOCK == 0 and interrupted(poll, t, ROW_BLOCK * K * 4.0):
            break
        wt = weights[i] if weights != NULL else 1.0
        _row_softmax(Z + i * K, prob, counts + i * K if counts != NULL else NULL,
                     labels[i] if labels != NULL else 0, wt, K, &sn)
        for k in range(k0, k1):
            # 1 - p_k as the sum of the other classes' p (no cancellation when p_k ~ 1)
            rest = 0.0
            for o in range(K):
                if o != k:
                    rest += prob[o]
            o = i * K + k if cls < 0 else i
            W[o] = sn * prob[k] * rest
            r[o] = sn * prob[k] - _count(counts + i * K if counts != NULL else NULL,
                                         labels[i] if labels != NULL else 0, wt, k)


def class_irls(
    const double[::1] Z, Py_ssize_t n_rows, Py_ssize_t K, const double[::1] counts,
    const Py_ssize_t[::1] labels, const double[::1] weights, Py_ssize_t cls,
    double[::1] weight_out, double[::1] resid_out, int n_threads,
):
    """IRLS weights and residuals from the scores: for class ``cls`` (length n_rows
    outputs) or, with cls = -1, for every class (flat n_rows x K outputs):
    W_ik = s_i N_i p_ik (1 - p_ik), r_ik = s_i (N_i p_ik - c_ik)."""
    cdef int T = thread_count(n_threads, n_rows, 4 * n_rows * K)
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] prob = np.empty((T, K), dtype=np.float64)
    cdef const double *cnt = &counts[0] if counts is not None else NULL
    cdef const Py_ssize_t *lab = &labels[0] if labels is not None else NULL
    cdef const double *wts = &weights[0] if weights is not None else NULL
    cdef int t
    cdef Poll poll = start_poll(MAIN_THREAD, 4.0 * n_rows * K)
    if (cnt == NULL) == (lab == NULL):
        raise ValueError("give exactly one of counts and labels")
    if n_rows == 0:
        return
    with nogil:
        _even_rows(n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=team(T)):
            _irls_range(&Z[0], K, bounds[t], bounds[t + 1], cnt, lab, wts, cls,
                        &weight_out[0], &resid_out[0], &prob[t, 0], &poll, t)
            range_done(&poll, t, T)
    raise_pending(&poll)


cdef double _shifted_range(
    const double *Z, const double *U, double step, Py_ssize_t K, Py_ssize_t r0,
    Py_ssize_t r1, const double *counts, const Py_ssize_t *labels, const double *weights,
    Py_ssize_t cls, double *z, double *prob, Poll *poll, Py_ssize_t t,
) noexcept nogil:
    cdef Py_ssize_t i, k
    cdef double loss = 0.0, block = 0.0, sn
    for i in range(r0, r1):
        if (i - r0) % ROW_BLOCK == 0:
            loss += block  # a two-level sum: per block, then per thread
            block = 0.0
            if interrupted(poll, t, ROW_BLOCK * K * 4.0):
                break
        for k in range(K):
            z[k] = Z[i * K + k]
        if U != NULL:
            if cls >= 0:
                z[cls] += step * U[i]
            else:
                for k in range(K):
                    z[k] += step * U[i * K + k]
        block += _row_softmax(z, prob, counts + i * K if counts != NULL else NULL,
                              labels[i] if labels != NULL else 0,
                              weights[i] if weights != NULL else 1.0, K, &sn)
    return loss + block


def shifted_loss(
    const double[::1] Z, Py_ssize_t n_rows, Py_ssize_t K, const double[::1] counts,
    const Py_ssize_t[::1] labels, const double[::1] weights, const double[::1] U,
    double step, Py_ssize_t cls, int n_threads,
):
    """The loss sum_i [N_i logsumexp(z_i) - c_i . z_i] at the scores Z + step * U.

    U is None (the loss at Z), a change of class ``cls``'s scores (length n_rows), or
    with cls = -1 a change of every score (flat n_rows x K).
    """
    cdef int T = thread_count(n_threads, n_rows, 4 * n_rows * K)
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef double[:, ::1] scratch = np.empty((T, 2 * K), dtype=np.float64)
    cdef double[::1] sums = np.zeros(T, dtype=np.float64)
    cdef const double *cnt = &counts[0] if counts is not None else NULL
    cdef const Py_ssize_t *lab = &labels[0] if labels is not None else NULL
    cdef const double *wts = &weights[0] if weights is not None else NULL
    cdef const double *u = &U[0] if U is not None and U.shape[0] > 0 else NULL
    cdef int t
    cdef double loss = 0.0
    cdef Poll poll = start_poll(MAIN_THREAD, 4.0 * n_rows * K)
    if (cnt == NULL) == (lab == NULL):
        raise ValueError("give exactly one of counts and labels")
    if n_rows == 0:
        return 0.0
    with nogil:
        _even_rows(n_rows, T, &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=team(T)):
            sums[t] = _shifted_range(&Z[0], u, step, K, bounds[t], bounds[t + 1], cnt, lab,
                                     wts, cls, &scratch[t, 0], &scratch[t, K], &poll, t)
            range_done(&poll, t, T)
        for t in range(T):
            loss += sums[t]
    raise_pending(&poll)
    return loss


# ---------------------------------------------------------------------------
# Column kernels


cdef inline double _value(int clay, const floating *vals, Py_ssize_t n_rows, Py_ssize_t p,
                          Py_ssize_t j, Py_ssize_t a) noexcept nogil:
    """x_ij for the a-th stored entry of column j (a = i for dense columns)."""
    if clay == COL_CSC:
        return 1.0 if vals == NULL else vals[a]
    if clay == COL_F:
        return vals[j * n_rows + a]
    return vals[a * p + j]


cdef inline void _col_range(int clay, const index_t *ptr, Py_ssize_t n_rows, Py_ssize_t j,
                            Py_ssize_t *a0, Py_ssize_t *a1) noexcept nogil:
    if clay == COL_CSC:
        a0[0] = ptr[j]
        a1[0] = ptr[j + 1]
    else:
        a0[0] = 0
        a1[0] = n_rows


def column_combination(
    int col_layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const Py_ssize_t[::1] features, const double[:, ::1] coef, double[:, ::1] out,
    bint unit_values=False,
):
    """out[i, :] += sum_a x_{i, features[a]} coef[a, :] (out n_rows x K', coef
    n_features_used x K'): the change of the scores for a sparse change of W."""
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const index_t *idx = &indices[0]
    cdef const index_t *ptr = &indptr[0]
    cdef Py_ssize_t a, j, e, e0, e1, i, k, Kc = out.shape[1]
    cdef double x
    cdef int stop = 0
    cdef Poll poll = start_poll(MAIN_THREAD, 2.0 * POLL_WORK)
    if unit_values and col_layout == COL_CSC:
        vals = NULL
    with nogil:
        for a in range(features.shape[0]):
            j = features[a]
            _col_range(col_layout, ptr, n_rows, j, &e0, &e1)
            for e in range(e0, e1):
                x = _value(col_layout, vals, n_rows, n_features, j, e)
                i = idx[e] if col_layout == COL_CSC else e
                for k in range(Kc):
                    out[i, k] += x * coef[a, k]
            if interrupted(&poll, 0, col_work(col_layout, ptr, n_rows, j) * Kc):
                stop = 1
                break
    raise_pending(&poll)


def group_weighted_sums(
    int col_layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[:, ::1] H, const Py_ssize_t[::1] features, double[:, ::1] s1_out,
    double[:, ::1] s2_out, bint unit_values=False,
):
    """For j in ``features`` and every class k: s1_out[j, k] = sum_i H_ik x_ij,
    s2_out[j, k] = sum_i H_ik x_ij^2 (H n_rows x K)."""
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef Py_ssize_t a, j, e, e0, e1, i, k, K = H.shape[1]
    cdef double x, hx
    if unit_values and col_layout == COL_CSC:
        vals = NULL
    with nogil:
        for a in range(features.shape[0]):
            j = features[a]
            for k in range(K):
                s1_out[j, k] = 0.0
                s2_out[j, k] = 0.0
            _col_range(col_layout, &indptr[0], n_rows, j, &e0, &e1)
            for e in range(e0, e1):
                x = _value(col_layout, vals, n_rows, n_features, j, e)
                i = indices[e] if col_layout == COL_CSC else e
                for k in range(K):
                    hx = H[i, k] * x
                    s1_out[j, k] += hx
                    s2_out[j, k] += hx * x


# ---------------------------------------------------------------------------
# Block coordinate descent for the grouped penalty

cdef enum:
    MAX_ROOT_STEPS = 200


cdef inline double _group_norm(const double *u, const double *a, double l1, double s,
                               Py_ssize_t K) noexcept nogil:
    cdef Py_ssize_t k
    cdef double t = 0.0, v
    for k in range(K):
        v = u[k] / (a[k] * s + l1)
        t += v * v
    return t


cdef inline bint _group_step(const double *u, const double *a, double l1, Py_ssize_t K,
                             double *wn) noexcept nogil:
    """wn = argmin_v sum_k [a_k v_k^2 / 2 - u_k v_k] + l1 ||v||_2 (a_k >= 0).

    Zero when ||u|| <= l1; otherwise v_k = u_k s / (a_k s + l1) with s = ||v|| > 0 the
    root of phi(s) = sum_k u_k^2 / (a_k s + l1)^2 - 1, a convex decreasing function
    with phi(0) > 0: Newton's method from s = 0 climbs to the root monotonically
    (it never overshoots a convex decreasing function's root). Returns False when the
    model is unbounded (phi stays positive: directions with a_k = 0 and |u| > l1).
    """
    cdef Py_ssize_t k
    cdef double nu = 0.0, s = 0.0, phi, dphi, d, v, flat = 0.0, s_new
    cdef int it
    for k in range(K):
        nu += u[k] * u[k]
        if not a[k] > 0.0:
            flat += u[k] * u[k]
    if nu <= l1 * l1:
        for k in range(K):
            wn[k] = 0.0
        return True
    if l1 <= 0.0:
        if flat > 0.0:
            return False
        for k in range(K):
            wn[k] = u[k] / a[k] if a[k] > 0.0 else 0.0
        return True
    if flat >= l1 * l1:
        return False
    for it in range(MAX_ROOT_STEPS):
        phi = -1.0
        dphi = 0.0
        for k in range(K):
            d = a[k] * s + l1
            v = u[k] / d
            phi += v * v
            dphi -= 2.0 * a[k] * v * v / d
        if not phi > 0.0 or not dphi < 0.0:
            break
        s_new = s - phi / dphi
        if s_new <= s * (1.0 + 1e-16):
            break
        s = s_new
    for k in range(K):
        wn[k] = u[k] * s / (a[k] * s + l1)
    return True


cdef double _group_coordinate(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t K, Py_ssize_t j, const double *H, double *Q,
    double *W, const double *h, const double *sxw, const double *xm, double l1, double l2,
    double *o, double *g, double *u, double *a, double *wn,
) noexcept nogil:
    """Minimise the model over feature j's K coefficients; returns max_k h_jk dw_k^2."""
    cdef Py_ssize_t e, e0, e1, i, k
    cdef double x, dw, d, dmax = 0.0
    cdef bint moved = False
    for k in range(K):
        g[k] = o[k] * sxw[j * K + k]
    _col_range(clay, ptr, n_rows, j, &e0, &e1)
    for e in range(e0, e1):
        x = _value(clay, vals, n_rows, p, j, e)
        i = idx[e] if clay == COL_CSC else e
        for k in range(K):
            g[k] += x * Q[i * K + k]
    for k in range(K):
        a[k] = h[j * K + k] + l2
        u[k] = h[j * K + k] * W[j * K + k] - g[k]
    if not _group_step(u, a, l1, K, wn):
        return 0.0
    for k in range(K):
        wn[k] = wn[k] - W[j * K + k]  # wn now holds the change dw
        if wn[k] != 0.0:
            moved = True
    if not moved:
        return 0.0
    for e in range(e0, e1):
        x = _value(clay, vals, n_rows, p, j, e)
        i = idx[e] if clay == COL_CSC else e
        for k in range(K):
            Q[i * K + k] += wn[k] * H[i * K + k] * x
    for k in range(K):
        dw = wn[k]
        o[k] -= xm[j * K + k] * dw
        W[j * K + k] += dw
        d = h[j * K + k] * dw * dw
        if d > dmax:
            dmax = d
    return dmax


def group_cd_solve(
    int col_layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[:, ::1] H, double[:, ::1] Q, const Py_ssize_t[::1] working,
    double[:, ::1] W, const double[:, ::1] h, const double[:, ::1] sxw,
    const double[:, ::1] xm, const double[::1] l1, const double[::1] l2, double[::1] o,
    double tol, Py_ssize_t max_sweeps, bint unit_values=False,
):
    """Block coordinate descent on the grouped model over the ``working`` features.

    H (n_rows x K) the class-diagonal IRLS weights, Q (n_rows x K) the model gradient
    (updated in place, stored without the intercepts' change o as in cd_solve), W
    (n_features x K) updated in place, h, sxw, xm (n_features x K) the centred
    curvatures, weighted column sums and weighted column means, o (K) the intercepts'
    change so far (updated in place). Sweeps as in cd_solve: a full sweep, then sweeps
    over the nonzero features until no block lowers the model by more than ``tol``,
    then a full sweep again. Returns (sweeps, converged).
    """
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const index_t *idx = &indices[0]
    cdef const index_t *ptr = &indptr[0]
    cdef Py_ssize_t K = H.shape[1]
    cdef Py_ssize_t n_work = working.shape[0], a, j, n_nz, sweeps = 0, k
    cdef double dmax, d
    cdef Py_ssize_t[::1] nz = np.empty(max(n_work, 1), dtype=np.intp)
    cdef double[:, ::1] scratch = np.empty((4, K), dtype=np.float64)
    cdef int stop = 0
    cdef bint converged = False, nonzero
    cdef Poll poll = start_poll(MAIN_THREAD, 2.0 * POLL_WORK)
    if unit_values and col_layout == COL_CSC:
        vals = NULL
    if n_work == 0:
        return 0, True
    with nogil:
        while sweeps < max_sweeps and not stop:
            dmax = 0.0
            n_nz = 0
            for a in range(n_work):
                j = working[a]
                d = _group_coordinate(col_layout, vals, idx, ptr, n_rows, n_features, K, j,
                                      &H[0, 0], &Q[0, 0], &W[0, 0], &h[0, 0], &sxw[0, 0],
                                      &xm[0, 0], l1[j], l2[j], &o[0], &scratch[0, 0],
                                      &scratch[1, 0], &scratch[2, 0], &scratch[3, 0])
                if d > dmax:
                    dmax = d
                nonzero = False
                for k in range(K):
                    if W[j, k] != 0.0:
                        nonzero = True
                if nonzero:
                    nz[n_nz] = j
                    n_nz += 1
                if interrupted(&poll, 0, col_work(col_layout, ptr, n_rows, j) * 2 * K):
                    stop = 1
                    break
            sweeps += 1
            if dmax <= tol:
                converged = True
                break
            if stop:
                break
            while sweeps < max_sweeps and not stop:
                dmax = 0.0
                for a in range(n_nz):
                    j = nz[a]
                    d = _group_coordinate(col_layout, vals, idx, ptr, n_rows, n_features,
                                          K, j, &H[0, 0], &Q[0, 0], &W[0, 0], &h[0, 0],
                                          &sxw[0, 0], &xm[0, 0], l1[j], l2[j], &o[0],
                                          &scratch[0, 0], &scratch[1, 0], &scratch[2, 0],
                                          &scratch[3, 0])
                    if d > dmax:
                        dmax = d
                    if interrupted(&poll, 0, col_work(col_layout, ptr, n_rows, j) * 2 * K):
                        stop = 1
                        break
                sweeps += 1
                if dmax <= tol:
                    break
    raise_pending(&poll)
    return sweeps, converged
