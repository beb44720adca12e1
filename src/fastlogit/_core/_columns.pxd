# Column access shared by the coordinate-descent kernels (_cd_kernels.pyx, _cd_multi.pyx).
#
# The design read by columns, ``clay``: COL_C (dense C order, column j strided by p),
# COL_F (dense F order, column j contiguous) or COL_CSC (a CSC copy of a CSR design;
# values NULL when every stored value is 1). Sums are accumulated in float64.

from fastlogit._core._kernels cimport floating, index_t

cdef enum:
    COL_C = 0
    COL_F = 1
    COL_CSC = 2


cdef inline double col_dot(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t j, const double *q,
) noexcept nogil:
    """sum_i x_ij q_i."""
    cdef Py_ssize_t i, jj
    cdef double s0 = 0.0, s1 = 0.0
    cdef const floating *col
    if clay == COL_CSC:
        jj = ptr[j]
        if vals == NULL:
            while jj + 2 <= ptr[j + 1]:
                s0 += q[idx[jj]]
                s1 += q[idx[jj + 1]]
                jj += 2
            if jj < ptr[j + 1]:
                s0 += q[idx[jj]]
        else:
            while jj + 2 <= ptr[j + 1]:
                s0 += vals[jj] * q[idx[jj]]
                s1 += vals[jj + 1] * q[idx[jj + 1]]
                jj += 2
            if jj < ptr[j + 1]:
                s0 += vals[jj] * q[idx[jj]]
    elif clay == COL_F:
        col = vals + j * n_rows
        i = 0
        while i + 2 <= n_rows:
            s0 += col[i] * q[i]
            s1 += col[i + 1] * q[i + 1]
            i += 2
        if i < n_rows:
            s0 += col[i] * q[i]
    else:
        for i in range(n_rows):
            s0 += vals[i * p + j] * q[i]
    return s0 + s1


cdef inline void col_wsums(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t j, const double *W, double *s1, double *s2,
) noexcept nogil:
    """s1 = sum_i W_i x_ij, s2 = sum_i W_i x_ij^2."""
    cdef Py_ssize_t i, jj
    cdef double a = 0.0, c = 0.0, x, wx
    if clay == COL_CSC:
        for jj in range(ptr[j], ptr[j + 1]):
            x = 1.0 if vals == NULL else vals[jj]
            wx = W[idx[jj]] * x
            a += wx
            c += wx * x
    elif clay == COL_F:
        for i in range(n_rows):
            x = vals[j * n_rows + i]
            wx = W[i] * x
            a += wx
            c += wx * x
    else:
        for i in range(n_rows):
            x = vals[i * p + j]
            wx = W[i] * x
            a += wx
            c += wx * x
    s1[0] = a
    s2[0] = c


cdef inline void col_update(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t j, double delta, const double *W, double *q,
) noexcept nogil:
    """q_i += delta * W_i * x_ij."""
    cdef Py_ssize_t i, jj
    cdef const floating *col
    if clay == COL_CSC:
        if vals == NULL:
            for jj in range(ptr[j], ptr[j + 1]):
                q[idx[jj]] += delta * W[idx[jj]]
        else:
            for jj in range(ptr[j], ptr[j + 1]):
                q[idx[jj]] += delta * W[idx[jj]] * vals[jj]
    elif clay == COL_F:
        col = vals + j * n_rows
        for i in range(n_rows):
            q[i] += delta * W[i] * col[i]
    else:
        for i in range(n_rows):
            q[i] += delta * W[i] * vals[i * p + j]


cdef inline void col_axpy(
    int clay, const floating *vals, const index_t *idx, const index_t *ptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t j, double delta, double *t,
) noexcept nogil:
    """t_i += delta * x_ij."""
    cdef Py_ssize_t i, jj
    if clay == COL_CSC:
        for jj in range(ptr[j], ptr[j + 1]):
            t[idx[jj]] += delta if vals == NULL else delta * vals[jj]
    elif clay == COL_F:
        for i in range(n_rows):
            t[i] += delta * vals[j * n_rows + i]
    else:
        for i in range(n_rows):
            t[i] += delta * vals[i * p + j]


cdef inline double col_work(int clay, const index_t *ptr, Py_ssize_t n_rows,
                            Py_ssize_t j) noexcept nogil:
    if clay == COL_CSC:
        return <double> (ptr[j + 1] - ptr[j]) + 1.0
    return <double> n_rows
