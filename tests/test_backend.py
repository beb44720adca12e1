"""fastlogit.backend: the public objectives against scipy's optimisers, finite differences,
statsmodels, threads, and a compiled caller of kernels.pxd."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

import fastlogit
from fastlogit.backend import BACKEND_VERSION, BinomialObjective, MultinomialObjective

LAYOUTS = ["C", "F", "csr32", "csr64"]
DTYPES = [np.float64, np.float32]


def _layout(X, layout, dtype):
    X = X.astype(dtype)
    if layout == "C":
        return np.ascontiguousarray(X)
    if layout == "F":
        return np.asfortranarray(X)
    M = sp.csr_matrix(X)
    idx = np.int32 if layout == "csr32" else np.int64
    M.indices = M.indices.astype(idx)
    M.indptr = M.indptr.astype(idx)
    return M


def _problem(m=120, p=5, seed=0, sparse_frac=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p)) * (rng.random((m, p)) > sparse_frac)
    n = rng.integers(1, 6, size=m).astype(float)
    k = rng.binomial(n.astype(int), 0.4).astype(float)
    s = rng.uniform(0.5, 2.0, size=m)
    o = rng.normal(scale=0.3, size=m)
    return X, n, k, s, o


def _fd_grad(f, theta, h=1e-6):
    g = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        g[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


# -- binomial -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binomial_derivatives_agree(layout, dtype, fit_intercept):
    X, n, k, s, o = _problem()
    Xl = _layout(X, layout, dtype)
    obj = BinomialObjective(Xl, n, k, sample_weight=s, offset=o, fit_intercept=fit_intercept)
    rng = np.random.default_rng(1)
    theta = rng.normal(scale=0.3, size=obj.n_params)
    v = rng.normal(size=obj.n_params)
    f, g = obj.value_and_grad(theta)
    # the value, directly from the model's formula (X as the kernel sees it)
    Xd = X.astype(dtype).astype(np.float64)
    b, w = (theta[0], theta[1:]) if fit_intercept else (0.0, theta)
    z = o + b + Xd @ w
    ref = np.sum(s * (n * np.logaddexp(0, z) - k * z))
    assert f == pytest.approx(ref, rel=1e-12)
    assert obj.value(theta) == f
    np.testing.assert_allclose(g, _fd_grad(obj.value, theta), rtol=1e-6, atol=1e-6)
    H = obj.hessian(theta)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(obj.hessp(theta, v), H @ v, rtol=1e-10, atol=1e-10)
    fd_hv = (obj.value_and_grad(theta + 1e-6 * v)[1] - obj.value_and_grad(theta - 1e-6 * v)[1])
    np.testing.assert_allclose(H @ v, fd_hv / 2e-6, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(obj.linear_predictor(theta), z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(obj.predict_proba(theta), 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_binomial_out_is_written_and_returned():
    X, n, k, s, o = _problem()
    obj = BinomialObjective(X, n, k)
    theta = np.full(obj.n_params, 0.1)
    out = np.full(obj.n_params, np.nan)
    f, g = obj.value_and_grad(theta, out=out)
    assert g is out and np.isfinite(out).all()
    np.testing.assert_array_equal(out, obj.value_and_grad(theta)[1])
    hv_out = np.full(obj.n_params, np.nan)
    hv = obj.hessp(theta, np.ones(obj.n_params), out=hv_out)
    assert hv is hv_out and np.isfinite(hv).all()
    with pytest.raises(ValueError, match="out must be a C-contiguous float64 array of shape"):
        obj.value_and_grad(theta, out=np.empty(obj.n_params + 1))
    with pytest.raises(ValueError, match="out must be"):
        obj.value_and_grad(theta, out=np.empty(obj.n_params, dtype=np.float32))


def test_bad_theta_and_inputs_name_the_argument():
    X, n, k, s, o = _problem()
    obj = BinomialObjective(X, n, k)
    with pytest.raises(ValueError, match=r"theta must have shape \(6,\)"):
        obj.value(np.zeros(5))
    with pytest.raises(ValueError, match="theta must be finite; entry 2"):
        obj.value(np.array([0, 0, np.nan, 0, 0, 0.0]))
    with pytest.raises(TypeError, match="theta must be a real vector"):
        obj.value(np.array(["a"] * 6))
    with pytest.raises(ValueError, match=r"v must have shape"):
        obj.hessp(np.zeros(6), np.zeros(3))
    kk = k.copy()
    kk[3] = n[3] + 1
    with pytest.raises(ValueError, match="row 3"):
        BinomialObjective(X, n, kk)
    with pytest.raises(ValueError, match="offset"):
        BinomialObjective(X, n, k, offset=np.zeros(3))
    with pytest.raises(ValueError, match="offset= goes with a new X"):
        obj.linear_predictor(np.zeros(6), offset=np.zeros(len(n)))
    with pytest.raises(ValueError, match="features"):
        obj.predict_proba(np.zeros(6), X[:, :2])


def test_inputs_are_neither_copied_nor_modified():
    X, n, k, s, o = _problem()
    Xc = sp.csr_matrix(X)
    before = [a.copy() for a in (Xc.data, Xc.indices, Xc.indptr, n, k, s, o)]
    for arr in (Xc.data, Xc.indices, Xc.indptr, n, k, s, o):
        arr.flags.writeable = False
    obj = BinomialObjective(Xc, n, k, sample_weight=s, offset=o)
    assert np.shares_memory(obj._design.kernel_args[1], Xc.data)
    theta = np.full(obj.n_params, 0.2)
    obj.value_and_grad(theta)
    obj.hessp(theta, theta)
    obj.hessian(theta)
    obj.deviance(theta)
    for a, b in zip(before, (Xc.data, Xc.indices, Xc.indptr, n, k, s, o)):
        np.testing.assert_array_equal(a, b)


def test_deviance_matches_the_fitted_result():
    X, n, k, s, o = _problem()
    res = fastlogit.fit(X, n, k, lam=0.0, sample_weight=s, offset=o)
    obj = BinomialObjective(X, n, k, sample_weight=s, offset=o)
    theta = np.concatenate(([res.intercept], res.coef))
    assert obj.deviance(theta) == pytest.approx(res.deviance, rel=1e-12)
    assert obj.value(theta) == pytest.approx(res.objective, rel=1e-12)


@pytest.mark.parametrize("layout", ["C", "csr32"])
@pytest.mark.parametrize("method", ["L-BFGS-B", "trust-ncg"])
def test_scipy_minimize_reaches_fit_binomial(layout, method):
    X, n, k, s, o = _problem(m=300, p=8, seed=3)
    Xl = _layout(X, layout, np.float64)
    lam = 2.0
    obj = BinomialObjective(Xl, n, k, sample_weight=s, offset=o)

    def fun(theta):
        f, g = obj.value_and_grad(theta)
        w = theta[1:]
        g[1:] += lam * w
        return f + 0.5 * lam * (w @ w), g

    def hessp(theta, v):
        hv = obj.hessp(theta, v)
        hv[1:] += lam * v[1:]
        return hv

    kw = dict(options={"gtol": 1e-11, "ftol": 1e-15, "maxiter": 10_000}) \
        if method == "L-BFGS-B" else dict(hessp=hessp, options={"gtol": 1e-11})
    sol = minimize(fun, np.zeros(obj.n_params), jac=True, method=method, **kw)
    res = fastlogit.fit(Xl, n, k, lam=lam, sample_weight=s, offset=o)
    ref = np.concatenate(([res.intercept], res.coef))
    np.testing.assert_allclose(sol.x, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())


# -- multinomial ----------------------------------------------------------------------


def _multi_problem(m=150, p=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p)) * (rng.random((m, p)) > 0.4)
    counts = rng.integers(0, 4, size=(m, K)).astype(float)
    counts[counts.sum(axis=1) == 0, 0] = 1.0
    s = rng.uniform(0.5, 2.0, size=m)
    off = rng.normal(scale=0.2, size=(m, K))
    return X, counts, s, off


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multinomial_derivatives_agree(layout, dtype, fit_intercept):
    X, counts, s, off = _multi_problem()
    Xl = _layout(X, layout, dtype)
    obj = MultinomialObjective(Xl, counts, sample_weight=s, offset=off,
                               fit_intercept=fit_intercept)
    K, p = counts.shape[1], X.shape[1]
    assert obj.n_params == (p + int(fit_intercept)) * K
    rng = np.random.default_rng(2)
    theta = rng.normal(scale=0.3, size=obj.n_params)
    v = rng.normal(size=obj.n_params)
    f, g = obj.value_and_grad(theta)
    b, coef = obj.split(theta)
    Xd = X.astype(dtype).astype(np.float64)
    Z = off + b + Xd @ coef.T
    lse = np.logaddexp.reduce(Z, axis=1)
    ref = np.sum(s * (counts.sum(axis=1) * lse - (counts * Z).sum(axis=1)))
    assert f == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(g, _fd_grad(obj.value, theta), rtol=1e-6, atol=1e-6)
    H = obj.hessian(theta)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(obj.hessp(theta, v), H @ v, rtol=1e-9, atol=1e-9)
    fd_hv = (obj.value_and_grad(theta + 1e-6 * v)[1] - obj.value_and_grad(theta - 1e-6 * v)[1])
    np.testing.assert_allclose(H @ v, fd_hv / 2e-6, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(obj.predict_proba(theta), np.exp(Z - lse[:, None]), rtol=1e-12)
    np.testing.assert_allclose(obj.join(b, coef), theta)
    sat = np.sum(s[:, None] * counts * np.log(np.where(counts > 0, counts, 1)
                                              / counts.sum(axis=1, keepdims=True)))
    assert obj.deviance(theta) == pytest.approx(2 * (ref + sat), rel=1e-10)


def test_multinomial_labels_equal_one_hot_counts():
    X, counts, s, off = _multi_problem()
    y = np.array(["a", "b", "c"])[np.argmax(counts, axis=1)]
    onehot = (y[:, None] == np.array(["a", "b", "c"])).astype(float)
    a = MultinomialObjective(X, y, sample_weight=s)
    b = MultinomialObjective(X, onehot, sample_weight=s)
    theta = np.linspace(-1, 1, a.n_params)
    assert a.value(theta) == pytest.approx(b.value(theta), rel=1e-13)
    np.testing.assert_allclose(a.value_and_grad(theta)[1], b.value_and_grad(theta)[1],
                               rtol=1e-12, atol=1e-12)
    assert a.deviance(theta) == pytest.approx(b.deviance(theta), rel=1e-12)
    assert list(a.classes) == ["a", "b", "c"] and b.classes is None


@pytest.mark.parametrize("layout", ["C", "csr32"])
@pytest.mark.parametrize("method", ["L-BFGS-B", "trust-ncg"])
def test_scipy_minimize_reaches_fit_multinomial(layout, method):
    X, counts, s, off = _multi_problem(m=200, p=5, seed=4)
    Xl = _layout(X, layout, np.float64)
    lam, K = 1.5, counts.shape[1]
    obj = MultinomialObjective(Xl, counts, sample_weight=s)

    def fun(theta):
        f, g = obj.value_and_grad(theta)
        W = theta[K:]
        g[K:] += lam * W
        return f + 0.5 * lam * (W @ W), g

    def hessp(theta, v):
        hv = obj.hessp(theta, v)
        hv[K:] += lam * v[K:]
        return hv

    kw = dict(options={"gtol": 1e-11, "ftol": 1e-15, "maxiter": 10_000}) \
        if method == "L-BFGS-B" else dict(hessp=hessp, options={"gtol": 1e-10})
    sol = minimize(fun, np.zeros(obj.n_params), jac=True, method=method, **kw)
    b, coef = obj.split(sol.x)
    res = fastlogit.fit_multinomial(Xl, counts=counts, lam=lam, sample_weight=s)
    # the symmetric parametrisation: compare the centred representative
    np.testing.assert_allclose(b - b.mean(), res.intercept, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(coef, res.coef, rtol=1e-6, atol=1e-6)


# -- threads --------------------------------------------------------------------------


def test_one_object_from_eight_threads_is_bitwise_serial():
    rng = np.random.default_rng(5)
    X = sp.random(4000, 300, density=0.05, random_state=5, format="csr")
    n = rng.integers(1, 5, size=4000).astype(float)
    k = rng.binomial(n.astype(int), 0.3).astype(float)
    obj = BinomialObjective(X, n, k, threads=2)
    Y = rng.integers(0, 3, size=4000)
    mobj = MultinomialObjective(X, Y, threads=2)
    thetas = [rng.normal(scale=0.1, size=obj.n_params) for _ in range(16)]
    mthetas = [rng.normal(scale=0.1, size=mobj.n_params) for _ in range(16)]

    def work(i):
        t, mt = thetas[i], mthetas[i]
        f, g = obj.value_and_grad(t)
        mf, mg = mobj.value_and_grad(mt)
        return f, g.copy(), obj.hessp(t, t).copy(), mf, mg.copy(), mobj.hessp(mt, mt).copy()

    serial = [work(i) for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(work, range(16)))
    for a, b in zip(serial, parallel):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


# -- another library, written only against the backend -------------------------------


def _irls(obj, tol=1e-12, max_iter=50):
    """Newton's method = IRLS for the canonical link: theta <- theta - H^-1 g."""
    theta = np.zeros(obj.n_params)
    grad = np.empty(obj.n_params)
    for _ in range(max_iter):
        _, g = obj.value_and_grad(theta, out=grad)
        step = np.linalg.solve(obj.hessian(theta), g)
        theta = theta - step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(theta))):
            break
    cov = np.linalg.inv(obj.hessian(theta))
    return theta, np.sqrt(np.diag(cov)), obj.deviance(theta)


