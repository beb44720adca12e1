# fastlogit's public Cython API: the per-row functions and a loss-and-gradient over a
# range of rows, for compiled packages that want fastlogit's numerics in their own loops.
#
#     from fastlogit.backend.kernels cimport log1pexp, sigmoid, binomial_point
#     from fastlogit.backend.kernels cimport binomial_loss_grad_csr, binomial_loss_grad_dense
#
# Everything here is `cdef inline ... noexcept nogil`: it compiles into the caller's module
# (nothing is linked against fastlogit's shared objects), takes plain pointers, allocates
# nothing and never touches Python objects. The caller validates its arrays. Names and
# signatures follow the backend's versioning rules (see fastlogit.backend's docstring):
# they change only in a new major version, after a release that warns.
#
# Build: add the folder that holds the `fastlogit` package to Cython's include path, e.g.
#     cythonize(ext, include_path=[os.path.dirname(os.path.dirname(fastlogit.__file__))])

from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._kernels cimport binomial_point as _binomial_point
from fastlogit._core._kernels cimport log1pexp as _log1pexp
from fastlogit._core._kernels cimport sigmoid as _sigmoid


cdef inline double log1pexp(double z) noexcept nogil:
    """log(1 + exp(z)), finite and accurate to a few ulp for every finite z."""
    return _log1pexp(z)


cdef inline double sigmoid(double z) noexcept nogil:
    """1 / (1 + exp(-z)) without overflow."""
    return _sigmoid(z)


cdef inline double log_sigmoid(double z) noexcept nogil:
    """log(sigmoid(z)) = -log1pexp(-z)."""
    return -_log1pexp(-z)


cdef inline double binomial_point(double z, double n, double k, double *dz) noexcept nogil:
    """One row's loss n log1pexp(z) - k z; stores its derivative n sigmoid(z) - k in dz[0]."""
    return _binomial_point(z, n, k, dz)


cdef inline double binomial_loss_grad_csr(
    const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t row_start, Py_ssize_t row_stop,
    const double *n, const double *k, const double *sample_weight, const double *offset,
    const double *w, double b, double *grad_w, double *grad_b,
) noexcept nogil:
    """Loss and gradient of CSR rows [row_start, row_stop), serially.

    Returns sum_i s_i [n_i log1pexp(z_i) - k_i z_i] over the rows, with
    z_i = o_i + b + x_i . w, and ADDS X^T r into grad_w (length n_features) and
    sum_i r_i into grad_b[0], r_i = s_i (n_i sigmoid(z_i) - k_i). sample_weight and
    offset may be NULL (all ones, all zeros). To use threads, give each thread its
    own range and its own grad_w, and add them up in a fixed order.
    """
    cdef Py_ssize_t i, q
    cdef double z, r, s, loss = 0.0
    for i in range(row_start, row_stop):
        z = b if offset == NULL else b + offset[i]
        for q in range(indptr[i], indptr[i + 1]):
            z += values[q] * w[indices[q]]
        s = 1.0 if sample_weight == NULL else sample_weight[i]
        loss += s * _binomial_point(z, n[i], k[i], &r)
        r *= s
        grad_b[0] += r
        for q in range(indptr[i], indptr[i + 1]):
            grad_w[indices[q]] += r * values[q]
    return loss


cdef inline double binomial_loss_grad_dense(
    const floating *X, Py_ssize_t n_features, Py_ssize_t row_start, Py_ssize_t row_stop,
    const double *n, const double *k, const double *sample_weight, const double *offset,
    const double *w, double b, double *grad_w, double *grad_b,
) noexcept nogil:
    """As binomial_loss_grad_csr for a dense C-ordered X (row i at X + i * n_features)."""
    cdef Py_ssize_t i, j
    cdef const floating *row
    cdef double z, r, s, loss = 0.0
    for i in range(row_start, row_stop):
        row = X + i * n_features
        z = b if offset == NULL else b + offset[i]
        for j in range(n_features):
            z += row[j] * w[j]
        s = 1.0 if sample_weight == NULL else sample_weight[i]
        loss += s * _binomial_point(z, n[i], k[i], &r)
        r *= s
        grad_b[0] += r
        for j in range(n_features):
            grad_w[j] += r * row[j]
    return loss
