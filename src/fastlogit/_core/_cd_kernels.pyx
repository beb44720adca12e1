# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled kernels of the coordinate-descent engine (see _solvers/_cd.py).

Contract
--------
* The pass over the rows is the loss kernel's (_kernels.binomial_loss_grad with
  ``weight_out`` / ``resid_out``): the loss, the gradient X^T r, sum r, and per row the
  IRLS weight W_i = sn_i p_i (1 - p_i) and residual r_i = sn_i p_i - sk_i.
* The coordinate-descent kernels read the design by *columns*: ``col_layout``
  COL_C (dense C order, column j strided by n_features), COL_F (dense F order,
  column j contiguous) or COL_CSC (a CSC copy of a CSR design, values NULL when
  every stored value is 1). They run on the calling thread, GIL released,
  deterministic, and poll for Ctrl-C between coordinates.
* Everything is accumulated in float64, whatever the dtype of the values.

The quadratic model minimised by ``cd_solve`` around the current point (b, w), with
W and r from that pass, is (in the change d = (db, dw), z-change u = db + X dw)

    Q(d) = sum_i [r_i u_i + W_i u_i^2 / 2] + sum_j [l2_j (w_j + dw_j)^2 / 2
                                                   + l1_j |w_j + dw_j|],
    subject to lo_j <= w_j + dw_j <= hi_j.

