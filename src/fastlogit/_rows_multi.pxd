# Layout building blocks for kernels with K scores per row (softmax).
#
# The companion of _rows.pxd (whose z_block/xtd_block compute one score per
# row): here a block of rows [i0, i1) gets a score matrix Z of shape
# (i1 - i0) x K, and the backward half accumulates G += X_blk^T D with D of
# the same shape. Coefficients and gradients are stored *feature-major*,
# W[j * K + k] (shape n_features x K, C order): a stored entry x_ij then
# touches one contiguous K-vector of W and of G (one or two cache lines for
# K <= 16) instead of K lines n_features * 8 bytes apart. That is what makes
# the CSR gather/scatter cheap, and it keeps the dense loops unit-stride in k.
#
# Layouts, offsets and thread partitions are exactly those of _rows.pxd
# (LAYOUT_C / LAYOUT_F / LAYOUT_CSR, block_rows, partition_rows).
# offset, when not NULL, is an n_rows x K C-ordered array.
# Every sum is accumulated in double, for float32 values too.

from fastlogit._kernels cimport floating, index_t
from fastlogit._rows cimport LAYOUT_C, LAYOUT_CSR


cdef inline void init_scores(
    Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K, const double *b, const double *offset,
    double *Z,
) noexcept nogil:
    """Z[i - i0, k] = b[k] + offset[i, k]."""
    cdef Py_ssize_t i, k
    cdef double *zi
    for i in range(i0, i1):
        zi = Z + (i - i0) * K
        if offset != NULL:
            for k in range(K):
                zi[k] = b[k] + offset[i * K + k]
        else:
            for k in range(K):
                zi[k] = b[k]


cdef inline void axpy_k(double a, const double *x, double *y, Py_ssize_t K) noexcept nogil:
    """y[0:K] += a * x[0:K] (no reduction: the compiler vectorises it)."""
    cdef Py_ssize_t k
    for k in range(K):
        y[k] += a * x[k]


cdef inline void zk_rows_csr(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K, const double *W, double *Z,
) noexcept nogil:
    cdef Py_ssize_t i, jj
    for i in range(i0, i1):
        for jj in range(indptr[i], indptr[i + 1]):
            axpy_k(data[jj], W + indices[jj] * K, Z + (i - i0) * K, K)


cdef inline void xtdk_rows_csr(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K, const double *D, double *G,
) noexcept nogil:
    cdef Py_ssize_t i, jj
    for i in range(i0, i1):
        for jj in range(indptr[i], indptr[i + 1]):
            axpy_k(data[jj], D + (i - i0) * K, G + indices[jj] * K, K)


cdef inline void zk_rows_dense_c(
    const floating *X, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K,
    const double *W, double *Z,
) noexcept nogil:
    # Two rows at a time: each K-vector of W read from cache serves both rows.
    cdef Py_ssize_t i = i0, j, k
    cdef const floating *x0
    cdef const floating *x1
    cdef double *z0
    cdef double *z1
    cdef const double *wj
    cdef double a0, a1
    while i + 2 <= i1:
        x0 = X + i * p
        x1 = x0 + p
        z0 = Z + (i - i0) * K
        z1 = z0 + K
        for j in range(p):
            a0 = x0[j]
            a1 = x1[j]
            wj = W + j * K
            for k in range(K):
                z0[k] += a0 * wj[k]
                z1[k] += a1 * wj[k]
        i += 2
    if i < i1:
        x0 = X + i * p
        z0 = Z + (i - i0) * K
        for j in range(p):
            axpy_k(x0[j], W + j * K, z0, K)


cdef inline void xtdk_rows_dense_c(
    const floating *X, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K,
    const double *D, double *G,
) noexcept nogil:
    # Two rows at a time: each K-vector of G is loaded and stored once per pair.
    cdef Py_ssize_t i = i0, j, k
    cdef const floating *x0
    cdef const floating *x1
    cdef const double *d0
    cdef const double *d1
    cdef double *gj
    cdef double a0, a1
    while i + 2 <= i1:
        x0 = X + i * p
        x1 = x0 + p
        d0 = D + (i - i0) * K
        d1 = d0 + K
        for j in range(p):
            a0 = x0[j]
            a1 = x1[j]
            gj = G + j * K
            for k in range(K):
                gj[k] += a0 * d0[k] + a1 * d1[k]
        i += 2
    if i < i1:
        x0 = X + i * p
        d0 = D + (i - i0) * K
        for j in range(p):
            axpy_k(x0[j], d0, G + j * K, K)


cdef inline void zk_rows_dense_f(
    const floating *X, Py_ssize_t ld, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    Py_ssize_t K, const double *W, double *Z,
) noexcept nogil:
    # Column-wise: the segment [i0, i1) of column j is contiguous; the block
    # is small enough (block_rows) to stay in cache for the backward half.
    cdef Py_ssize_t i, j
    cdef const floating *col
    for j in range(p):
        col = X + j * ld + i0
        for i in range(i1 - i0):
            axpy_k(col[i], W + j * K, Z + i * K, K)


cdef inline void xtdk_rows_dense_f(
    const floating *X, Py_ssize_t ld, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    Py_ssize_t K, const double *D, double *G,
) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef const floating *col
    for j in range(p):
        col = X + j * ld + i0
        for i in range(i1 - i0):
            axpy_k(col[i], D + i * K, G + j * K, K)


cdef inline void zk_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K,
    const double *W, const double *b, const double *offset, double *Z,
) noexcept nogil:
    """Z[i - i0, k] = offset[i, k] + b[k] + x_i . W[:, k] for the rows i0 <= i < i1."""
    init_scores(i0, i1, K, b, offset, Z)
    if layout == LAYOUT_CSR:
        zk_rows_csr(values, indices, indptr, i0, i1, K, W, Z)
    elif layout == LAYOUT_C:
        zk_rows_dense_c(values, p, i0, i1, K, W, Z)
    else:
        zk_rows_dense_f(values, n_rows, p, i0, i1, K, W, Z)


cdef inline void xtdk_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K,
    const double *D, double *G,
) noexcept nogil:
    """G[j, k] += sum_{i0 <= i < i1} x_ij D[i - i0, k]."""
    if layout == LAYOUT_CSR:
        xtdk_rows_csr(values, indices, indptr, i0, i1, K, D, G)
    elif layout == LAYOUT_C:
        xtdk_rows_dense_c(values, p, i0, i1, K, D, G)
    else:
        xtdk_rows_dense_f(values, n_rows, p, i0, i1, K, D, G)
