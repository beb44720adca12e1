"""fastlogit.fit against independent references (scikit-learn, statsmodels) and properties."""

import io
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import layouts, random_problem

import fastlogit

TIGHT = dict(factr=10.0, pgtol=1e-10)


def sklearn_two_row(X, n, k, s, lam, fit_intercept=True):
    """scikit-learn's exact optimum on the two-row encoding: each binomial row becomes a
    success row weighted s*k and a failure row weighted s*(n - k); C = 1 / lam."""
    lm = pytest.importorskip("sklearn.linear_model")
    s = np.ones_like(n) if s is None else s
    X2 = sp.vstack([X, X]).tocsr() if sp.issparse(X) else np.vstack([X, X])
    y2 = np.r_[np.ones(len(n)), np.zeros(len(n))]
    w2 = np.r_[s * k, s * (n - k)]
    model = lm.LogisticRegression(C=1.0 / lam, solver="newton-cholesky", tol=1e-12,
                                  max_iter=1000, fit_intercept=fit_intercept)
    model.fit(X2, y2, sample_weight=w2)
    return model.coef_.ravel(), float(model.intercept_[0]) if fit_intercept else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("lam", [0.1, 1.0, 30.0])
def test_matches_sklearn(seed, sparse, lam):
    X, n, k, s, _ = random_problem(m=400, p=15, density=0.3 if sparse else None, seed=seed)
    Xf = sp.csr_matrix(X) if sparse else X
    ref_coef, ref_b = sklearn_two_row(Xf, n, k, s, lam)
    res = fastlogit.fit(Xf, n, k, lam=lam, sample_weight=s, **TIGHT)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref_coef, rtol=1e-6, atol=1e-6 * np.abs(ref_coef).max())
    assert res.intercept == pytest.approx(ref_b, rel=1e-6, abs=1e-7)


def test_no_intercept_matches_sklearn():
    X, n, k, s, _ = random_problem(m=300, p=8, seed=4)
    ref_coef, _ = sklearn_two_row(X, n, k, None, 0.5, fit_intercept=False)
    res = fastlogit.fit(X, n, k, lam=0.5, fit_intercept=False, **TIGHT)
    assert res.intercept == 0.0
    np.testing.assert_allclose(res.coef, ref_coef, rtol=1e-6, atol=1e-7)


def test_blog_example():
    # binomial rows without expansion: X = I2, n = (4, 4), k = (3, 1), lam = 0.1 equals
    # scikit-learn with C = 10 on the eight expanded 0/1 rows
    lm = pytest.importorskip("sklearn.linear_model")
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    res = fastlogit.fit(X, [4, 4], [3, 1], lam=0.1, **TIGHT)
    Xe = np.repeat(X, 4, axis=0)
    ye = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    ref = lm.LogisticRegression(C=10.0, solver="newton-cholesky", tol=1e-12).fit(Xe, ye)
    np.testing.assert_allclose(res.coef, ref.coef_.ravel(), rtol=1e-7)
    assert res.intercept == pytest.approx(ref.intercept_[0], abs=1e-8)
    np.testing.assert_allclose(res.predict_proba(X), ref.predict_proba(X)[:, 1], rtol=1e-7)


def test_unregularised_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(5)
    m, p = 500, 4
    X = rng.normal(size=(m, p))
    n = rng.integers(1, 20, size=m).astype(float)
    o = rng.normal(scale=0.2, size=m)
    s = rng.integers(1, 4, size=m).astype(float)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-(X @ [0.5, -1, 0.2, 0] + 0.3 + o))))
    k = k.astype(float)
    ref = sm.GLM(np.column_stack([k, n - k]), sm.add_constant(X), family=sm.families.Binomial(),
                 offset=o, freq_weights=s).fit(tol=1e-13)
    res = fastlogit.fit(X, n, k, lam=0.0, offset=o, sample_weight=s, **TIGHT)
    np.testing.assert_allclose(np.r_[res.intercept, res.coef], ref.params, rtol=1e-6)
    assert res.loglik == pytest.approx(ref.llf, rel=1e-9)
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-7)


