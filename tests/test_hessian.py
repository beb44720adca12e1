"""The second-order kernels (_hessian.pyx) against numpy and finite differences of the
gradient kernel, in every layout, dtype and thread count."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import layouts, random_problem

from fastlogit._core import _hessian, _kernels
from fastlogit._input._validate import as_design

SINGLE = ("dense_c32", "dense_f32", "csr32_i32")


def numpy_weights(X, sn, o, w, b):
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    z = X @ w + b + (0 if o is None else o)
    p = 1.0 / (1.0 + np.exp(-z))
    return sn * p * (1.0 - p)


def numpy_hessian(X, d):
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    Xt = np.column_stack([np.ones(X.shape[0]), X])
    return Xt.T @ (d[:, None] * Xt)


def _setup(m=300, p=12, density=0.4, seed=0):
    X, n, k, s, o = random_problem(m=m, p=p, density=density, seed=seed)
    rng = np.random.default_rng(seed + 100)
    return X, s * n, k, o, rng.normal(size=p) * 0.3, 0.2, rng


def _hessian_of(design, sn, o, w, b, threads=1, pairs=True):
    P = design.n_features + 1
    H = np.full((P, P), np.nan)
    _hessian.binomial_hessian(*design.kernel_args, sn, o, w, b, H, threads, pairs)
    return H


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", list(layouts(np.eye(2))))
def test_hessian_matches_numpy(name, threads):
    # two threads need enough rows to get two ranges (_rows.pxd: MIN_THREAD_WORK)
    X, sn, _, o, w, b, _ = _setup(m=300 if threads == 1 else 12000)
    d_ref = numpy_weights(X, sn, o, w, b)
    H_ref = numpy_hessian(X, d_ref)
    design = as_design(layouts(X)[name])
    tol = 1e-6 if name in SINGLE else 1e-13
    for pairs in (True, False):  # CSR: pairwise update and dense blocks + dsyrk
        H = _hessian_of(design, sn, o, w, b, threads, pairs)
        np.testing.assert_allclose(H, H_ref, rtol=tol, atol=tol * np.abs(H_ref).max())
        np.testing.assert_array_equal(H, H.T)  # exactly symmetric (mirrored)
        G = np.full_like(H, np.nan)
        _hessian.weighted_gram(*design.kernel_args, d_ref, G, threads, pairs)
        np.testing.assert_allclose(G, H_ref, rtol=tol, atol=tol * np.abs(H_ref).max())
    d = np.empty(X.shape[0])
    _hessian.binomial_hessian_weights(*design.kernel_args, sn, o, w, b, d, threads)
    np.testing.assert_allclose(d, d_ref, rtol=1e-5 if name in SINGLE else 1e-12, atol=1e-300)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", list(layouts(np.eye(2))))
def test_hessp_matches_numpy(name, threads):
    X, sn, _, o, w, b, rng = _setup(m=300 if threads == 1 else 12000, seed=3)
    H_ref = numpy_hessian(X, numpy_weights(X, sn, o, w, b))
    design = as_design(layouts(X)[name])
    tol = 1e-6 if name in SINGLE else 1e-12
    for _ in range(3):
        v = rng.normal(size=X.shape[1] + 1)
        ref = H_ref @ v
        hv = np.full(X.shape[1], np.nan)
        hb = _hessian.binomial_hessp(*design.kernel_args, sn, o, w, b, v[1:], v[0], hv, threads)
        np.testing.assert_allclose(np.r_[hb, hv], ref, rtol=tol, atol=tol * np.abs(ref).max())
        d = numpy_weights(X, sn, o, w, b)
        hb2 = _hessian.weighted_hessp(*design.kernel_args, d, v[1:], v[0], hv, threads)
        np.testing.assert_allclose(np.r_[hb2, hv], ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("name", ["dense_c64", "dense_f64", "csr64_i32", "csr64_i64"])
def test_hessian_is_the_derivative_of_the_gradient(name):
    # independent reference: central differences of the (separately tested) gradient kernel
    X, sn, k, o, w, b, _ = _setup(m=200, p=6, seed=5)
    sk = np.minimum(k, sn)  # any 0 <= k <= n works: the Hessian does not depend on k
    design = as_design(layouts(X)[name])
    g = np.empty(6)

    def grad(theta):
        _, gb = _kernels.binomial_loss_grad(*design.kernel_args, sn, sk, o, theta[1:],
                                            float(theta[0]), g, 1)
        return np.r_[gb, g]

    theta = np.r_[b, w]
    h = 1e-5
    fd = np.column_stack([(grad(theta + h * e) - grad(theta - h * e)) / (2 * h)
                          for e in np.eye(7)])
    H = _hessian_of(design, sn, o, w, b)
    np.testing.assert_allclose(H, fd, rtol=1e-7, atol=1e-7 * np.abs(H).max())
    v = np.random.default_rng(0).normal(size=7)
    hv = np.empty(6)
    hb = _hessian.binomial_hessp(*design.kernel_args, sn, o, w, b, v[1:], v[0], hv, 1)
    fd_v = (grad(theta + h * v) - grad(theta - h * v)) / (2 * h)
    np.testing.assert_allclose(np.r_[hb, hv], fd_v, rtol=1e-7, atol=1e-7 * np.abs(fd_v).max())


@pytest.mark.parametrize("name", ["dense_c64", "dense_f32", "csr64_i32"])
def test_many_blocks_threads_agree_and_reproduce(name):
    # 3000 rows: several row blocks per thread in every kernel
    X, sn, _, o, w, b, rng = _setup(m=3000, p=20, density=0.3, seed=7)
    design = as_design(layouts(X)[name])
    one = _hessian_of(design, sn, o, w, b, threads=1)
    two = _hessian_of(design, sn, o, w, b, threads=2)
    np.testing.assert_allclose(one, two, rtol=1e-12, atol=1e-12 * np.abs(one).max())
    np.testing.assert_array_equal(two, _hessian_of(design, sn, o, w, b, threads=2))
    v = rng.normal(size=21)
    out = []
    for threads in (1, 2, 2):
        hv = np.empty(20)
        hb = _hessian.binomial_hessp(*design.kernel_args, sn, o, w, b, v[1:], v[0], hv, threads)
        out.append(np.r_[hb, hv])
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-12 * np.abs(out[0]).max())
    np.testing.assert_array_equal(out[1], out[2])


def test_unsorted_and_duplicate_csr_entries():
    # row 0 stores column 2 twice (values add up, as in scipy) and out of order
    data = np.array([1.0, 2.0, 0.5, -1.5, 3.0])
    indices = np.array([2, 0, 2, 1, 0], dtype=np.int32)
    indptr = np.array([0, 3, 5], dtype=np.int32)
    Xs = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    dense = Xs.toarray()
    sn = np.array([3.0, 2.0])
    w, b = np.array([0.1, -0.2, 0.3]), 0.4
    ref = numpy_hessian(dense, numpy_weights(dense, sn, None, w, b))
    design = as_design(Xs)
    for pairs in (True, False):
        H = _hessian_of(design, sn, None, w, b, pairs=pairs)
        np.testing.assert_allclose(H, ref, rtol=1e-14, atol=1e-15)
    hv = np.empty(3)
    v = np.array([0.3, 1.0, -2.0, 0.5])
    hb = _hessian.binomial_hessp(*design.kernel_args, sn, None, w, b, v[1:], v[0], hv, 1)
    np.testing.assert_allclose(np.r_[hb, hv], ref @ v, rtol=1e-14)


def test_extreme_scores_and_edge_shapes():
    # |z| up to 1e4: weights underflow to exactly 0, never NaN; n = 0 rows add nothing
    X = np.array([[1e4], [-1e4], [30.0], [0.0]])
    sn = np.array([1.0, 1.0, 1.0, 0.0])
    H = _hessian_of(as_design(X), sn, None, np.array([1.0]), 0.0)
    assert np.all(np.isfinite(H))
    e = np.exp(-30.0)
    assert H[1, 1] == pytest.approx(900.0 * e / (1 + e) ** 2, rel=1e-14)
    # no features: the 1 x 1 Hessian sum D
    d = np.empty(4)
    Z = np.zeros((4, 0))
    H0 = _hessian_of(as_design(Z), np.ones(4), None, np.zeros(0), 0.0)
    assert H0.shape == (1, 1) and H0[0, 0] == pytest.approx(1.0)
    _hessian.binomial_hessian_weights(*as_design(Z).kernel_args, np.ones(4), None,
                                      np.zeros(0), 0.0, d, 1)
    np.testing.assert_allclose(d, 0.25)
    # no rows
    E = as_design(np.zeros((0, 3)))
    H = _hessian_of(E, np.zeros(0), None, np.zeros(3), 0.0)
    np.testing.assert_array_equal(H, 0.0)
    hv = np.full(3, np.nan)
    assert _hessian.binomial_hessp(*E.kernel_args, np.zeros(0), None, np.zeros(3), 0.0,
                                   np.ones(3), 1.0, hv, 2) == 0.0
    np.testing.assert_array_equal(hv, 0.0)


def test_wrong_output_shape_is_refused():
    design = as_design(np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        _hessian.binomial_hessian(*design.kernel_args, np.ones(3), None, np.zeros(3), 0.0,
                                  np.empty((3, 3)), 1)
