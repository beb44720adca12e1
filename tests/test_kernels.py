"""The compiled loss/gradient kernel: every layout against numpy and finite differences,
threads, determinism, and the extremes."""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import layouts, numpy_loss_grad, random_problem

from fastlogit._core import _kernels
from fastlogit._input._validate import as_design


def kernel(X, n, k, s, o, w, b, threads=1):
    d = as_design(X)
    sn, sk = (n, k) if s is None else (s * n, s * k)
    g = np.empty(d.n_features)
    loss, gb = _kernels.binomial_loss_grad(*d.kernel_args, sn, sk, o, w, b, g, threads)
    return loss, g, gb


LAYOUTS = list(layouts(np.eye(2)))


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_matches_numpy(name, weighted, threads):
    X, n, k, s, o = random_problem(m=257, p=9, density=0.4, seed=3)
    Xl = layouts(X)[name]
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=9), 0.4
    s, o = (s, o) if weighted else (None, None)
    # float32 layouts: the reference uses the same float32-rounded matrix
    Xref = Xl.astype(np.float64) if not sp.issparse(Xl) else Xl.astype(np.float64)
    ref_loss, ref_g, ref_gb = numpy_loss_grad(Xref, n, k, s, o, w, b)
    loss, g, gb = kernel(Xl, n, k, s, o, w, b, threads)
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-12 * np.abs(ref_g).max())
    assert gb == pytest.approx(ref_gb, rel=1e-12, abs=1e-10)


@pytest.mark.parametrize("name", ["dense_c64", "dense_f64", "csr64_i64"])
def test_gradient_finite_differences(name):
    X, n, k, s, o = random_problem(m=120, p=6, density=0.5, seed=7)
    Xl = layouts(X)[name]
    rng = np.random.default_rng(2)
    w, b = rng.normal(size=6) * 0.3, -0.2
    _, g, gb = kernel(Xl, n, k, s, o, w, b)
    h = 1e-6
    for j in range(6):
        e = np.zeros(6)
        e[j] = h
        fd = (kernel(Xl, n, k, s, o, w + e, b)[0] - kernel(Xl, n, k, s, o, w - e, b)[0]) / (2 * h)
        assert g[j] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    fd_b = (kernel(Xl, n, k, s, o, w, b + h)[0] - kernel(Xl, n, k, s, o, w, b - h)[0]) / (2 * h)
    assert gb == pytest.approx(fd_b, rel=1e-6)


def test_float32_close_to_float64():
    X, n, k, s, o = random_problem(m=500, p=20, seed=5)
    w = np.random.default_rng(0).normal(size=20) * 0.2
    l64, g64, _ = kernel(X, n, k, s, o, w, 0.1)
    l32, g32, _ = kernel(X.astype(np.float32), n, k, s, o, w, 0.1)
    assert l32 == pytest.approx(l64, rel=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-5 * np.abs(g64).max())


def test_layouts_agree_and_unsorted_csr():
    X, n, k, s, o = random_problem(m=400, p=15, density=0.3, seed=11)
    w = np.random.default_rng(3).normal(size=15)
    results = {name: kernel(Xl, n, k, s, o, w, 0.2, 2) for name, Xl in layouts(X).items()
               if name not in ("dense_c32", "dense_f32", "csr32_i32")}
    base = results["dense_c64"]
    for name, (loss, g, _gb) in results.items():
        assert loss == pytest.approx(base[0], rel=1e-13), name
        np.testing.assert_allclose(g, base[1], rtol=1e-12, atol=1e-12)
    # reverse the column order inside every row: same matrix, unsorted indices
    Xs = sp.csr_matrix(X)
    data, ind = Xs.data.copy(), Xs.indices.copy()
    for i in range(Xs.shape[0]):
        a, e = Xs.indptr[i], Xs.indptr[i + 1]
        data[a:e], ind[a:e] = data[a:e][::-1], ind[a:e][::-1]
    Xu = sp.csr_matrix((data, ind, Xs.indptr), shape=Xs.shape)
    assert not Xu.has_sorted_indices
    loss, g, _ = kernel(Xu, n, k, s, o, w, 0.2)
    assert loss == pytest.approx(base[0], rel=1e-13)
    np.testing.assert_allclose(g, base[1], rtol=1e-12, atol=1e-12)


def test_duplicate_entries_are_summed():
    # a CSR with the same column twice in a row means their sum, as scipy defines it
    data = np.array([1.0, 2.0, 0.5])
    ind = np.array([1, 1, 0], dtype=np.int32)
    ptr = np.array([0, 2, 3], dtype=np.int32)
    Xd = sp.csr_matrix((data, ind, ptr), shape=(2, 2))
    n, k = np.array([3.0, 2.0]), np.array([1.0, 2.0])
    w = np.array([0.3, -0.2])
    ref = numpy_loss_grad(Xd.toarray(), n, k, None, None, w, 0.1)
    got = kernel(Xd, n, k, None, None, w, 0.1)
    assert got[0] == pytest.approx(ref[0], rel=1e-14)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-14)