def test_labels_equal_counts_and_expanded_rows():
    # a binomial row (n, k) equals k rows with y = 1 and n - k rows with y = 0
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 3))
    n = rng.integers(1, 6, size=60)
    k = rng.binomial(n, 0.4)
    res = fastlogit.fit(X, n, k, lam=0.7, **TIGHT)
    Xe = np.repeat(X, n, axis=0)
    ye = np.concatenate([np.r_[np.ones(ki), np.zeros(ni - ki)] for ni, ki in zip(n, k)])
    res_e = fastlogit.fit(Xe, y=ye, lam=0.7, **TIGHT)
    np.testing.assert_allclose(res.coef, res_e.coef, rtol=1e-7, atol=1e-9)
    assert res.objective == pytest.approx(res_e.objective, rel=1e-10)


def test_weights_equal_duplication():
    X, n, k, _, o = random_problem(m=150, p=5, seed=12)
    s = np.random.default_rng(0).integers(0, 4, size=150).astype(float)
    res_w = fastlogit.fit(X, n, k, sample_weight=s, offset=o, lam=2.0, **TIGHT)
    rep = s.astype(int)
    res_d = fastlogit.fit(np.repeat(X, rep, axis=0), np.repeat(n, rep), np.repeat(k, rep),
                          offset=np.repeat(o, rep), lam=2.0, **TIGHT)
    np.testing.assert_allclose(res_w.coef, res_d.coef, rtol=1e-7, atol=1e-9)
    assert res_w.intercept == pytest.approx(res_d.intercept, rel=1e-7)


def test_every_layout_same_answer():
    X, n, k, s, o = random_problem(m=300, p=10, density=0.4, seed=13)
    base = fastlogit.fit(X, n, k, sample_weight=s, offset=o, lam=0.3, **TIGHT)
    for name, Xl in layouts(X).items():
        res = fastlogit.fit(Xl, n, k, sample_weight=s, offset=o, lam=0.3, **TIGHT)
        single = name in ("dense_c32", "dense_f32", "csr32_i32")
        tol = 1e-5 if single else 1e-7
        np.testing.assert_allclose(res.coef, base.coef, rtol=tol, atol=tol, err_msg=name)


def test_threads_fit_reproducible_and_close():
    X, n, k, s, o = random_problem(m=20000, p=20, density=0.3, seed=14)
    Xs = sp.csr_matrix(X)
    one = fastlogit.fit(Xs, n, k, lam=1.0, threads=1, **TIGHT)
    two = fastlogit.fit(Xs, n, k, lam=1.0, threads=2, **TIGHT)
    np.testing.assert_allclose(one.coef, two.coef, rtol=1e-7, atol=1e-9)
    again = fastlogit.fit(Xs, n, k, lam=1.0, threads=2, **TIGHT)
    np.testing.assert_array_equal(again.coef, two.coef)
    assert again.intercept == two.intercept and again.n_fev == two.n_fev


def test_standardize_changes_path_not_answer():
    rng = np.random.default_rng(15)
    scales, shifts = np.array([1e-3, 1, 10, 1e3, 1, 1]), np.array([0, 5, 0, 1e4, 0, 0])
    X = rng.normal(size=(400, 6)) * scales + shifts
    n = np.full(400, 5.0)
    k = rng.binomial(5, 0.3, size=400).astype(float)
    a = fastlogit.fit(X, n, k, lam=1.0, standardize=True, **TIGHT)
    b = fastlogit.fit(X, n, k, lam=1.0, standardize=False, factr=1.0, pgtol=1e-14, max_iter=20000)
    assert a.objective <= b.objective * (1 + 1e-12)
    assert a.objective == pytest.approx(b.objective, rel=1e-9)


def test_warm_start_and_x0():
    X, n, k, s, o = random_problem(m=300, p=8, seed=16)
    first = fastlogit.fit(X, n, k, lam=1.0, **TIGHT)
    warm = fastlogit.fit(X, n, k, lam=1.0, x0=first, **TIGHT)
    assert warm.n_iter <= 2
    np.testing.assert_allclose(warm.coef, first.coef, rtol=1e-8, atol=1e-10)
    arr = fastlogit.fit(X, n, k, lam=1.0, x0=np.r_[first.intercept, first.coef], **TIGHT)
    np.testing.assert_allclose(arr.coef, first.coef, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="x0 must have shape"):
        fastlogit.fit(X, n, k, x0=np.zeros(3))