With an intercept, each coordinate step on w_j moves b as well, by -xm_j dw_j, where
xm_j = sum_i W_i x_ij / sum_i W_i: the step is then along the W-centred column
x_j - xm_j, which is W-orthogonal to the intercept, so that b stays optimal for the
model after every step (glmnet's centring, done virtually: X is never modified).
The model gradient q_i = r_i + W_i u_i is stored as q_i = q'_i + W_i o with o the
intercept's change so far, so that a step touches only the stored entries of column j.
"""

import threading

import numpy as np

from libc.math cimport fabs
from libc.string cimport memset

from fastlogit._core._columns cimport (
    COL_C, COL_CSC, COL_F, col_axpy, col_dot, col_update, col_work, col_wsums,
)
from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._rows cimport POLL_WORK, Poll, interrupted, raise_pending, start_poll

cdef unsigned long MAIN_THREAD = threading.main_thread().ident


# ---------------------------------------------------------------------------
# Column access (the helpers are in _columns.pxd)


def column_weighted_sums(
    int col_layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] W, const Py_ssize_t[::1] features, double[::1] s1_out,
    double[::1] s2_out, bint unit_values=False,
):
    """For each j in ``features``: s1_out[j] = sum_i W_i x_ij, s2_out[j] = sum_i W_i x_ij^2."""
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef Py_ssize_t a, j
    if unit_values and col_layout == COL_CSC:
        vals = NULL
    with nogil:
        for a in range(features.shape[0]):
            j = features[a]
            col_wsums(col_layout, vals, &indices[0], &indptr[0], n_rows, n_features, j,
                      &W[0], &s1_out[j], &s2_out[j])


# ---------------------------------------------------------------------------
# Coordinate descent on the quadratic model


cdef inline double _coordinate(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t j, const double *W, double *q,
    double *w, const double *h, const double *sxw, const double *xm, const double *l1,
    const double *l2, const double *lo, const double *hi, double *o,
) noexcept nogil:
    """Minimise the model along feature j (the intercept following); returns h_j dw^2."""
    cdef double g, u, denom, wn, dw
    denom = h[j] + l2[j]
    if not denom > 0.0:
        return 0.0  # no curvature and no ridge: the model is flat or unbounded along j
    # model gradient along the W-centred column: x_j . q + o sum_i W_i x_ij (sum q = 0)
    g = col_dot(clay, vals, idx, ptr, n_rows, p, j, q) + o[0] * sxw[j]
    u = h[j] * w[j] - g
    if u > l1[j]:
        wn = (u - l1[j]) / denom
    elif u < -l1[j]:
        wn = (u + l1[j]) / denom
    else:
        wn = 0.0
    if wn < lo[j]:
        wn = lo[j]
    elif wn > hi[j]:
        wn = hi[j]
    dw = wn - w[j]
    if dw == 0.0:
        return 0.0
    col_update(clay, vals, idx, ptr, n_rows, p, j, dw, W, q)
    o[0] -= xm[j] * dw
    w[j] = wn
    return h[j] * dw * dw


# ---------------------------------------------------------------------------
# Acceleration of the sweeps over the nonzero features
#
# Coordinate descent is Gauss-Seidel on the model: on an ill-conditioned model (small
# lam, about as many nonzero features as rows) it needs thousands of sweeps.
# Anderson extrapolation (Anderson 1965; for coordinate descent, Bertrand and Massias
# 2021, "Anderson acceleration of coordinate descent", AISTATS): every AA_EVERY sweeps over
# the nonzero features, from the last AA_DEPTH + 1 iterates, the affine combination of them
# whose differences combine to the smallest change. Once the sign pattern settles a sweep is an affine map,
# and the extrapolation finds its fixed point far faster than the sweeps; the
# extrapolated point is judged on the exact model (L1 term and bounds included) and kept
# only when it lowers it, so coordinate descent keeps the last word.

cdef enum:
    AA_DEPTH = 5
    AA_EVERY = 2


cdef void _centred_product(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, const Py_ssize_t *A, Py_ssize_t nA, const double *d,
    const double *xm, double *t,
) noexcept nogil:
    """t = X_A d - (xm . d): the z-change of the step d along the centred columns."""
    cdef Py_ssize_t a, i
    cdef double c = 0.0
    memset(t, 0, n_rows * sizeof(double))
    for a in range(nA):
        if d[a] != 0.0:
            col_axpy(clay, vals, idx, ptr, n_rows, p, A[a], d[a], t)
            c += xm[A[a]] * d[a]
    for i in range(n_rows):
        t[i] -= c


cdef double _model_change(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, const Py_ssize_t *A, Py_ssize_t nA, const double *d,
    const double *W, const double *q, const double *w, const double *xm, const double *l1,
    const double *l2, double o, double *t,
) noexcept nogil:
    """Q(w + d) - Q(w) for a step d over the features A (t receives its z-change)."""
    cdef Py_ssize_t a, i, j
    cdef double dQ = 0.0, wn
    _centred_product(clay, vals, idx, ptr, n_rows, p, A, nA, d, xm, t)
    for i in range(n_rows):
        dQ += (q[i] + W[i] * o + 0.5 * W[i] * t[i]) * t[i]
    for a in range(nA):
        j = A[a]
        wn = w[j] + d[a]
        dQ += 0.5 * l2[j] * (wn * wn - w[j] * w[j]) + l1[j] * (fabs(wn) - fabs(w[j]))
    return dQ


cdef void _apply_step(
    Py_ssize_t n_rows, const Py_ssize_t *A, Py_ssize_t nA, const double *d, const double *W,
    double *q, double *w, const double *xm, double *o, const double *t,
) noexcept nogil:
    """Take the step d whose z-change _model_change left in t."""
    cdef Py_ssize_t a, i
    cdef double c = 0.0
    for a in range(nA):
        c += xm[A[a]] * d[a]
        w[A[a]] += d[a]
    for i in range(n_rows):
        q[i] += W[i] * (t[i] + c)
    o[0] -= c


cdef inline double _clip(double v, double lo, double hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)


cdef double _anderson_step(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, const Py_ssize_t *A, Py_ssize_t nA, const double *hist,
    Py_ssize_t first, const double *W, double *q, double *w, const double *xm, const double *l1,
    const double *l2, const double *lo, const double *hi, double *o, double *d, double *t,
) noexcept nogil:
    """Anderson extrapolation from hist (AA_DEPTH + 1 rows of nA iterates, the last one the
    current w[A]); takes it when it lowers the model and returns the decrease (else 0)."""
    cdef double G[AA_DEPTH][AA_DEPTH]
    cdef double z[AA_DEPTH]
    cdef double u, v, piv, tot, tmax, ridge = 0.0
    cdef Py_ssize_t row[AA_DEPTH + 1]
    cdef Py_ssize_t a, r, c, m = AA_DEPTH
    for r in range(m + 1):
        row[r] = ((first + r) % (m + 1)) * nA
    for r in range(m):
        for c in range(r, m):
            u = 0.0
            for a in range(nA):
                u += ((hist[row[r + 1] + a] - hist[row[r] + a])
                      * (hist[row[c + 1] + a] - hist[row[c] + a]))
            G[r][c] = u
            G[c][r] = u
        ridge += G[r][r]
    if not ridge > 0.0:
        return 0.0
    ridge *= 1e-10
    # solve (G + ridge I) z = 1 by Cholesky
    for r in range(m):
        G[r][r] += ridge
    for c in range(m):
        piv = G[c][c]
        for r in range(c):
            piv -= G[c][r] * G[c][r]
        if not piv > 0.0:
            return 0.0
        piv = piv ** 0.5
        G[c][c] = piv
        for r in range(c + 1, m):
            u = G[r][c]
            for a in range(c):
                u -= G[r][a] * G[c][a]
            G[r][c] = u / piv
    for r in range(m):
        u = 1.0
        for c in range(r):
            u -= G[r][c] * z[c]
        z[r] = u / G[r][r]
    for r in range(m - 1, -1, -1):
        u = z[r]
        for c in range(r + 1, m):
            u -= G[c][r] * z[c]
        z[r] = u / G[r][r]
    tot = 0.0
    for r in range(m):
        tot += z[r]
    if not fabs(tot) > 0.0:
        return 0.0
    for a in range(nA):
        v = 0.0
        for r in range(m):
            v += z[r] * hist[row[r + 1] + a]
        d[a] = _clip(v / tot, lo[A[a]], hi[A[a]]) - w[A[a]]
    u = _model_change(clay, vals, idx, ptr, n_rows, p, A, nA, d, W, q, w, xm, l1, l2, o[0], t)
    if not u < 0.0:
        # The sweeps' map is affine only while the signs hold: an extrapolation past the
        # point where a coefficient reaches 0 overshoots the kink. Stop there instead.
        tmax = 1.0
        for a in range(nA):
            v = w[A[a]]
            if v != 0.0 and l1[A[a]] > 0.0 and (v + d[a] > 0.0) != (v > 0.0):
                tmax = min(tmax, -v / d[a])
        if not 0.0 < tmax < 1.0:
            return 0.0
        for a in range(nA):
            v = w[A[a]]
            d[a] = -v if v != 0.0 and -v / d[a] == tmax else tmax * d[a]
        u = _model_change(clay, vals, idx, ptr, n_rows, p, A, nA, d, W, q, w, xm, l1, l2,
                          o[0], t)
        if not u < 0.0:
            return 0.0
    _apply_step(n_rows, A, nA, d, W, q, w, xm, o, t)
    return -u


def cd_solve(
    int col_layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] W, double[::1] q, const Py_ssize_t[::1] working, double[::1] w,
    const double[::1] h, const double[::1] sxw, const double[::1] xm,
    const double[::1] l1, const double[::1] l2, const double[::1] lo, const double[::1] hi,
    double o, double tol, Py_ssize_t max_sweeps, bint unit_values=False, bint accelerate=True,
):
    """Cyclic coordinate descent on the quadratic model over the ``working`` features.

    q holds the model gradient q'_i (see the module docstring; it is updated in place),
    o the intercept's change so far (q = q' + W o). Sweeps alternate as in glmnet: one
    over every working feature, then sweeps over the nonzero ones until no step lowers
    the model by more than ``tol`` (max_j h_j dw_j^2, in the units of the loss), then a
    full sweep again; it stops when a full sweep changes nothing by more than tol, or
    after ``max_sweeps`` sweeps. With ``accelerate``, the sweeps over the nonzero features
    are extrapolated (see _anderson_step). Returns (o, sweeps, converged, extrapolations):
    converged is True when the last full sweep changed nothing by more than tol;
    extrapolations counts the extrapolated points kept.
    """
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const index_t *idx = &indices[0]
    cdef const index_t *ptr = &indptr[0]
    cdef Py_ssize_t n_work = working.shape[0], a, j, n_nz, sweeps = 0, n_acc = 0, n_hist, slot
    cdef double dmax, d
    cdef Py_ssize_t[::1] nz = np.empty(max(n_work, 1), dtype=np.intp)
    # the extrapolation's iterates (AA_DEPTH + 1 rows), its step, and its z-change
    cdef double[::1] buf = np.empty((AA_DEPTH + 2) * max(n_work, 1) if accelerate else 1,
                                    dtype=np.float64)
    cdef double[::1] rows_t = np.empty(max(n_rows, 1) if accelerate else 1, dtype=np.float64)
    cdef double *hist = &buf[0]
    cdef double *step = &buf[0] + (AA_DEPTH + 1) * max(n_work, 1)
    cdef int stop = 0
    # Ctrl-C is answered every POLL_WORK stored values visited (on Python's main thread)
    cdef Poll poll = start_poll(MAIN_THREAD, 2.0 * POLL_WORK)
    if unit_values and col_layout == COL_CSC:
        vals = NULL
    cdef bint converged = False
    if n_work == 0:
        return o, 0, True, 0
    with nogil:
        while sweeps < max_sweeps and not stop:
            # a full sweep over the working set
            dmax = 0.0
            n_nz = 0
            for a in range(n_work):
                j = working[a]
                d = _coordinate(col_layout, vals, idx, ptr, n_rows, n_features, j, &W[0],
                                &q[0], &w[0], &h[0], &sxw[0], &xm[0], &l1[0], &l2[0],
                                &lo[0], &hi[0], &o)
                if d > dmax:
                    dmax = d
                if w[j] != 0.0:
                    nz[n_nz] = j
                    n_nz += 1
                if interrupted(&poll, 0, col_work(col_layout, ptr, n_rows, j)):
                    stop = 1
                    break
            sweeps += 1
            if dmax <= tol:
                converged = True
                break
            if stop:
                break
            # sweeps over the nonzero features until they settle
            n_hist = 0
            slot = 0
            while sweeps < max_sweeps and not stop:
                dmax = 0.0
                for a in range(n_nz):
                    j = nz[a]
                    d = _coordinate(col_layout, vals, idx, ptr, n_rows, n_features, j,
                                    &W[0], &q[0], &w[0], &h[0], &sxw[0], &xm[0], &l1[0],
                                    &l2[0], &lo[0], &hi[0], &o)
                    if d > dmax:
                        dmax = d
                    if interrupted(&poll, 0, col_work(col_layout, ptr, n_rows, j)):
                        stop = 1
                        break
                sweeps += 1
                if dmax <= tol or stop:
                    break
                if accelerate:
                    for a in range(n_nz):
                        hist[slot * n_nz + a] = w[nz[a]]
                    slot = (slot + 1) % (AA_DEPTH + 1)
                    n_hist += 1
                    if n_hist >= AA_DEPTH + 1 and (n_hist - AA_DEPTH - 1) % AA_EVERY == 0:
                        if _anderson_step(col_layout, vals, idx, ptr, n_rows, n_features,
                                          &nz[0], n_nz, hist, slot, &W[0], &q[0], &w[0],
                                          &xm[0], &l1[0], &l2[0], &lo[0], &hi[0], &o, step,
                                          &rows_t[0]) > 0.0:
                            n_acc += 1
                            n_hist = 0
    raise_pending(&poll)
    return o, sweeps, converged, n_acc
