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
# (LAYOUT_C / LAYOUT_F / LAYOUT_CSR, partition_rows). CSR rows are handled
# by the loops below; dense blocks by BLAS (see "Dense rows").
# offset, when not NULL, is an n_rows x K C-ordered array.
# Every sum is accumulated in double, for float32 values too.

from scipy.linalg.cython_blas cimport dgemm

from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._rows cimport LAYOUT_C, LAYOUT_CSR, block_rows


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


cdef extern from *:
    """
    /* y[0:K] += a * x[0:K]. `restrict` tells the compiler that x and y never
       overlap (they never do here: W or D against Z or G), so it vectorises the
       loop without the run-time overlap test it would otherwise insert in every
       call -- a test that costs as much as the loop itself for K ~ 10. */
    static inline void fl_axpy_k(double a, const double *__restrict x,
                                 double *__restrict y, Py_ssize_t K) {
        for (Py_ssize_t k = 0; k < K; k++) y[k] += a * x[k];
    }
    """
    void axpy_k "fl_axpy_k"(double a, const double *x, double *y, Py_ssize_t K) noexcept nogil


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


# ---------------------------------------------------------------------------
# Dense rows: a block of rows times W is a small matrix product, which BLAS
# (scipy's, through cython_blas) does several times faster than any loop we
# could write portably (it dispatches to the CPU's widest vector units at run
# time; our own code is built for the baseline ISA). A block of float64 X is
# handed to dgemm in place, C or F order (F blocks are strided submatrices
# with leading dimension n_rows); float32 blocks are first widened into a
# per-thread double scratch of block x n_features, so that every product is
# accumulated in double. Blocks are kept below OpenBLAS's threading threshold
# (block_rows_multi) so that each call runs on the calling thread only.

cdef enum:
    GEMM_MAX_WORK = 262144   # m * n * k below which OpenBLAS's gemm stays single-threaded
    MAX_BLOCK_DENSE = 1024
    INT32_MAX = 2147483647


cdef inline Py_ssize_t block_rows_multi(
    int layout, Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t nnz, Py_ssize_t itemsize,
    Py_ssize_t idxsize, Py_ssize_t K,
) noexcept nogil:
    """Rows per block: as block_rows for CSR; for dense X as many as one
    single-threaded gemm of (block x p) by (p x K) takes (at least 8)."""
    cdef Py_ssize_t blk
    if layout == LAYOUT_CSR:
        return block_rows(layout, n_rows, p, nnz, itemsize, idxsize)
    blk = GEMM_MAX_WORK // ((p if p > 0 else 1) * K)
    if blk > MAX_BLOCK_DENSE:
        blk = MAX_BLOCK_DENSE
    if blk < 8:
        blk = 8
    return blk


cdef inline const double *dense_block(
    int layout, const floating *X, Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0,
    Py_ssize_t i1, double *scratch, int *ld, bint *col_major,
) noexcept nogil:
    """Rows [i0, i1) of dense X as float64 for dgemm: in place for float64, else
    widened into scratch (C order). Sets the leading dimension and the order."""
    cdef Py_ssize_t i, j, m = i1 - i0
    if floating is double:
        if layout == LAYOUT_C:
            ld[0] = <int> (p if p > 0 else 1)
            col_major[0] = False
            return X + i0 * p
        if n_rows <= INT32_MAX:
            ld[0] = <int> n_rows
            col_major[0] = True
            return X + i0
    if layout == LAYOUT_C:
        for i in range(m * p):
            scratch[i] = X[i0 * p + i]
    else:
        for i in range(m):
            for j in range(p):
                scratch[i * p + j] = X[(i0 + i) + j * n_rows]
    ld[0] = <int> (p if p > 0 else 1)
    col_major[0] = False
    return scratch


cdef inline void zk_dense(
    const double *Xb, int ld, bint col_major, Py_ssize_t m, Py_ssize_t p, Py_ssize_t K,
    const double *W, double *Z,
) noexcept nogil:
    """Z (m x K, C order) += X_blk W. In BLAS's column-major terms Z^T = W^T X_blk^T,
    W^T being W (p x K, C order) read as K x p column-major."""
    cdef int mm = <int> K, nn = <int> m, kk = <int> p, ldw = <int> K, ldz = <int> K
    cdef double one = 1.0
    cdef char *tb = b"T" if col_major else b"N"
    if m == 0 or p == 0:
        return
    dgemm(b"N", tb, &mm, &nn, &kk, &one, <double *> W, &ldw, <double *> Xb, &ld, &one,
          Z, &ldz)


cdef inline void xtdk_dense(
    const double *Xb, int ld, bint col_major, Py_ssize_t m, Py_ssize_t p, Py_ssize_t K,
    const double *D, double *G,
) noexcept nogil:
    """G (p x K, C order) += X_blk^T D, i.e. G^T += D^T X_blk in column-major terms."""
    cdef int mm = <int> K, nn = <int> p, kk = <int> m, ldd = <int> K, ldg = <int> K
    cdef double one = 1.0
    cdef char *tb = b"N" if col_major else b"T"
    if m == 0 or p == 0:
        return
    dgemm(b"N", tb, &mm, &nn, &kk, &one, <double *> D, &ldd, <double *> Xb, &ld, &one,
          G, &ldg)


cdef inline void zk_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K,
    const double *W, const double *b, const double *offset, double *Z,
    const double *Xb, int ld, bint col_major,
) noexcept nogil:
    """Z[i - i0, k] = offset[i, k] + b[k] + x_i . W[:, k] for the rows i0 <= i < i1.

    Dense layouts read the block from (Xb, ld, col_major), set by dense_block.
    """
    init_scores(i0, i1, K, b, offset, Z)
    if layout == LAYOUT_CSR:
        zk_rows_csr(values, indices, indptr, i0, i1, K, W, Z)
    else:
        zk_dense(Xb, ld, col_major, i1 - i0, p, K, W, Z)


cdef inline void xtdk_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K,
    const double *D, double *G, const double *Xb, int ld, bint col_major,
) noexcept nogil:
    """G[j, k] += sum_{i0 <= i < i1} x_ij D[i - i0, k]."""
    if layout == LAYOUT_CSR:
        xtdk_rows_csr(values, indices, indptr, i0, i1, K, D, G)
    else:
        xtdk_dense(Xb, ld, col_major, i1 - i0, p, K, D, G)
