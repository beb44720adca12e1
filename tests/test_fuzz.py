"""Property-based fuzzing of the public API (hypothesis).

One kernel thread throughout: the thread paths are checked elsewhere (one thread equals
two in test_kernels.py, test_reliability.py), and on a loaded machine every OpenMP
barrier can wait a time slice, which would make a few hundred tiny fits slow.

The promise: every call either returns finite, correct results or raises a documented
exception (ValueError or TypeError whose message names the argument), never a crash,
hang, silent NaN, stray numpy RuntimeWarning or modified input. Inputs are passed
read-only and compared with copies afterwards.

The normal suite runs the "fastlogit" profile (a few hundred examples in a few seconds);
``FASTLOGIT_HYPOTHESIS_PROFILE=fastlogit-long pytest tests/test_fuzz.py`` is the long run
(see tests/conftest.py and the "fuzz" job of .github/workflows/ci.yml).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from conftest import examples  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fastlogit  # noqa: E402

LAYOUTS = ["C", "F", "strided", "csr32", "csr64", "csr_array", "csr_unsorted", "csc", "coo"]
DTYPES = [np.float64, np.float32, np.int64]


# ---------------------------------------------------------------------------
# Inputs: build, freeze (read-only), check unchanged


def _arrays_of(obj):
    """The numpy arrays an input is made of (a sparse matrix: its index and value arrays)."""
    if obj is None or np.isscalar(obj):
        return []
    if sp.issparse(obj):
        names = ("data", "indices", "indptr") if hasattr(obj, "indptr") else ("data", "row", "col")
        return [getattr(obj, a) for a in names]
    return [obj] if isinstance(obj, np.ndarray) else []


def freeze(*objs):
    """Make every array read-only; return byte-level copies to compare against afterwards."""
    snapshot = []
    for obj in objs:
        for a in _arrays_of(obj):
            snapshot.append((a, a.copy()))
            a.setflags(write=False)
    return snapshot


def assert_unchanged(snapshot):
    for a, before in snapshot:
        assert a.dtype == before.dtype and a.shape == before.shape
        assert a.tobytes() == before.tobytes(), "an input array was modified"


def make_layout(X, layout, dtype):
    """X (float64 dense) in the given layout and value dtype."""
    if layout == "C":
        return np.ascontiguousarray(X, dtype=dtype)
    if layout == "F":
        return np.asfortranarray(X, dtype=dtype)
    if layout == "strided":  # a non-contiguous view: the documented C-order copy
        wide = np.zeros((X.shape[0], 2 * X.shape[1]), dtype=dtype)
        wide[:, ::2] = X
        return wide[:, ::2]
    Xs = sp.csr_matrix(X.astype(dtype))
    if layout == "csr64":
        Xs.indices = Xs.indices.astype(np.int64)
        Xs.indptr = Xs.indptr.astype(np.int64)
    elif layout == "csr_array":
        Xs = sp.csr_array(Xs)
    elif layout == "csr_unsorted":
        for i in range(Xs.shape[0]):  # reverse each row's entries: same matrix
            a, b = Xs.indptr[i], Xs.indptr[i + 1]
            Xs.indices[a:b] = Xs.indices[a:b][::-1].copy()
            Xs.data[a:b] = Xs.data[a:b][::-1].copy()
        Xs.has_sorted_indices = False
    elif layout == "csc":
        Xs = Xs.tocsc()
    elif layout == "coo":
        Xs = Xs.tocoo()
    return Xs


@st.composite
def problems(draw, max_rows=25, max_features=5):
    """A valid binomial problem: (X in some layout, n, k, sample_weight, offset, X64)."""
    m = draw(st.integers(1, max_rows))
    p = draw(st.integers(0, max_features))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    X[rng.random((m, p)) < draw(st.sampled_from([0.0, 0.5, 0.9]))] = 0.0
    dtype = draw(st.sampled_from(DTYPES))
    if dtype == np.int64:
        X = np.round(3 * X)
    # per-column magnitudes from 1e-300 to 1e300 (float32 holds ~1e-38 .. 3e38)
    top = 30 if dtype == np.float32 else 300
    exps = draw(st.lists(st.sampled_from([0, 0, 0, -top, -8, 8, top // 2, top]),
                         min_size=p, max_size=p))
    if dtype != np.int64:
        X = X * 10.0 ** np.array(exps, dtype=float)
    layout = draw(st.sampled_from(LAYOUTS))
    Xl = make_layout(X, layout, dtype)
    n = np.round(rng.uniform(0, 12, size=m), draw(st.sampled_from([0, 2])))  # fractional too
    k = n * rng.uniform(0, 1, size=m)
    if draw(st.booleans()):  # whole successes (k <= n still)
        k = np.floor(k)
    s = rng.uniform(0, 3, size=m) if draw(st.booleans()) else None
    o = rng.normal(size=m) if draw(st.booleans()) else None
    X64 = np.asarray(Xl.toarray() if sp.issparse(Xl) else Xl, dtype=np.float64)
    return Xl, n, k, s, o, X64


def newton_decrement(X, n, k, s, o, lam, coef, intercept, fit_intercept):
    """g^T H^-1 g / 2 at the fitted point: how much F could still fall (to second order),
    per unit of sum_i s_i n_i (the solvers' own scaling of F). Invariant to rescaling any
    column, so it means the same for columns of size 1e-300 and 1e300; computed here in
    plain numpy (float64) with each column scaled by 1 / max(max|x_j|, sqrt(lam)) so that
    nothing overflows.
    """
    s = np.ones_like(n) if s is None else s
    z = X @ coef + intercept + (0.0 if o is None else o)
    prob = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow warnings
    r = s * (n * prob - k)
    d = s * n * prob * (1.0 - prob)
    c = 1.0 / np.maximum(np.abs(X).max(axis=0, initial=0.0), np.sqrt(lam))
    Xc = X * c
    g = (X.T @ r + lam * coef) * c
    H = Xc.T @ (d[:, None] * Xc) + lam * np.diag(c * c)
    if fit_intercept:
        g = np.r_[r.sum(), g]
        H = np.block([[np.atleast_2d(d.sum()), (d @ Xc)[None, :]],
                      [(d @ Xc)[:, None], H]])
    if g.size == 0:
        return 0.0
    H = H + 1e-12 * np.trace(H) * np.eye(H.shape[0]) / H.shape[0]
    return 0.5 * float(g @ np.linalg.solve(H, g)) / max(float(np.sum(s * n)), 1e-300)


def call_strictly(fn, *args, **kwargs):
    """fn(...) with numpy floating-point warnings turned into errors (a silent inf/NaN would
    show up as one) and fastlogit's own warnings recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        out = fn(*args, **kwargs)
    return out, [w.category for w in caught]


DOCUMENTED = (ValueError, TypeError)


# ---------------------------------------------------------------------------
# fit on valid input: finite, optimal, inputs untouched


@settings(max_examples=examples(120))
@given(prob=problems(), lam=st.sampled_from([0.05, 1.0, 30.0]),
       solver=st.sampled_from(["lbfgs", "lbfgs", "newton", "newton-cg"]),
       fit_intercept=st.booleans())
def test_fit_valid_input_is_finite_and_optimal(prob, lam, solver, fit_intercept):
    X, n, k, s, o, X64 = prob
    snap = freeze(X, n, k, s, o)
    try:
        res, caught = call_strictly(
            fastlogit.fit, X, n, k, sample_weight=s, offset=o, lam=lam, solver=solver,
            fit_intercept=fit_intercept, threads=1,
        )
    except DOCUMENTED as exc:
        # the documented refusals of valid-looking data
        assert re.search(r"no trials|too large|nothing to fit", str(exc)), exc
        assert_unchanged(snap)
        return
    assert_unchanged(snap)
    assert np.all(np.isfinite(res.coef)) and np.isfinite(res.intercept)
    assert np.isfinite(res.objective)
    assert res.coef.shape == (X64.shape[1],)
    if fastlogit.ConvergenceWarning not in caught:
        tol = 1e-8 if res.converged else 1e-5
        assert newton_decrement(X64, n, k, s, o, lam, res.coef, res.intercept,
                                fit_intercept) < tol
    p = res.predict_proba(X)
    assert np.all((p >= 0) & (p <= 1))
    assert_unchanged(snap)


# ---------------------------------------------------------------------------
# fit on bad input: a documented exception that names the culprit, inputs untouched


def _nan_in(name):
    def corrupt(d, rng, bad):
        arr = d[name] if d[name] is not None else np.ones(d["m"])
        arr = arr.astype(float)
        arr[rng.integers(arr.shape[0])] = bad
        d[name] = arr
    return corrupt


def _csr(d):
    X = sp.csr_matrix(d["X"])
    if X.nnz == 0:
        X = sp.csr_matrix(np.ones_like(d["X"]))
    return X


def _csr_index_out_of_range(d, rng, bad):
    X = _csr(d)
    X.indices[rng.integers(X.nnz)] = X.shape[1] + int(rng.integers(0, 1000))
    d["X"] = X


def _csr_negative_index(d, rng, bad):
    X = _csr(d)
    X.indices[rng.integers(X.nnz)] = -1 - int(rng.integers(0, 1000))
    d["X"] = X


def _csr_indptr_decreasing(d, rng, bad):
    X = _csr(d)
    indptr = X.indptr.copy()
    i = int(rng.integers(1, X.shape[0] + 1))
    indptr[i:] = indptr[i:] - indptr[i] + max(indptr[i - 1] - 1, 0)
    indptr[-1] = X.nnz  # keeps nnz consistent: only the order is broken
    if np.all(np.diff(indptr) >= 0):
        indptr[1] = X.nnz + 1
    X.indptr = indptr
    d["X"] = X


def _csr_indptr_length(d, rng, bad):
    X = _csr(d)
    X.indptr = X.indptr[:-1].copy()
    d["X"] = X


def _csr_nnz_mismatch(d, rng, bad):
    X = _csr(d)
    X.data = np.concatenate([X.data, [1.0]])
    d["X"] = X


def _csr_indptr_start(d, rng, bad):
    X = _csr(d)
    X.indptr = X.indptr + 1
    d["X"] = X


def _set(name, value):
    def corrupt(d, rng, bad):
        d[name] = value(d) if callable(value) else value
    return corrupt


DEFECTS = {
    # name: (corruption, the argument the message must name)
    "X has NaN/inf": (lambda d, rng, bad: d.update(X=_with_bad(d["X"], rng, bad)), "X"),
    "CSR data has NaN/inf": (lambda d, rng, bad: d.update(
        X=sp.csr_matrix(_with_bad(d["X"], rng, bad))), "X"),
    "n has NaN/inf": (_nan_in("n"), "n"),
    "k has NaN/inf": (_nan_in("k"), "k"),
    "sample_weight has NaN/inf": (_nan_in("sample_weight"), "sample_weight"),
    "offset has NaN/inf": (_nan_in("offset"), "offset"),
    "negative n": (lambda d, rng, bad: d.update(n=-d["n"] - 1.0), "n"),
    "negative k": (lambda d, rng, bad: d.update(k=d["k"] - d["k"].max() - 0.5), "k"),
    "k > n": (lambda d, rng, bad: d.update(k=d["n"] + 0.25), "k"),
    "negative weight": (lambda d, rng, bad: d.update(sample_weight=-np.ones(d["m"])),
                        "sample_weight"),
    "n wrong length": (lambda d, rng, bad: d.update(n=np.ones(d["m"] + 1),
                                                    k=np.zeros(d["m"] + 1)), "n"),
    "offset wrong length": (_set("offset", lambda d: np.zeros(d["m"] + 2)), "offset"),
    "no rows": (lambda d, rng, bad: d.update(X=d["X"][:0], n=d["n"][:0], k=d["k"][:0]), "X"),
    "X 1-D": (lambda d, rng, bad: d.update(X=d["X"][:, 0] if d["X"].shape[1] else
                                           d["X"].ravel()), "X"),
    "X 3-D": (lambda d, rng, bad: d.update(X=d["X"][:, :, None]), "X"),
    "X complex": (lambda d, rng, bad: d.update(X=d["X"] + 1j), "X"),
    "X strings": (lambda d, rng, bad: d.update(X=d["X"].astype(str)), "X"),
    "X None": (_set("X", None), "X"),
    "CSR index out of range": (_csr_index_out_of_range, "X"),
    "CSR negative index": (_csr_negative_index, "X"),
    "CSR indptr decreasing": (_csr_indptr_decreasing, "X"),
    "CSR indptr too short": (_csr_indptr_length, "X"),
    "CSR nnz mismatch": (_csr_nnz_mismatch, "X"),
    "CSR indptr[0] != 0": (_csr_indptr_start, "X"),
    "lam negative": (_set("lam", -1.0), "lam"),
    "lam NaN": (_set("lam", float("nan")), "lam"),
    "lam a string": (_set("lam", "1"), "lam"),
    "l1_ratio > 1": (_set("l1_ratio", 1.5), "l1_ratio"),
    "threads 0": (_set("threads", 0), "threads"),
    "max_iter 0": (_set("max_iter", 0), "max_iter"),
    "unknown solver": (_set("solver", "sgdx"), "solver"),
}


def _with_bad(X, rng, bad):
    X = np.array(X, dtype=float)
    if X.size == 0:
        X = np.ones((X.shape[0], 1))
    X[rng.integers(X.shape[0]), rng.integers(X.shape[1])] = bad
    return X


@settings(max_examples=examples(150))
@given(defect=st.sampled_from(sorted(DEFECTS)), m=st.integers(1, 12), p=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_fit_bad_input_raises_documented_error(defect, m, p, seed, bad):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 6, size=m).astype(float)
    d = {"m": m, "X": rng.normal(size=(m, p)), "n": n, "k": np.floor(n / 2),
         "sample_weight": None, "offset": None, "lam": 1.0, "l1_ratio": 0.0, "threads": 1,
         "max_iter": 100, "solver": "lbfgs"}
    corrupt, culprit = DEFECTS[defect]
    corrupt(d, rng, bad)
    kwargs = {key: d[key] for key in d if key not in ("m", "X", "n", "k")}
    snap = freeze(d["X"], d["n"], d["k"], d["sample_weight"], d["offset"])
    with pytest.raises(DOCUMENTED) as info:
        call_strictly(fastlogit.fit, d["X"], d["n"], d["k"], **kwargs)
    assert culprit in str(info.value), (defect, str(info.value))
    assert_unchanged(snap)


# ---------------------------------------------------------------------------
# The multinomial and scikit-learn entry points, lightly


@settings(max_examples=examples(25))
@given(prob=problems(max_rows=20, max_features=4), n_classes=st.integers(2, 4),
       use_counts=st.booleans(), lam=st.sampled_from([0.1, 3.0]))
def test_fit_multinomial_valid_input(prob, n_classes, use_counts, lam):
    X, n, _, s, o, X64 = prob
    rng = np.random.default_rng(X64.shape[0] * 7 + n_classes)
    m = X64.shape[0]
    if use_counts:
        counts = rng.integers(0, 4, size=(m, n_classes)).astype(float)
        counts = counts * rng.choice([1.0, 0.5], size=(m, 1))  # fractional counts too
        target = {"counts": counts}
    else:
        target = {"y": rng.integers(0, n_classes, size=m)}
    snap = freeze(X, s, *target.values())
    try:
        res, _ = call_strictly(fastlogit.fit_multinomial, X, lam=lam, sample_weight=s,
                               threads=1, **target)
    except DOCUMENTED as exc:
        assert re.search(r"class|no trials|nothing to fit|too large|counts", str(exc)), exc
        assert_unchanged(snap)
        return
    assert_unchanged(snap)
    assert np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.intercept))
    proba = res.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert_unchanged(snap)