def test_an_irls_library_on_the_backend_reproduces_statsmodels_star98():
    sm = pytest.importorskip("statsmodels.api")
    data = sm.datasets.star98.load_pandas().data
    k = data["NABOVE"].to_numpy(float)
    n = k + data["NBELOW"].to_numpy(float)
    X = data.drop(columns=["NABOVE", "NBELOW"]).to_numpy(float)
    ref = sm.GLM(np.c_[k, n - k], sm.add_constant(X),
                 family=sm.families.Binomial()).fit(tol=1e-14)
    theta, bse, dev = _irls(BinomialObjective(X, n, k))
    np.testing.assert_allclose(theta, ref.params, rtol=1e-8)
    np.testing.assert_allclose(bse, ref.bse, rtol=1e-8)
    assert dev == pytest.approx(ref.deviance, rel=1e-10)


# -- a compiled caller ----------------------------------------------------------------

_PYX = textwrap.dedent("""
    # cython: language_level=3, boundscheck=False, wraparound=False
    from libc.stdint cimport int32_t
    from fastlogit.backend.kernels cimport (
        binomial_loss_grad_csr, binomial_loss_grad_dense, log1pexp, sigmoid)

    def csr(const double[::1] data, const int32_t[::1] indices, const int32_t[::1] indptr,
            const double[::1] n, const double[::1] k, const double[::1] w, double b,
            double[::1] grad_w):
        cdef double gb = 0.0, loss
        with nogil:
            loss = binomial_loss_grad_csr(&data[0], &indices[0], &indptr[0], 0,
                                          indptr.shape[0] - 1, &n[0], &k[0], NULL, NULL,
                                          &w[0], b, &grad_w[0], &gb)
        return loss, gb

    def dense(const float[:, ::1] X, const double[::1] n, const double[::1] k,
              const double[::1] s, const double[::1] o, const double[::1] w, double b,
              double[::1] grad_w):
        cdef double gb = 0.0, loss
        with nogil:
            loss = binomial_loss_grad_dense(&X[0, 0], X.shape[1], 0, X.shape[0], &n[0],
                                            &k[0], &s[0], &o[0], &w[0], b, &grad_w[0], &gb)
        return loss, gb

    def funcs(double z):
        return log1pexp(z), sigmoid(z)
""")