def test_verbose_and_callback():
    X, n, k, s, o = random_problem(m=200, p=5, seed=17)
    seen = []
    buf = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(buf):
        res = fastlogit.fit(X, n, k, callback=seen.append, verbose=True, **TIGHT)
    lines = buf.getvalue().strip().splitlines()
    assert lines[0].split() == ["iter", "objective", "|grad|", "time"]
    assert len(lines) == len(seen) + 1 == res.n_iter + 2
    assert isinstance(seen[-1], fastlogit.IterationInfo)
    assert seen[-1].objective == pytest.approx(res.objective, rel=1e-12)
    # never increases (Newton polish steps: at most by F's rounding error)
    assert all(b.objective <= a.objective * (1 + 1e-13) for a, b in zip(seen, seen[1:]))
    np.testing.assert_allclose(seen[-1].coef, res.coef)
    stopped = fastlogit.fit(X, n, k, callback=lambda info: info.iteration >= 2)
    assert not stopped.converged and stopped.message == "stopped by callback"
    assert stopped.n_iter == 2


def test_convergence_warning():
    X, n, k, s, o = random_problem(m=200, p=5, seed=18)
    with pytest.warns(fastlogit.ConvergenceWarning, match="did not converge"):
        res = fastlogit.fit(X, n, k, max_iter=1, **TIGHT)
    assert not res.converged


def test_tightest_settings_converge_without_warning():
    # factr=0 (never stop on F): the Newton polish must still stop at machine precision
    # and report converged, since the gradient condition holds
    X, n, k, s, o = random_problem(m=3000, p=6, seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fastlogit.fit(X, n, k, lam=1.0, factr=0.0, pgtol=1e-13, max_iter=5000)
    assert res.converged and res.grad_norm <= 1e-13
    assert "Newton" in res.message and res.n_iter < 60


def test_predictions_dense_and_sparse():
    X, n, k, s, o = random_problem(m=200, p=6, density=0.5, seed=19)
    res = fastlogit.fit(X, n, k, lam=1.0)
    Xn = np.random.default_rng(1).normal(size=(50, 6))
    z = Xn @ res.coef + res.intercept
    np.testing.assert_allclose(res.decision_function(Xn), z, rtol=1e-13)
    np.testing.assert_allclose(res.decision_function(sp.csr_matrix(Xn)), z, rtol=1e-13)
    np.testing.assert_allclose(res.predict_proba(Xn), 1 / (1 + np.exp(-z)), rtol=1e-13)
    off = np.linspace(-1, 1, 50)
    np.testing.assert_allclose(res.decision_function(Xn, offset=off), z + off, rtol=1e-13)
    with pytest.raises(ValueError, match="features"):
        res.predict_proba(np.ones((3, 4)))


def test_result_settings_and_repr():
    X, n, k, s, o = random_problem(m=100, p=3, seed=20)
    res = fastlogit.fit(X, n, k, lam=2.5, threads=1)
    assert res.settings["lam"] == 2.5 and res.settings["threads"] == 1
    assert res.n_rows == 100 and res.n_features == 3 and res.n_fev >= res.n_iter
    assert "converged" in repr(res)
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        res.coef = None  # frozen


def test_feature_names_from_pandas():
    pd = pytest.importorskip("pandas")
    X, n, k, s, o = random_problem(m=100, p=3, seed=21)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    res = fastlogit.fit(df, n, k)
    assert res.feature_names == ("a", "b", "c")
    assert fastlogit.fit(X, n, k, feature_names=["x", "y", "z"]).feature_names == ("x", "y", "z")
    with pytest.raises(ValueError, match="feature_names"):
        fastlogit.fit(X, n, k, feature_names=["x"])


def test_all_failures_or_all_successes_terminate():
    X = np.random.default_rng(0).normal(size=(50, 2))
    n = np.full(50, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
        res = fastlogit.fit(X, n, np.zeros(50), lam=1.0)
    assert np.all(np.isfinite(res.coef)) and res.intercept < -5
    assert np.all(res.predict_proba(X) < 0.01)
