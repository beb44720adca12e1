# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The stochastic solver's kernels: the binomial loss and gradient of one contiguous range
of rows (a mini-batch), and its fused per-coordinate updates.

The stochastic solver (_sgd.py) steps on mini-batches [r0, r1) of X. This entry point
takes the *whole* validated design (the contract of _kernels.pyx: layout, values,
indices, indptr, n_rows, n_features; n, k, offset of length n_rows) plus the range, and
reads only rows r0 <= i < r1, with absolute row indices: dense C, dense F (whose rows
are strided, so no slice of it is a valid F-ordered design) and CSR alike. Nothing is
sliced or copied, so a memory-mapped X is read only where the batch lies.

Serial on purpose: a mini-batch is far below the ~1 ms of work per thread that makes
waking an OpenMP team pay (see _rows.thread_count). The per-row math is
_kernels.binomial_point and the per-layout loops are _rows.z_block / xtd_block, the
same as the full-data kernel, so a batch covering all rows gives the full-data answer
(bitwise at threads=1).
"""

from libc.math cimport sqrt
from libc.string cimport memset

from fastlogit._core._kernels cimport binomial_point, floating, index_t
from fastlogit._core._rows cimport LAYOUT_CSR, block_rows, xtd_block, z_block

cdef enum:
    MAX_ROWS = 256  # block of rows whose scores sit in the stack buffer below


def binomial_loss_grad_rows(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features,
    const double[::1] n, const double[::1] k, const double[::1] offset,
    const double[::1] w, double b, double[::1] grad_out, Py_ssize_t r0, Py_ssize_t r1,
    bint unit_values=False,
):
    """sum over rows r0 <= i < r1 of [n_i log1pexp(z_i) - k_i z_i]; X[r0:r1]^T r into
    grad_out (overwritten); returns (loss, sum r). See binomial_loss_grad."""
    if not (0 <= r0 <= r1 <= n_rows):
        raise ValueError(f"row range [{r0}, {r1}) outside [0, {n_rows}]")
    cdef Py_ssize_t p = n_features
    cdef Py_ssize_t blk = block_rows(layout, n_rows, p, values.shape[0],
                                     sizeof(floating), sizeof(index_t))
    cdef double zbuf[MAX_ROWS]
    cdef const double *off = &offset[0] if offset is not None else NULL
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const double *wp = &w[0] if p > 0 else NULL
    cdef double *g = &grad_out[0] if p > 0 else NULL
    cdef Py_ssize_t i, i0 = r0, i1
    cdef double loss = 0.0, gb = 0.0, part, s, d
    if unit_values and layout == LAYOUT_CSR:
        vals = NULL
    if blk > MAX_ROWS:
        blk = MAX_ROWS
    with nogil:
        if p > 0:
            memset(g, 0, p * sizeof(double))
        while i0 < r1:
            i1 = i0 + blk if i0 + blk < r1 else r1
            z_block(layout, vals, &indices[0], &indptr[0], n_rows, p, i0, i1, wp, b, off,
                    zbuf)
            # per-block partial sums added to the total: the same two-level sum as
            # the full-data kernel
            part = 0.0
            s = 0.0
            for i in range(i1 - i0):
                part += binomial_point(zbuf[i], n[i0 + i], k[i0 + i], &d)
                zbuf[i] = d
                s += d
            loss += part
            gb += s
            if p > 0:
                xtd_block(layout, vals, &indices[0], &indptr[0], n_rows, p, i0, i1, zbuf, g)
            i0 = i1
    return loss, gb


# ---------------------------------------------------------------------------
# The stochastic solver's per-coordinate updates (see _sgd.py), fused into one pass
# over the coefficients each: a step on a wide problem (100,000 features) otherwise
# spends more time in fifteen numpy passes over p-vectors than in the batch's rows.


def user_coef(const double[::1] v, const double[::1] sd, const double[::1] mu,
              double[::1] w_out):
    """w = v / sd (into w_out); returns mu . w (the intercept's shift b = b' - mu . w)."""
    cdef Py_ssize_t j, p = v.shape[0]
    cdef double s = 0.0
    with nogil:
        for j in range(p):
            w_out[j] = v[j] / sd[j]
            s += mu[j] * w_out[j]
    return s


def adagrad_update(double[::1] v, double[::1] sumsq, double[::1] avg,
                   const double[::1] grad_w, const double[::1] w, const double[::1] mu,
                   const double[::1] sd, const double[::1] factor, double grad_b,
                   double inv_batch, double ridge, double eta, double delta, double avg_weight,
                   bint dry_run=False):
    """One AdaGrad step on the coefficients v (standardised coordinates), in one pass:

        g_j = ((grad_w_j - mu_j grad_b) inv_batch + ridge c_j w_j) / sd_j
        sumsq_j += g_j^2;  v_j -= eta g_j / (delta + sqrt(sumsq_j))
        avg_j += avg_weight (v_j - avg_j)

    (c = factor, or 1 when factor is None). Returns sum_j g_j^2. With dry_run, only
    that sum is computed and nothing is changed (for delta, on the first step).
    """
    cdef Py_ssize_t j, p = v.shape[0]
    cdef double g, pen, total = 0.0
    cdef const double *c = &factor[0] if factor is not None and p > 0 else NULL
    with nogil:
        for j in range(p):
            pen = ridge * w[j] if c == NULL else ridge * c[j] * w[j]
            g = ((grad_w[j] - mu[j] * grad_b) * inv_batch + pen) / sd[j]
            total += g * g
            if dry_run:
                continue
            sumsq[j] += g * g
            v[j] -= eta * g / (delta + sqrt(sumsq[j]))
            avg[j] += avg_weight * (v[j] - avg[j])
    return total
