# Shared declarations of the compiled kernels: fused types and the per-row
# math, written once and used by every layout (dense C, dense F, CSR) and by
# every kernel module that cimports this file.
#
# Contract of everything here: scalars in, scalars out; no allocation, no
# Python objects, `noexcept nogil`; finite for every finite input.

from libc.math cimport exp, fabs, log1p
from libc.stdint cimport int32_t, int64_t

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t


cdef inline double log1pexp(double z) noexcept nogil:
    """log(1 + exp(z)) without overflow.

    Piecewise form of Maechler (2012), "Accurately computing log(1 - exp(-|a|))",
    with the thresholds R uses (Rmath's log1pexp): below -37, exp(z) is exact
    to double precision because log1p(t) = t for t < 2^-53 relative; up to 18
    log1p(exp(z)) is accurate; up to 33.3, z + exp(-z) (the exp(-z)^2/2 term is
    below half an ulp of z); beyond, log1pexp(z) == z in double precision.
    """
    if z <= -37.0:
        return exp(z)
    if z <= 18.0:
        return log1p(exp(z))
    if z <= 33.3:
        return z + exp(-z)
    return z


cdef inline double sigmoid(double z) noexcept nogil:
    """1 / (1 + exp(-z)), evaluating exp only at non-positive arguments."""
    cdef double e
    if z >= 0.0:
        return 1.0 / (1.0 + exp(-z))
    e = exp(z)
    return e / (1.0 + e)


cdef inline double binomial_point_w(double z, double n, double k, double *dz,
                                    double *wz) noexcept nogil:
    """Loss n*log1pexp(z) - k*z of one row; stores its derivative n*sigmoid(z) - k in dz[0]
    and its second derivative n*sigmoid(z)*(1 - sigmoid(z)) = n e / (1 + e)^2 in wz[0].

    One exp per row serves both: with e = exp(-|z|) (never overflows),
        log1pexp(z) = max(z, 0) + log1p(e)
        sigmoid(z)  = 1/(1+e) for z > 0,  e/(1+e) otherwise.
    This matches the Maechler branches of log1pexp to a few ulp over the whole
    line (log1p(e) == e below e = 2^-53 and is negligible beside z above 33.3).
    The max(z, 0) term is merged with -k*z *before* multiplying, so that
    n == k rows with huge z give an exact 0 + n*log1p(e) rather than the
    cancellation n*z - k*z. The derivative is formed as one fraction over
    (1 + e), with no difference of two large numbers either.
    """
    cdef double e = exp(-fabs(z))
    cdef double inv = 1.0 / (1.0 + e)
    wz[0] = n * e * inv * inv
    if z > 0.0:
        dz[0] = ((n - k) - k * e) * inv
        return n * log1p(e) + (n - k) * z
    dz[0] = ((n - k) * e - k) * inv
    return n * log1p(e) - k * z


cdef inline double binomial_point(double z, double n, double k, double *dz) noexcept nogil:
    """binomial_point_w without the second derivative (its store is optimised away)."""
    cdef double wz
    return binomial_point_w(z, n, k, dz, &wz)
