"""Bad input raises a clear error naming the argument; inputs are never modified or copied."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import layouts, random_problem

import fastlogit
from fastlogit._input._validate import as_design


@pytest.fixture
def data():
    X, n, k, s, o = random_problem(m=50, p=4, seed=1)
    return X, n, k


def csr_parts(X):
    Xs = sp.csr_matrix(X)
    return Xs.data.copy(), Xs.indices.copy(), Xs.indptr.copy(), Xs.shape


def test_x_not_2d(data):
    X, n, k = data
    with pytest.raises(ValueError, match="X must be 2-D.*reshape"):
        fastlogit.fit(X[:, 0], n, k)
    with pytest.raises(ValueError, match="X must be 2-D"):
        fastlogit.fit(X[None], n, k)
    with pytest.raises(TypeError, match="X must be"):
        fastlogit.fit(None, n, k)


def test_non_numeric_dtypes(data):
    X, n, k = data
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fastlogit.fit(X.astype(str), n, k)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fastlogit.fit(X.astype(complex), n, k)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fastlogit.fit(X.astype(object), n, k)
    with pytest.raises(TypeError, match="n must be numeric|n must hold"):
        fastlogit.fit(X, np.array(["a"] * 50), k)
    with pytest.raises(TypeError, match="k must hold real numbers"):
        fastlogit.fit(X, n, k.astype(complex))


@pytest.mark.parametrize("arg", ["n", "k", "sample_weight", "offset"])
def test_length_mismatch(data, arg):
    X, n, k = data
    kwargs = dict(n=n, k=k)
    if arg in ("n", "k"):
        kwargs[arg] = kwargs[arg][:-1]
    else:
        kwargs[arg] = np.ones(49)
    with pytest.raises(ValueError, match=f"{arg} has length 49 but X has 50 rows"):
        fastlogit.fit(X, **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_everywhere(data, bad):
    X, n, k = data
    Xb = X.copy()
    Xb[7, 2] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at row 7, column 2"):
        fastlogit.fit(Xb, n, k)
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at row 7, column 2"):
        fastlogit.fit(np.asfortranarray(Xb), n, k)
    Xs = sp.csr_matrix(X)
    Xs.data[5] = bad
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        fastlogit.fit(Xs, n, k)
    for arg in ("n", "k", "sample_weight", "offset"):
        v = {"n": n, "k": k, "sample_weight": np.ones(50), "offset": np.zeros(50)}[arg].copy()
        v[3] = bad
        kwargs = dict(n=n, k=k)
        kwargs[arg] = v
        with pytest.raises(ValueError, match=f"{arg} contains NaN or infinity"):
            fastlogit.fit(X, **kwargs)


def test_huge_finite_values_are_not_mistaken_for_inf():
    # the float64 sum of these overflows; validation must still accept them
    X = np.full((4, 2), 1e308)
    X[:, 1] = np.arange(4)
    assert as_design(X).n_rows == 4


def test_count_constraints(data):
    X, n, k = data
    kk = k.copy()
    kk[17] = n[17] + 1
    with pytest.raises(ValueError, match=rf"0 <= k <= n; row 17 has k={kk[17]:g}, n={n[17]:g}"):
        fastlogit.fit(X, n, kk)
    kk = k.copy()
    kk[4] = -1
    with pytest.raises(ValueError, match="row 4 has k=-1"):
        fastlogit.fit(X, n, kk)
    nn = n.copy()
    nn[9] = -2
    with pytest.raises(ValueError, match="n .trials. must be >= 0; row 9 has n=-2"):
        fastlogit.fit(X, nn, np.zeros(50))
    s = np.ones(50)
    s[11] = -0.5
    with pytest.raises(ValueError, match="sample_weight must be >= 0; row 11"):
        fastlogit.fit(X, n, k, sample_weight=s)


def test_labels(data):
    X, n, k = data
    y = (k > 2).astype(int)
    y[5] = 2
    with pytest.raises(ValueError, match="y must hold 0/1 labels; row 5 has y=2"):
        fastlogit.fit(X, y=y)
    with pytest.raises(TypeError, match="not both"):
        fastlogit.fit(X, n, k, y=(k > 2))
    with pytest.raises(TypeError, match="give both n"):
        fastlogit.fit(X, n)
    assert fastlogit.fit(X, y=(k > 2)).converged  # booleans are fine


@pytest.mark.parametrize("lam", [-1.0, np.nan, np.inf])
def test_bad_lam(data, lam):
    X, n, k = data
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        fastlogit.fit(X, n, k, lam=lam)


def test_bad_scalars(data):
    X, n, k = data
    with pytest.raises(TypeError, match="lam must be a real number"):
        fastlogit.fit(X, n, k, lam="1")
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        fastlogit.fit(X, n, k, max_iter=0)
    with pytest.raises(ValueError, match="threads must be None"):
        fastlogit.fit(X, n, k, threads=0)
    with pytest.raises(TypeError, match="threads must be None"):
        fastlogit.fit(X, n, k, threads=1.5)
    with pytest.raises(ValueError, match="solver must be one of"):
        fastlogit.fit(X, n, k, solver="magic")


def test_empty_inputs():
    with pytest.raises(ValueError, match="X has no rows"):
        fastlogit.fit(np.empty((0, 3)), np.empty(0), np.empty(0))
    with pytest.raises(ValueError, match="no columns and fit_intercept=False"):
        fastlogit.fit(np.empty((5, 0)), np.ones(5), np.ones(5), fit_intercept=False)
    with pytest.raises(ValueError, match="carry no trials"):
        fastlogit.fit(np.ones((5, 1)), np.zeros(5), np.zeros(5))
    # an intercept-only model is fine: the MLE intercept is the pooled log-odds
    res = fastlogit.fit(np.empty((4, 0)), [2, 2, 2, 2], [1, 2, 1, 0], lam=0.0)
    assert res.intercept == pytest.approx(0.0, abs=1e-7)


def test_malformed_csr_never_reaches_the_kernel(data):
    X, n, k = data
    d, i, p, shape = csr_parts(X)
    cases = []
    bad = i.copy()
    bad[3] = 4
    cases.append(((d, bad, p), "row 0 has column index 4, outside \\[0, 4\\)"))
    bad = i.copy()
    bad[-1] = -1
    cases.append(((d, bad, p), "column index -1"))
    bad = p.copy()
    bad[10] = bad[11] + 1
    cases.append(((d, i, bad), "indptr decreases at row 10"))
    cases.append(((d, i, p[:-1]), "indptr has length 50, expected n_rows \\+ 1 = 51"))
    bad = p.copy()
    bad[-1] -= 1
    cases.append(((d, i, bad), "indptr\\[-1\\] = .* must agree"))
    cases.append(((d[:-1], i, p), "len\\(data\\) = .* must agree"))
    bad = p.copy()
    bad[0] = 1
    cases.append(((d, i, bad), "indptr\\[0\\] is 1"))
    for (dd, ii, pp), msg in cases:
        M = sp.csr_matrix(shape)
        M.data, M.indices, M.indptr = dd, ii, pp  # bypass scipy's own checks
        with pytest.raises(ValueError, match=msg):
            fastlogit.fit(M, n, k)


def test_other_sparse_formats_are_converted(data):
    X, n, k = data
    ref = fastlogit.fit(X, n, k)
    for fmt in ("csc", "coo"):
        res = fastlogit.fit(sp.csr_matrix(X).asformat(fmt), n, k)
        np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-7, atol=1e-9)


def test_inputs_never_modified_and_x_never_copied():
    X, n, k, s, o = random_problem(m=80, p=5, density=0.5, seed=3)
    for _name, Xl in layouts(X).items():
        arrays = [Xl.data, Xl.indices, Xl.indptr] if sp.issparse(Xl) else [Xl]
        extra = [n, k, s, o]
        for a in arrays + extra:
            a.setflags(write=False)  # a write anywhere would raise
        before = [a.copy() for a in arrays + extra]
        design = as_design(Xl)
        if sp.issparse(Xl):
            assert design.values is Xl.data and design.indices is Xl.indices
            assert design.indptr is Xl.indptr
        else:
            assert np.shares_memory(design.values, Xl)
        res = fastlogit.fit(Xl, n, k, sample_weight=s, offset=o, lam=0.5)
        res.predict_proba(Xl)
        assert res.deviance > 0
        for a, b in zip(arrays + extra, before):
            np.testing.assert_array_equal(a, b)
        for a in arrays + extra:
            a.setflags(write=True)


def test_conversions_documented_cases():
    X = np.arange(12, dtype=np.int64).reshape(4, 3)
    d = as_design(X)
    assert d.values.dtype == np.float64  # ints -> one float64 copy
    strided = np.ones((6, 6))[:, ::2]
    assert as_design(strided).layout == 0  # non-contiguous -> C-ordered copy
    big = np.ones((3, 2), dtype=">f8")
    assert as_design(big).values.dtype.isnative
    Xs = sp.csr_matrix(np.eye(3))
    Xs.indptr = Xs.indptr.astype(np.int64)  # mixed index widths: only indptr is converted
    d = as_design(Xs)
    assert d.indices is Xs.indices and d.indptr.dtype == np.int32
