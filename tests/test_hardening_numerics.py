"""Silent NaN and silently wrong answers, one test per class of fault.

* Solvers stop when they make no progress (Newton with factr=0, pgtol=0).
* Unsupported options are refused by name (fit_multinomial's solver).
* Streams never produce NaN (a first piece with a zero gradient) or absurd steps (eta0), and
  0/1 labels streamed one row per call end near the optimum.
* A warm start never makes the answer worse (huge x0), and a fit never reports converged
  with a non-finite objective.
* Total weights too small (subnormal) or too large for float64 are refused, naming them.
* Predictions check column names when both sides have them.
* Every fitting entry point warns about separation (or one-sided data) like fit.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import fastlogit

hypothesis = pytest.importorskip("hypothesis")
from conftest import examples  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _data(m=200, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ np.linspace(1, -0.5, p)))).astype(float)
    y[:2] = [0.0, 1.0]
    return X, y


def test_newton_stops_on_no_progress_with_zero_tolerances():
    X, y = _data()
    t0 = time.perf_counter()
    res = fastlogit.fit(X, y=y, solver="newton", factr=0.0, pgtol=0.0, max_iter=10**9,
                        threads=1)
    assert time.perf_counter() - t0 < 30  # was: ran to max_iter
    assert res.converged and res.n_iter < 50
    ref = fastlogit.fit(X, y=y, solver="lbfgs", factr=10.0, pgtol=1e-12, threads=1)
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("solver", ["newton", "newton-cg", "gd", "sgd"])
def test_fit_multinomial_refuses_unsupported_solvers_by_name(solver):
    X, _ = _data(30)
    with pytest.raises(ValueError, match="solver"):
        fastlogit.fit_multinomial(X, y=np.arange(30) % 3, solver=solver)


# ---------------------------------------------------------------------------
# streams


@settings(max_examples=examples(20))
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 6), identical=st.booleans(),
       label=st.sampled_from([0.0, 1.0, None]), standardize=st.booleans())
def test_partial_fit_first_piece_never_gives_nan(seed, m, identical, label, standardize):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 3)) * 10.0 ** rng.integers(-3, 4)
    if identical:
        X = np.repeat(X[:1], m, axis=0)
    y = rng.integers(0, 2, size=m).astype(float) if label is None else np.full(m, label)
    model = fastlogit.partial_fit(X, y=y, standardize=standardize)
    for _ in range(3):  # and continuing from it
        model = fastlogit.partial_fit(X, y=y, model=model)
        assert np.all(np.isfinite(model.coef)) and np.isfinite(model.intercept)


def test_binomial_regressor_partial_fit_one_row_is_finite():
    pytest.importorskip("sklearn")
    X, y = _data(5)
    est = fastlogit.BinomialRegressor().partial_fit(X[:1], y[:1])
    assert np.all(np.isfinite(est.coef_)) and np.isfinite(est.intercept_)
    assert np.all(np.isfinite(est.predict(X)))


@pytest.mark.parametrize("eta0", [0.0, -1.0, 1e300, np.inf, np.nan, 11.0])
def test_absurd_eta0_is_refused(eta0):
    X, y = _data(20)
    with pytest.raises(ValueError, match="eta0"):
        fastlogit.partial_fit(X, y=y, eta0=eta0)


def test_streaming_one_row_per_call_ends_near_the_optimum():
    X, y = _data(200)
    ref = fastlogit.fit(X, y=y, lam=1.0)
    model = None
    for _ in range(5):
        for i in range(200):
            model = fastlogit.partial_fit(X[i:i + 1], y=y[i:i + 1], model=model, lam=1.0,
                                          total_trials=200)
    assert abs(model.intercept - ref.intercept) < 0.15  # was: -14 after 20 epochs
    assert np.max(np.abs(model.coef - ref.coef)) < 0.15


# ---------------------------------------------------------------------------
# warm starts, tiny weights


@pytest.mark.parametrize("solver", ["lbfgs", "newton", "newton-cg", "gd"])
def test_huge_warm_start_still_gives_the_optimum(solver):
    X, y = _data()
    ref = fastlogit.fit(X, y=y, lam=1.0, solver=solver)
    for magnitude in (1e8, 1e16, 1e100, 1e300, -1e300):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow RuntimeWarning, no ConvergenceWarning
            res = fastlogit.fit(X, y=y, lam=1.0, solver=solver, x0=np.full(4, magnitude))
        assert res.converged and np.isfinite(res.objective)
        assert res.objective <= ref.objective * (1 + 1e-9)


@pytest.mark.parametrize("weight", [1e-315, 5e-324, 1e-200, 1e200])
def test_total_weight_outside_float64_range_is_refused(weight):
    X, y = _data(50)
    s = np.full(50, weight)
    for call in (lambda: fastlogit.fit(X, y=y, sample_weight=s),
                 lambda: fastlogit.path(X, y=y, sample_weight=s, n_lams=3),
                 lambda: fastlogit.partial_fit(X, y=y, sample_weight=s),
                 lambda: fastlogit.fit_multinomial(X, y=np.arange(50) % 3, sample_weight=s)):
        with pytest.raises(ValueError, match="sample_weight"):
            call()


def test_a_few_subnormal_weights_among_normal_ones_fit_finitely():
    X, y = _data(50)
    s = np.ones(50)
    s[:10] = 1e-315
    res = fastlogit.fit(X, y=y, sample_weight=s)
    assert res.converged and np.all(np.isfinite(res.coef))
    ref = fastlogit.fit(X[10:], y=y[10:])
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-6)


# ---------------------------------------------------------------------------
# column names


@pytest.mark.parametrize("multinomial", [False, True])
def test_predictions_check_column_names_when_both_sides_have_them(multinomial):
    pd = pytest.importorskip("pandas")
    X, y = _data(60)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    res = (fastlogit.fit_multinomial(df, y=np.arange(60) % 3) if multinomial
           else fastlogit.fit(df, y=y))
    expected = res.predict_proba(df)
    np.testing.assert_allclose(res.predict_proba(X), expected, rtol=1e-12)  # by position
    for bad, what in [(df[["c", "a", "b"]], "order"), (df.rename(columns={"a": "z"}), "'z'")]:
        for method in (res.predict_proba, res.decision_function):
            with pytest.raises(ValueError, match=what):
                method(bad)


# ---------------------------------------------------------------------------
# separation, one-sided data


def _separable():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    return X, np.array([0.0, 0.0, 1.0, 1.0])


SEPARATED = {
    "fit lam=0": lambda X, y: fastlogit.fit(X, y=y, lam=0.0),
    "fit lam tiny": lambda X, y: fastlogit.fit(X, y=y, lam=1e-12),
    "fit_multinomial lam=0": lambda X, y: fastlogit.fit_multinomial(X, y=y.astype(int), lam=0),
    "path to 0": lambda X, y: fastlogit.path(X, y=y, lams=[1.0, 0.0]),
    "LogisticRegression C huge": lambda X, y: pytest.importorskip("sklearn") and
    fastlogit.LogisticRegression(C=1e12).fit(X, y),
}


@pytest.mark.parametrize("name", sorted(SEPARATED))
def test_every_entry_point_warns_on_separation(name):
    X, y = _separable()
    with pytest.warns(fastlogit.SeparationWarning, match="separated"):
        SEPARATED[name](X, y)


@pytest.mark.parametrize("outcome", [0.0, 1.0])
def test_one_sided_data_warn(outcome):
    X, _ = _data(30)
    y = np.full(30, outcome)
    with pytest.warns(fastlogit.SeparationWarning, match="infinity"):
        fastlogit.fit(X, y=y, lam=1.0)
    with pytest.warns(fastlogit.SeparationWarning):
        fastlogit.path(X, y=y, n_lams=3)


def test_penalised_fit_of_separable_data_does_not_warn():
    X, y = _separable()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastlogit.fit(X, y=y, lam=1.0)
        fastlogit.fit_multinomial(X, y=y.astype(int), lam=1.0)
