"""Property-based tests of every public entry point beyond fit (see tests/test_fuzz.py for
fit, fit_multinomial and LogisticRegression.fit, whose strategies are reused here).

For each entry point: random valid input gives a finite (and, where the entry point
promises it, optimal) answer with the inputs untouched; hostile input gives ValueError or
TypeError naming the argument; never a crash, NaN, stray RuntimeWarning or changed input.
One kernel thread (as in test_fuzz.py) except where threads are the subject.
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
from test_fuzz import (  # noqa: E402
    DEFECTS,
    DOCUMENTED,
    assert_unchanged,
    call_strictly,
    freeze,
    newton_decrement,
    problems,
)

import fastlogit  # noqa: E402
from fastlogit.backend import BinomialObjective, MultinomialObjective  # noqa: E402

REFUSALS = r"no trials|too large|nothing to fit|sample_weight \* n sums|lam sequence"
# the defects every entry point that takes (X, n, k, sample_weight, offset, threads) must
# refuse like fit does
DATA_DEFECTS = sorted(d for d in DEFECTS if not d.startswith(("lam", "l1_ratio", "max_iter",
                                                                "unknown solver")))


def _defective(defect, m, p, seed, bad):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 6, size=m).astype(float)
    d = {"m": m, "X": rng.normal(size=(m, p)), "n": n, "k": np.floor(n / 2),
         "sample_weight": None, "offset": None, "lam": 1.0, "l1_ratio": 0.0, "threads": 1,
         "max_iter": 100, "solver": "lbfgs"}
    corrupt, culprit = DEFECTS[defect]
    corrupt(d, rng, bad)
    return d, culprit


HOSTILE_CALLS = {
    "path": lambda d: fastlogit.path(d["X"], d["n"], d["k"], sample_weight=d["sample_weight"],
                                     offset=d["offset"], threads=d["threads"], n_lams=3),
    "cv": lambda d: fastlogit.cv(d["X"], d["n"], d["k"], sample_weight=d["sample_weight"],
                                 offset=d["offset"], threads=d["threads"], n_lams=3,
                                 n_folds=2),
    "partial_fit": lambda d: fastlogit.partial_fit(d["X"], d["n"], d["k"],
                                                   sample_weight=d["sample_weight"],
                                                   offset=d["offset"], threads=d["threads"]),
    "BinomialObjective": lambda d: BinomialObjective(d["X"], d["n"], d["k"],
                                                     sample_weight=d["sample_weight"],
                                                     offset=d["offset"],
                                                     threads=d["threads"]).value(
        np.zeros(1 + np.shape(d["X"])[1] if np.ndim(d["X"]) == 2 else 1)),
}


@settings(max_examples=examples(120))
@given(entry=st.sampled_from(sorted(HOSTILE_CALLS)), defect=st.sampled_from(DATA_DEFECTS),
       m=st.integers(2, 10), p=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_bad_input_raises_a_documented_error_everywhere(entry, defect, m, p, seed, bad):
    d, culprit = _defective(defect, m, p, seed, bad)
    snap = freeze(d["X"], d["n"], d["k"], d["sample_weight"], d["offset"])
    with pytest.raises(DOCUMENTED) as info:
        call_strictly(HOSTILE_CALLS[entry], d)
    assert culprit in str(info.value), (entry, defect, str(info.value))
    assert_unchanged(snap)


# ---------------------------------------------------------------------------
# valid input


@settings(max_examples=examples(40))
@given(prob=problems(max_rows=20, max_features=4),
       l1_ratio=st.sampled_from([0.0, 0.0, 0.5, 1.0]))
def test_path_valid_input_is_finite_and_optimal(prob, l1_ratio):
    X, n, k, s, o, X64 = prob
    snap = freeze(X, n, k, s, o)
    try:
        fp, caught = call_strictly(fastlogit.path, X, n, k, sample_weight=s, offset=o,
                                   l1_ratio=l1_ratio, n_lams=4, threads=1)
    except DOCUMENTED as exc:
        assert re.search(REFUSALS, str(exc)), exc
        assert_unchanged(snap)
        return
    assert_unchanged(snap)
    assert np.all(np.isfinite(fp.coef)) and np.all(np.isfinite(fp.intercept))
    assert np.all(np.isfinite(fp.deviance)) and np.all(np.diff(fp.lams) < 0)
    spread = np.abs(X64[X64 != 0])
    moderate = spread.size == 0 or (spread.min() > 1e-100 and spread.max() < 1e100)
    if l1_ratio == 0.0 and moderate and fastlogit.ConvergenceWarning not in caught:
        # (columns beyond 1e+-100: the path's gradient test can pass on a nearly flat
        # objective still short of the optimum, where fit polishes with Newton steps)
        for i in range(len(fp)):
            if fp.converged[i]:
                assert newton_decrement(X64, n, k, s, o, fp.lams[i], fp.coef[i],
                                        fp.intercept[i], True) < 1e-6


@settings(max_examples=examples(25))
@given(prob=problems(max_rows=24, max_features=3), n_folds=st.integers(2, 4))
def test_cv_valid_input_is_finite(prob, n_folds):
    X, n, k, s, o, X64 = prob
    snap = freeze(X, n, k, s, o)
    try:
        res, _ = call_strictly(fastlogit.cv, X, n, k, sample_weight=s, offset=o,
                               n_folds=n_folds, n_lams=3, threads=1)
    except DOCUMENTED as exc:
        assert re.search(REFUSALS + r"|fold|rows", str(exc)), exc
        assert_unchanged(snap)
        return
    assert_unchanged(snap)
    assert np.all(np.isfinite(res.cv_mean)) and np.all(np.isfinite(res.cv_se))
    assert res.lam in res.lams


@settings(max_examples=examples(40))
@given(prob=problems(max_rows=20, max_features=4), pieces=st.integers(1, 4),
       batch=st.one_of(st.none(), st.integers(1, 8)))
def test_partial_fit_valid_stream_is_finite(prob, pieces, batch):
    X, n, k, s, o, X64 = prob
    m = X64.shape[0]
    Xc = X.tocsr() if sp.issparse(X) else X
    bounds = np.linspace(0, m, min(pieces, m) + 1).astype(int)
    model = None
    try:
        for a, b in zip(bounds[:-1], bounds[1:]):
            model, _ = call_strictly(
                fastlogit.partial_fit, Xc[a:b], n[a:b], k[a:b], model=model,
                sample_weight=None if s is None else s[a:b],
                offset=None if o is None else o[a:b], batch_size=batch, threads=1)
            assert np.all(np.isfinite(model.coef)) and np.isfinite(model.intercept)
    except DOCUMENTED as exc:
        assert re.search(REFUSALS, str(exc)), exc
        return
    assert np.all(np.isfinite(model.predict_proba(Xc)))


# ---------------------------------------------------------------------------
# results: predictions and inference on valid and hostile new data


@settings(max_examples=examples(40))
@given(prob=problems(max_rows=20, max_features=4), lam=st.sampled_from([0.1, 1.0, 10.0]),
       hostile=st.sampled_from(["none", "columns", "nan", "offset", "1-D", "strings",
                                "threads"]))
def test_result_methods_and_inference(prob, lam, hostile):
    X, n, k, s, o, X64 = prob
    try:
        res, _ = call_strictly(fastlogit.fit, X, n, k, sample_weight=s, offset=o, lam=lam,
                               threads=1)
    except DOCUMENTED as exc:
        assert re.search(REFUSALS, str(exc)), exc
        return
    p = X64.shape[1]
    if hostile == "none":
        for stat in ("deviance", "aic", "null_deviance"):
            assert np.isfinite(getattr(res, stat)), stat
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # "nearly singular": said
                bse = res.bse
                ci = res.conf_int()
                res.summary()
        except ValueError as exc:  # the documented refusal: a singular Hessian
            assert "singular" in str(exc), exc
        else:
            assert np.all(np.isfinite(bse) & (bse > 0)) and np.all(ci[:, 0] <= ci[:, 1])
        proba, _ = call_strictly(res.predict_proba, X, offset=o, threads=1)
        assert np.all((proba >= 0) & (proba <= 1))
        return
    new, offset, name, threads = X64, None, "X", 1
    if hostile == "columns":
        new = np.ones((3, p + 1))
    elif hostile == "nan":
        new = X64.copy() if p else np.ones((X64.shape[0], 1))
        new[0, 0] = np.nan
    elif hostile == "offset":
        offset, name = np.zeros(X64.shape[0] + 1), "offset"
    elif hostile == "1-D":
        new = np.ones(p + 3)
    elif hostile == "strings":
        new = X64.astype(str)
    else:
        threads, name = 0, "threads"
    with pytest.raises(DOCUMENTED, match=name):
        call_strictly(res.decision_function, new, offset=offset, threads=threads)


# ---------------------------------------------------------------------------
# scikit-learn estimators


@settings(max_examples=examples(25))
@given(prob=problems(max_rows=20, max_features=4), n_classes=st.integers(2, 3),
       pieces=st.integers(1, 3))
def test_estimators_fit_partial_fit_predict(prob, n_classes, pieces):
    pytest.importorskip("sklearn")
    X, n, k, s, _, X64 = prob
    m = X64.shape[0]
    Xc = X.tocsr() if sp.issparse(X) else X
    y = np.arange(m) % n_classes
    try:
        clf, _ = call_strictly(fastlogit.LogisticRegression(n_jobs=1).fit, Xc, y)
    except DOCUMENTED as exc:
        assert re.search(r"class|too large|nothing|samples|feature|trials", str(exc)), exc
    else:
        for method in (clf.predict_proba, clf.decision_function, clf.predict_log_proba):
            out, _ = call_strictly(method, Xc)
            assert np.all(np.isfinite(out)) or method == clf.predict_log_proba
        assert set(clf.predict(Xc)) <= set(clf.classes_)
    frac = np.where(n > 0, k / np.maximum(n, 1e-300), 0.5)
    reg = fastlogit.BinomialRegressor()
    bounds = np.linspace(0, m, min(pieces, m) + 1).astype(int)
    try:
        for a, b in zip(bounds[:-1], bounds[1:]):
            reg, _ = call_strictly(reg.partial_fit, Xc[a:b], frac[a:b])
            assert np.all(np.isfinite(reg.coef_)) and np.isfinite(reg.intercept_)
    except DOCUMENTED as exc:
        assert re.search(r"too large|nothing|trials|samples|feature", str(exc)), exc
        return
    pred, _ = call_strictly(reg.predict, Xc)
    assert np.all((pred >= 0) & (pred <= 1))


# ---------------------------------------------------------------------------
# backend objectives: valid data, any theta


@settings(max_examples=examples(60))
@given(prob=problems(max_rows=15, max_features=3), scale=st.sampled_from([0.0, 1.0, 1e3,
                                                                         1e150, 1e300]),
       seed=st.integers(0, 2**32 - 1), multinomial=st.booleans())
def test_backend_objectives_never_return_nan(prob, scale, seed, multinomial):
    X, n, k, s, o, X64 = prob
    rng = np.random.default_rng(seed)
    snap = freeze(X, n, k, s, o)
    try:
        if multinomial:
            Y = rng.integers(0, 3, size=(X64.shape[0], 3)).astype(float)
            obj = MultinomialObjective(X, Y, sample_weight=s, threads=2)
        else:
            obj = BinomialObjective(X, n, k, sample_weight=s, offset=o, threads=2)
    except DOCUMENTED as exc:
        assert re.search(REFUSALS + r"|class|counts", str(exc)), exc
        return
    theta = rng.normal(size=obj.n_params) * scale
    try:
        f, g = obj.value_and_grad(theta)
        hv = obj.hessp(theta, np.ones(obj.n_params))
        proba = obj.predict_proba(theta)
    except ValueError as exc:  # scores beyond float64: said, never returned as NaN
        assert "theta" in str(exc) and "overflow" in str(exc), exc
        assert scale > 1.0 or np.abs(X64).max(initial=0.0) > 1e150
        return
    assert f >= -1e-9 * max(1.0, abs(f)) and f != -np.inf
    assert not np.any(np.isnan(g)) and not np.any(np.isnan(hv))  # inf: beyond float64
    assert np.all((proba >= 0) & (proba <= 1))
    assert_unchanged(snap)
    for bad, name in ((np.full(obj.n_params, np.nan), "theta"),
                      (np.zeros(obj.n_params + 1), "theta"), ("x", "theta")):
        with pytest.raises(DOCUMENTED, match=name):
            obj.value(bad)


# ---------------------------------------------------------------------------
# fastlogit.dask.fit: the same answer as fit, or the same refusals


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.array")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client


@settings(max_examples=examples(8), deadline=None,
          suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@given(prob=problems(max_rows=30, max_features=3), chunks=st.integers(1, 4),
       threads=st.sampled_from([1, 2, 2**40]))
def test_dask_fit_matches_fit_or_refuses_alike(dask_client, prob, chunks, threads):
    import dask.array as da

    import fastlogit.dask

    X, n, k, s, o, X64 = prob
    m = X64.shape[0]
    size = -(-m // chunks)
    dX = da.from_array(X64, chunks=(size, -1))
    args = dict(sample_weight=None if s is None else da.from_array(s, chunks=size),
                offset=None if o is None else da.from_array(o, chunks=size))
    try:
        ref, _ = call_strictly(fastlogit.fit, X64, n, k, sample_weight=s, offset=o, threads=1)
    except DOCUMENTED as exc:
        with pytest.raises(DOCUMENTED):
            fastlogit.dask.fit(dX, da.from_array(n, chunks=size), da.from_array(k, chunks=size),
                               client=dask_client, threads=threads, **args)
        assert re.search(REFUSALS, str(exc)), exc
        return
    res = fastlogit.dask.fit(dX, da.from_array(n, chunks=size), da.from_array(k, chunks=size),
                             client=dask_client, threads=threads, **args)
    assert np.all(np.isfinite(res.coef))
    assert res.objective <= ref.objective + 1e-6 * max(1.0, abs(ref.objective))


MULTI_DEFECTS = {
    "X has NaN": (lambda d, rng: d["X"].__setitem__((0, 0), np.nan), "X"),
    "negative count": (lambda d, rng: d["Y"].__setitem__((0, 0), -1.0), "counts"),
    "count NaN": (lambda d, rng: d["Y"].__setitem__((0, 0), np.nan), "counts"),
    "rows mismatch": (lambda d, rng: d.update(Y=d["Y"][:-1]), "rows"),
    "weight negative": (lambda d, rng: d.update(sample_weight=-np.ones(len(d["X"]))),
                        "sample_weight"),
    "offset shape": (lambda d, rng: d.update(offset=np.zeros(3)), "offset"),
    "threads 0": (lambda d, rng: d.update(threads=0), "threads"),
    "X 3-D": (lambda d, rng: d.update(X=d["X"][:, :, None]), "X"),
}


@settings(max_examples=examples(40))
@given(defect=st.sampled_from(sorted(MULTI_DEFECTS)), m=st.integers(2, 8),
       K=st.integers(2, 4), seed=st.integers(0, 2**32 - 1))
def test_multinomial_objective_bad_input_raises_naming_it(defect, m, K, seed):
    rng = np.random.default_rng(seed)
    d = {"X": rng.normal(size=(m, 2)), "Y": rng.integers(1, 3, size=(m, K)).astype(float),
         "sample_weight": None, "offset": None, "threads": 1}
    corrupt, culprit = MULTI_DEFECTS[defect]
    corrupt(d, rng)
    with pytest.raises(DOCUMENTED) as info:
        call_strictly(MultinomialObjective, d["X"], d["Y"], sample_weight=d["sample_weight"],
                      offset=d["offset"], threads=d["threads"])
    assert culprit in str(info.value), (defect, str(info.value))