_SETUP = textwrap.dedent("""
    import os, numpy, fastlogit
    from setuptools import Extension, setup
    from Cython.Build import cythonize
    root = os.path.dirname(os.path.dirname(fastlogit.__file__))
    setup(ext_modules=cythonize([Extension("caller", ["caller.pyx"])], include_path=[root],
                                quiet=True),
          script_args=["build_ext", "--inplace"])
""")


def test_a_compiled_caller_of_kernels_pxd(tmp_path):
    pytest.importorskip("Cython")
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine")
    (tmp_path / "caller.pyx").write_text(_PYX)
    (tmp_path / "setup.py").write_text(_SETUP)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(fastlogit.__file__)), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "setup.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        import caller
    finally:
        sys.path.remove(str(tmp_path))
    X, n, k, s, o = _problem(m=80, p=6)
    w = np.linspace(-0.5, 0.5, 6)
    theta = np.concatenate(([0.3], w))
    Xc = sp.csr_matrix(X)
    g = np.zeros(6)
    loss, gb = caller.csr(Xc.data, Xc.indices.astype(np.int32), Xc.indptr.astype(np.int32), n, k,
                          w, 0.3, g)
    f, grad = BinomialObjective(Xc, n, k, threads=1).value_and_grad(theta)
    assert loss == pytest.approx(f, rel=1e-13)
    np.testing.assert_allclose(np.concatenate(([gb], g)), grad, rtol=1e-12, atol=1e-12)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    g = np.zeros(6)
    loss, gb = caller.dense(X32, n, k, s, o, w, 0.3, g)
    f, grad = BinomialObjective(X32, n, k, sample_weight=s, offset=o).value_and_grad(theta)
    assert loss == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(np.concatenate(([gb], g)), grad, rtol=1e-11, atol=1e-11)
    assert caller.funcs(800.0) == (800.0, 1.0)
    assert caller.funcs(-800.0)[0] == 0.0


def test_backend_version_and_names():
    assert BACKEND_VERSION >= (1, 0)
    assert set(fastlogit.backend.__all__) == {"BACKEND_VERSION", "BinomialObjective",
                                              "MultinomialObjective"}
