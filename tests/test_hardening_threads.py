"""Hostile thread counts, forked children and the memory of aggregate.

* One helper (``resolve_threads``) turns every entry point's ``threads`` (or scikit-learn's
  ``n_jobs``) into a kernel thread count: anything above ``MAX_THREADS`` is clamped, so
  ``threads=2**40`` gives the answer of ``threads=MAX_THREADS`` everywhere, never an
  OverflowError, an abort (libgomp unable to create 5000 threads) or a segfault; non-integers
  raise TypeError and 0 or negatives ValueError, naming ``threads``.
* A child made by ``fork`` after a multi-threaded fit runs its kernels on one thread (same
  row ranges, same results) instead of hanging in GNU OpenMP's dead thread pool.
* ``aggregate`` costs O(stored values + rows): no scratch of n_features per thread.
"""

from __future__ import annotations

import multiprocessing
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from fastlogit._core._threads import MAX_THREADS, resolve_threads

hypothesis = pytest.importorskip("hypothesis")
from conftest import examples  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _data(m=60, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    y = (rng.random(m) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    y[:2] = [0.0, 1.0]
    return X, y


def _entry_points():
    """name -> callable(threads) returning an array that depends on the fit."""
    X, y = _data()
    Xs = sp.csr_matrix(X)
    res = fastlogit.fit(X, y=y, lam=1.0, threads=1)
    mres = fastlogit.fit_multinomial(X, y=(np.arange(60) % 3), lam=1.0, threads=1)
    out = {
        "fit": lambda t: fastlogit.fit(X, y=y, lam=1.0, threads=t).coef,
        "fit csr": lambda t: fastlogit.fit(Xs, y=y, lam=1.0, threads=t).coef,
        "fit newton": lambda t: fastlogit.fit(X, y=y, lam=1.0, solver="newton",
                                              threads=t).coef,
        "fit_multinomial": lambda t: fastlogit.fit_multinomial(
            X, y=np.arange(60) % 3, lam=1.0, threads=t).coef,
        "path": lambda t: fastlogit.path(X, y=y, lams=[10.0, 1.0], threads=t).coef,
        "cv": lambda t: np.asarray(fastlogit.cv(X, y=y, lams=[10.0, 1.0], n_folds=3,
                                                threads=t).cv_mean),
        "aggregate": lambda t: fastlogit.aggregate(np.round(X), y, threads=t).inverse,
        "aggregate csr": lambda t: fastlogit.aggregate(sp.csr_matrix(np.round(X)), y,
                                                       threads=t).inverse,
        "partial_fit": lambda t: fastlogit.partial_fit(X, y=y, lam=1.0, threads=t).coef,
        "predict_proba": lambda t: res.predict_proba(X, threads=t),
        "decision_function": lambda t: res.decision_function(Xs, threads=t),
        "multinomial predict_proba": lambda t: mres.predict_proba(X, threads=t),
    }
    try:
        import sklearn  # noqa: F401
    except ImportError:
        pass
    else:
        out["LogisticRegression(n_jobs)"] = lambda t: fastlogit.LogisticRegression(
            n_jobs=t).fit(X, y).coef_
    return out


ENTRY_POINTS = _entry_points()


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_huge_thread_counts_are_clamped_everywhere(name):
    call = ENTRY_POINTS[name]
    capped = call(MAX_THREADS)
    for threads in (5000, 10**6, 2**40, np.int64(2**62)):
        np.testing.assert_array_equal(call(threads), capped)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("threads, error", [(0, ValueError), (-7, ValueError),
                                            (1.5, TypeError), (True, TypeError),
                                            ("2", TypeError), (-(2**40), ValueError)])
def test_invalid_thread_counts_raise_naming_the_argument(name, threads, error):
    call = ENTRY_POINTS[name]
    if name.startswith("LogisticRegression") and error is ValueError:
        # scikit-learn's n_jobs: negative values count back from the number of cores
        # (-2: all but one), as in joblib; only 0 is refused
        if threads != 0:
            return
    with pytest.raises(error, match="threads|n_jobs"):
        call(threads)


def test_dask_fit_clamps_huge_thread_counts():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    import fastlogit.dask

    X, y = _data(80, 3)
    dX, dy = da.from_array(X, chunks=(40, -1)), da.from_array(y, chunks=40)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            ref = fastlogit.dask.fit(dX, y=dy, lam=1.0, threads=MAX_THREADS, client=client)
            got = fastlogit.dask.fit(dX, y=dy, lam=1.0, threads=2**40, client=client)
            np.testing.assert_array_equal(got.coef, ref.coef)
            np.testing.assert_array_equal(got.predict_proba(X, threads=2**40),
                                          ref.predict_proba(X))
            with pytest.raises(ValueError, match="threads"):
                fastlogit.dask.fit(dX, y=dy, threads=0, client=client)


@settings(max_examples=examples(60))
@given(threads=st.one_of(st.integers(-(2**70), 2**70), st.none(), st.floats(), st.booleans(),
                         st.text(max_size=3)))
def test_resolve_threads_is_total(threads):
    """Every value: an int in [1, MAX_THREADS], or TypeError/ValueError naming threads."""
    try:
        t = resolve_threads(threads)
    except (TypeError, ValueError) as exc:
        assert "threads" in str(exc)
        return
    assert isinstance(t, int) and 1 <= t <= MAX_THREADS


# ---------------------------------------------------------------------------
# fork


def _fork_child_fit(seed):
    X, y = _data(4000, 8, seed)
    res = fastlogit.fit(X, y=y, lam=1.0, threads=2, solver="newton")  # Hessian kernel too
    multi = fastlogit.fit_multinomial(X, y=np.arange(4000) % 3, lam=1.0, threads=2)
    lasso = fastlogit.fit(X, y=y, lam=5.0, l1_ratio=1.0, threads=2)  # coordinate descent
    groups = fastlogit.aggregate(np.round(X), y, threads=2).inverse
    return (float(res.objective), float(multi.objective), float(lasso.objective),
            groups.tobytes())


@pytest.mark.skipif(sys.platform == "win32" or "fork" not in
                    multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_children_after_a_threaded_fit_do_not_hang():
    """A fork pool after multi-threaded kernels ran in the parent: every child fits (with
    threads=2, run serially there) and gets the parent's bitwise answer. A hang fails the
    test through the timeout instead of blocking the suite."""
    expected = _fork_child_fit(0)  # the parent runs every kernel on two threads first
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(2)
    try:
        got = pool.map_async(_fork_child_fit, [0, 0, 0]).get(timeout=60)
    except multiprocessing.TimeoutError:  # pragma: no cover - the regression
        pool.terminate()
        pytest.fail("a forked child hung in its first OpenMP kernel")
    else:
        pool.close()
    finally:
        pool.join()
    assert got == [expected] * 3


# ---------------------------------------------------------------------------
# aggregate: memory and degenerate shapes


def test_aggregate_memory_does_not_scale_with_threads_times_features():
    X = sp.csr_matrix((np.ones(3), (np.array([0, 1, 1]), np.array([5, 2**24 - 1, 7]))),
                      shape=(2, 2**24))
    tracemalloc.start()
    try:
        agg = fastlogit.aggregate(X, [0, 1], threads=2**40)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak  # was 257 MB (threads x n_features scratch)
    assert agg.X.shape == (2, 2**24) and agg.X.nnz == 3


@pytest.mark.parametrize("make", [lambda: sp.csr_matrix((0, 4)), lambda: np.zeros((0, 4)),
                                  lambda: sp.csr_array((0, 4))])
def test_aggregate_of_zero_rows_is_well_formed(make):
    X = make()
    agg = fastlogit.aggregate(X, np.zeros(0))
    assert type(agg.X) is type(X) and agg.X.shape == (0, 4)
    for a in (agg.n, agg.k):
        assert a.dtype == np.float64 and a.shape == (0,)
    assert agg.inverse.shape == (0,)


@settings(max_examples=examples(60))
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 30), p=st.integers(1, 6),
       threads=st.sampled_from([1, 2, 3, 2**40]), unsorted=st.booleans(),
       repeat=st.booleans(), zeros=st.booleans())
def test_aggregate_groups_exactly_in_any_csr_form(seed, m, p, threads, unsorted, repeat,
                                                  zeros):
    """Unsorted columns, repeated columns and stored zeros: the same groups as the dense
    rows, and X_unique[inverse] rebuilds X."""
    rng = np.random.default_rng(seed)
    D = rng.integers(-1, 2, size=(m, p)).astype(float) * (rng.random((m, p)) < 0.6)
    X = sp.csr_matrix(D)
    if zeros and X.nnz:
        X.data[rng.integers(X.nnz)] = 0.0  # a stored zero: the matrix changes, D follows
        D = X.toarray()
    if repeat and X.nnz:  # split the first stored value in two entries of the same column
        i = int(np.searchsorted(X.indptr, 0, side="right") - 1)
        a = X.indptr[i]
        data = np.insert(X.data, a, X.data[a] / 2)
        data[a + 1] /= 2
        X = sp.csr_matrix((data, np.insert(X.indices, a, X.indices[a]),
                           np.r_[X.indptr[:i + 1], X.indptr[i + 1:] + 1]), shape=X.shape)
    if unsorted:
        for i in range(m):
            a, b = X.indptr[i], X.indptr[i + 1]
            X.indices[a:b] = X.indices[a:b][::-1].copy()
            X.data[a:b] = X.data[a:b][::-1].copy()
        X.has_sorted_indices = False
    y = rng.integers(0, 2, size=m)
    agg = fastlogit.aggregate(X, y, threads=threads)
    np.testing.assert_array_equal(agg.X[agg.inverse].toarray(), D)
    ref = fastlogit.aggregate(D, y, threads=1)
    np.testing.assert_array_equal(agg.inverse, ref.inverse)
    np.testing.assert_array_equal(agg.n, ref.n)