@pytest.mark.parametrize("name", ["dense_c64", "dense_f64", "csr64_i32"])
def test_threads_agree_and_are_reproducible(name):
    X, n, k, s, o = random_problem(m=20000, p=30, density=0.3, seed=9)
    assert _kernels.kernel_thread_count(4, 20000, int(0.3 * 20000 * 30)) >= 2
    Xl = layouts(X)[name]
    w = np.random.default_rng(4).normal(size=30) * 0.2
    one = kernel(Xl, n, k, s, o, w, 0.1, threads=1)
    for threads in (2, 4):
        first = kernel(Xl, n, k, s, o, w, 0.1, threads=threads)
        assert first[0] == pytest.approx(one[0], rel=1e-12)
        np.testing.assert_allclose(first[1], one[1], rtol=1e-12, atol=1e-12)
        for _ in range(5):  # bitwise identical, run after run
            again = kernel(Xl, n, k, s, o, w, 0.1, threads=threads)
            assert again[0] == first[0] and again[2] == first[2]
            np.testing.assert_array_equal(again[1], first[1])


def test_extreme_scores_stay_finite():
    # |z| up to 1e300: loss and gradient finite, and exact where they can be
    X = np.array([[1.0], [1.0], [1.0], [1.0]])
    n = np.array([5.0, 5.0, 3.0, 0.0])
    k = np.array([5.0, 0.0, 3.0, 0.0])
    for big in (40.0, 1e3, 1e300):
        w = np.array([big])
        loss, g, gb = kernel(X, n, k, None, None, w, 0.0)
        assert np.isfinite(loss) and np.all(np.isfinite(g)) and np.isfinite(gb)
        # rows with k == n at z -> +inf cost ~ n*exp(-z); row 2 (k=0) costs n*z
        assert loss == pytest.approx(5.0 * big + 8.0 * np.exp(-big), rel=1e-14)
        assert gb == pytest.approx(5.0, rel=1e-12)
    loss, g, gb = kernel(X, n, k, None, None, np.array([-1e300]), 0.0)
    assert loss == pytest.approx(8e300, rel=1e-14) and gb == pytest.approx(-8.0)


def test_linear_predictor_all_layouts():
    X, n, k, s, o = random_problem(m=333, p=7, density=0.5, seed=2)
    w = np.random.default_rng(0).normal(size=7)
    ref = X @ w + 0.5 + o
    for name, Xl in layouts(X).items():
        d = as_design(Xl)
        out = np.empty(d.n_rows)
        _kernels.linear_predictor(*d.kernel_args, w, 0.5, o, out, 2)
        tol = 1e-6 if name in ("dense_c32", "dense_f32", "csr32_i32") else 1e-13
        np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)


def test_weighted_column_moments():
    X, n, k, s, o = random_problem(m=200, p=5, density=0.5, seed=8)
    wt = s * n
    center = np.linspace(-1, 1, 5)
    for name, Xl in layouts(X).items():
        if name in ("dense_c32", "dense_f32", "csr32_i32"):
            continue
        d = as_design(Xl)
        got = _kernels.weighted_column_moments(*d.kernel_args, wt, center, 2)
        if d.is_sparse:
            mask = (X != 0)
            D = np.where(mask, X - center, 0.0)
            np.testing.assert_allclose(got[2], wt @ mask, rtol=1e-13)
        else:
            D = X - center
        np.testing.assert_allclose(got[0], wt @ D, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[1], wt @ D**2, rtol=1e-12)


def test_empty_rows_and_zero_features():
    # rows with no nonzeros, and a matrix with no columns
    X = sp.csr_matrix((3, 4))
    n, k = np.array([2.0, 3.0, 1.0]), np.array([1.0, 0.0, 1.0])
    loss, g, gb = kernel(X, n, k, None, None, np.zeros(4), 0.0)
    assert loss == pytest.approx(6 * np.log(2.0))
    np.testing.assert_array_equal(g, 0.0)
    loss0, g0, gb0 = kernel(np.empty((3, 0)), n, k, None, None, np.zeros(0), 0.0)
    assert loss0 == pytest.approx(loss) and gb0 == pytest.approx(gb) and g0.shape == (0,)


def test_small_inputs_run_on_fewer_threads():
    # waking a team costs more than it saves on tiny inputs (_rows.pxd: thread_count); the
    # suite lowers the threshold (conftest.py), so check the default in a fresh process
    import subprocess
    import sys

    code = ("from fastlogit._core import _kernels as K; print(K.kernel_thread_count(2, 500, 3000), "
            "K.kernel_thread_count(8, 1_000_000, 32_000_000), "
            "K.kernel_thread_count(2, 20_000, 2_000_000), K.kernel_thread_count(8, 3, 10**9), "
            "K.kernel_thread_count(2, 0, 0))")
    env = {k: v for k, v in os.environ.items() if k != "FASTLOGIT_MIN_THREAD_WORK"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["1", "8", "2", "3", "1"]
    assert _kernels.kernel_thread_count(2, 500, 3000) == 2  # this suite: threshold 1
