"""fastlogit.aggregate: exact grouping (against numpy's unique), every sparse variant, and fits
on the aggregated rows equal to fits on the raw rows."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from fastlogit._core import _kernels
from fastlogit._input._validate import as_design

# factr=0: stop on the gradient (or at L-BFGS-B's rounding floor), never on a small decrease
TIGHT = dict(factr=0.0, pgtol=1e-13, max_iter=5000, threads=1)


def duplicated_01(m=2000, p=8, n_distinct=60, seed=0):
    """0/1 rows drawn from a small pool of distinct rows, with 0/1 labels."""
    rng = np.random.default_rng(seed)
    pool = (rng.random((n_distinct, p)) < 0.3).astype(np.float64)
    pick = rng.integers(0, n_distinct, size=m)
    X = pool[pick]
    w = rng.normal(size=p)
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ w - 0.5)))).astype(float)
    return X, y


def assert_same_partition(inverse, X_dense):
    _, ref = np.unique(X_dense, axis=0, return_inverse=True)
    ref = ref.reshape(-1)
    # the same partition: a bijection between group numbers
    pairs = set(zip(inverse.tolist(), ref.tolist()))
    assert len(pairs) == len(set(inverse.tolist())) == len(set(ref.tolist()))


def test_round_trip_and_partition_dense():
    X, y = duplicated_01()
    agg = fastlogit.aggregate(X, y)
    assert agg.X.shape[0] == len(np.unique(X, axis=0))
    np.testing.assert_array_equal(agg.X[agg.inverse], X)
    assert_same_partition(agg.inverse, X)
    np.testing.assert_allclose(agg.n, np.bincount(agg.inverse))
    np.testing.assert_allclose(agg.k, np.bincount(agg.inverse, weights=y))
    assert agg.classes is None
    # first appearance order: the first row starts group 0
    assert agg.inverse[0] == 0 and np.all(np.diff(np.maximum.accumulate(agg.inverse)) <= 1)


def _sparse_variants(X):
    base = sp.csr_matrix(X)
    out = {"csr": base, "csr_array": sp.csr_array(base),
           "float32": sp.csr_matrix(base, dtype=np.float32)}
    i64 = base.copy()
    i64.indices = i64.indices.astype(np.int64)
    i64.indptr = i64.indptr.astype(np.int64)
    out["int64"] = i64
    # unsorted columns within rows and explicit zeros
    rng = np.random.default_rng(1)
    data, indices, indptr = [], [], [0]
    for i in range(base.shape[0]):
        a, b = base.indptr[i], base.indptr[i + 1]
        cols = list(base.indices[a:b])
        vals = list(base.data[a:b])
        free = [j for j in range(base.shape[1]) if j not in cols]
        if free and rng.random() < 0.5:
            cols.append(free[0])
            vals.append(0.0)
        order = rng.permutation(len(cols))
        indices += [cols[o] for o in order]
        data += [vals[o] for o in order]
        indptr.append(len(indices))
    messy = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)),
                          shape=base.shape)
    messy.has_sorted_indices = False
    out["unsorted_explicit_zeros"] = messy
    out["csc"] = base.tocsc()
    return out


@pytest.mark.parametrize("variant", ["csr", "csr_array", "float32", "int64",
                                     "unsorted_explicit_zeros", "csc"])
def test_sparse_variants_group_exactly(variant):
    X, y = duplicated_01(m=800, p=10, n_distinct=40, seed=2)
    Xs = _sparse_variants(X)[variant]
    agg = fastlogit.aggregate(Xs, y)
    assert sp.issparse(agg.X)
    assert_same_partition(agg.inverse, X)
    np.testing.assert_array_equal(agg.X[agg.inverse].toarray(), X)
    if variant == "csr_array":
        assert isinstance(agg.X, sp.csr_array)
    if variant == "float32":
        assert agg.X.dtype == np.float32
    if variant == "int64":
        assert agg.X.indices.dtype == np.int64


def test_repeated_column_indices_are_summed_like_scipy():
    # row 0 stores column 1 twice (0.5 + 0.5 = 1); row 1 stores it once
    X = sp.csr_matrix((np.array([0.5, 0.5, 1.0]), np.array([1, 1, 1]), np.array([0, 2, 3])),
                      shape=(2, 3))
    agg = fastlogit.aggregate(X, [1, 0])
    assert agg.X.shape[0] == 1 and list(agg.inverse) == [0, 0]
    assert list(agg.n) == [2.0] and list(agg.k) == [1.0]
    assert X.nnz == 3  # the input is untouched


def test_rows_that_differ_only_in_values_or_positions_stay_apart():
    X = np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0],
                  [0, 0, 0], [-0.0, 0, 0]])
    for Xv in (X, sp.csr_matrix(X), np.asfortranarray(X)):
        agg = fastlogit.aggregate(Xv, [0, 1, 0, 1, 1, 0, 1])
        assert list(agg.inverse) == [0, 1, 2, 3, 0, 4, 4]


def test_weights_and_threads():
    X, y = duplicated_01(m=3000, seed=3)
    s = np.random.default_rng(4).uniform(0, 2, size=3000)
    one = fastlogit.aggregate(sp.csr_matrix(X), y, s, threads=1)
    two = fastlogit.aggregate(sp.csr_matrix(X), y, s, threads=2)
    assert np.array_equal(one.inverse, two.inverse)
    np.testing.assert_allclose(one.n, np.bincount(one.inverse, weights=s))
    np.testing.assert_allclose(one.k, np.bincount(one.inverse, weights=s * y))


def test_aggregated_objective_is_the_raw_objective():
    """The exact property behind aggregation: same loss and gradient everywhere."""
    X, y = duplicated_01(m=3000, p=6, n_distinct=30, seed=5)
    s = np.random.default_rng(6).uniform(0.5, 2.0, size=3000)
    agg = fastlogit.aggregate(sp.csr_matrix(X), y, sample_weight=s)
    raw_d, agg_d = as_design(X), as_design(agg.X)
    rng = np.random.default_rng(7)
    for _ in range(3):
        w, b = rng.normal(size=6), float(rng.normal())
        g1, g2 = np.empty(6), np.empty(6)
        l1, gb1 = _kernels.binomial_loss_grad(*raw_d.kernel_args, s, s * y, None, w, b, g1, 1)
        l2, gb2 = _kernels.binomial_loss_grad(*agg_d.kernel_args, agg.n, agg.k, None, w, b,
                                              g2, 1)
        assert l1 == pytest.approx(l2, rel=1e-12)
        assert gb1 == pytest.approx(gb2, rel=1e-11)
        np.testing.assert_allclose(g1, g2, rtol=1e-11)


@pytest.mark.parametrize("seed", [5, 6])
def test_binomial_fit_on_aggregated_rows_equals_fit_on_raw_rows(seed):
    X, y = duplicated_01(m=3000, p=6, n_distinct=30, seed=seed)
    s = np.random.default_rng(6).uniform(0.5, 2.0, size=3000)
    for Xv in (X, sp.csr_matrix(X)):
        raw = fastlogit.fit(Xv, y=y, sample_weight=s, lam=1.0, **TIGHT)
        agg = fastlogit.aggregate(Xv, y, sample_weight=s)
        small = fastlogit.fit(agg.X, agg.n, agg.k, lam=1.0, **TIGHT)
        assert small.objective == pytest.approx(raw.objective, rel=1e-13)
        # Both stop at L-BFGS-B's rounding floor (max |gradient| ~ 1e-9 of the scaled
        # objective); from two different paths that leaves ~1e-8 in the coefficients.
        np.testing.assert_allclose(small.coef, raw.coef, rtol=0, atol=5e-8)
        assert small.intercept == pytest.approx(raw.intercept, abs=5e-8)


def test_multinomial_fit_on_aggregated_rows_equals_fit_on_raw_rows():
    X, _ = duplicated_01(m=2000, p=6, n_distinct=25, seed=7)
    labels = np.array(["x", "y", "z"])[np.random.default_rng(8).integers(0, 3, size=2000)]
    agg = fastlogit.aggregate(X, labels)
    assert list(agg.classes) == ["x", "y", "z"] and agg.k.shape == (agg.X.shape[0], 3)
    np.testing.assert_allclose(agg.k.sum(axis=1), agg.n)
    raw = fastlogit.fit_multinomial(X, y=labels, lam=1.0, **TIGHT)
    small = fastlogit.fit_multinomial(agg.X, counts=agg.k, lam=1.0, **TIGHT)
    np.testing.assert_allclose(small.coef, raw.coef, rtol=0, atol=5e-8)
    np.testing.assert_allclose(small.intercept, raw.intercept, rtol=0, atol=5e-8)


def test_proportions_with_kind_binomial():
    X = np.array([[1.0], [1.0], [0.0]])
    agg = fastlogit.aggregate(X, [0.25, 0.75, 0.5], sample_weight=[4, 4, 2], kind="binomial")
    assert list(agg.n) == [8.0, 2.0] and list(agg.k) == [4.0, 1.0]


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(y=[0, 1]), ValueError, "y has 2 labels but X has 3 rows"),
    (dict(y=[0.0, np.nan, 1.0], kind="binomial"), ValueError, "NaN"),
    (dict(y=[0.0, 2.0, 1.0], kind="binomial"), ValueError,
     r"\[0, 1\] for kind='binomial'; row 1 has 2"),
    (dict(y=[0, 1, 1], sample_weight=[1, -1, 1]), ValueError, "sample_weight must be >= 0"),
    (dict(y=[0, 1, 1], kind="poisson"), ValueError, "kind must be one of"),
    (dict(y=["a", "b"]), ValueError, "2 labels but X has 3 rows"),
])
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fastlogit.aggregate(np.eye(3), **kwargs)


def test_bad_design():
    with pytest.raises(ValueError, match="NaN"):
        fastlogit.aggregate(np.array([[np.nan]]), [1])


def test_grouping_stays_exact_when_every_hash_collides():
    """The exact path compares rows on every hash match: feed it hashes that all collide."""
    from fastlogit._core import _rowgroups

    X, _ = duplicated_01(m=500, p=6, n_distinct=20, seed=9)
    for Xv in (X, sp.csr_matrix(X)):
        d = as_design(Xv)
        inverse, first = _rowgroups.group_rows_exact(*d.kernel_args,
                                                     np.zeros(500, dtype=np.uint64))
        assert_same_partition(inverse, X)
        fast = _rowgroups.group_rows(*d.kernel_args, 2)
        exact = _rowgroups.group_rows(*d.kernel_args, 2, exact_only=True)
        assert np.array_equal(fast[0], inverse) and np.array_equal(exact[0], inverse)
        assert np.array_equal(fast[1], first)
        # verification notices rows that do not match their group's first row
        wrong = inverse.copy()
        wrong[np.flatnonzero(inverse == 1)[:1]] = 0
        rep = _rowgroups._representatives(d.layout, d.values, d.indices, d.indptr, first)
        assert _rowgroups._verify(*d.kernel_args, inverse, first, *rep, 1)
        assert not _rowgroups._verify(*d.kernel_args, wrong, first, *rep, 1)