@settings(max_examples=examples(20))
@given(prob=problems(max_rows=20, max_features=4), n_classes=st.integers(2, 3))
def test_sklearn_logistic_regression_valid_input(prob, n_classes):
    pytest.importorskip("sklearn")
    X, _, _, s, _, X64 = prob
    m = X64.shape[0]
    y = np.arange(m) % n_classes  # every class present (when m allows)
    n_classes = min(n_classes, m)
    snap = freeze(X, y, s)
    try:
        clf, _ = call_strictly(fastlogit.LogisticRegression(C=1.0, n_jobs=1).fit, X, y,
                               sample_weight=s)
    except DOCUMENTED as exc:
        assert re.search(r"class|no trials|too large|nothing to fit|samples|feature", str(exc)), exc
        assert_unchanged(snap)
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (m, n_classes) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(range(n_classes))
    assert_unchanged(snap)


@settings(max_examples=examples(30))
@given(defect=st.sampled_from(["nan", "labels 2-D", "rows mismatch", "negative counts"]),
       seed=st.integers(0, 1000))
def test_fit_multinomial_bad_input_raises(defect, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(8, 2))
    y = np.arange(8) % 3
    kwargs = {"y": y}
    if defect == "nan":
        X[rng.integers(8), rng.integers(2)] = np.nan
    elif defect == "labels 2-D":
        kwargs = {"y": np.c_[y, y]}
    elif defect == "rows mismatch":
        kwargs = {"y": y[:-1]}
    else:
        counts = np.ones((8, 3))
        counts[rng.integers(8), rng.integers(3)] = -1.0
        kwargs = {"counts": counts}
    snap = freeze(X, *kwargs.values())
    with pytest.raises(DOCUMENTED):
        call_strictly(fastlogit.fit_multinomial, X, **kwargs)
    assert_unchanged(snap)
