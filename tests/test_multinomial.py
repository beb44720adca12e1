"""Multinomial (softmax) regression: the kernel against numpy, the fit against scikit-learn and
finite differences, and the properties (counts = expanded labels, weights = duplication,
layouts, threads)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import layouts
from scipy.special import logsumexp, softmax
from scipy.stats import multinomial

import fastlogit
from fastlogit._core import _softmax
from fastlogit._input._validate import as_design
from fastlogit.backend._objective import L2Penalty, Standardization
from fastlogit.backend._softmax_objective import MultinomialLoss, MultinomialObjective

TIGHT = dict(factr=10.0, pgtol=1e-10, max_iter=5000)


def softmax_problem(m=400, p=9, K=4, density=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    if density is not None:
        X[rng.random((m, p)) > density] = 0.0
    W = rng.normal(size=(p, K))
    P = softmax(X @ W + rng.normal(size=K), axis=1)
    y = np.array([rng.choice(K, p=row) for row in P])
    return X, y


def numpy_softmax_loss_grad(X, C, Off, W, b):
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    Z = X @ W + b + (0 if Off is None else Off)
    N = C.sum(axis=1)
    loss = np.sum(N * logsumexp(Z, axis=1) - (C * Z).sum(axis=1))
    D = N[:, None] * softmax(Z, axis=1) - C
    return loss, X.T @ D, D.sum(axis=0)


# ---------------------------------------------------------------------------
# the kernel


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_kernel_matches_numpy_in_every_layout(threads):
    rng = np.random.default_rng(1)
    m, p, K = 257, 11, 5
    X = rng.normal(size=(m, p))
    X[rng.random((m, p)) > 0.4] = 0.0
    C = rng.integers(0, 4, size=(m, K)).astype(float)
    C[5] = 0.0  # a row without counts
    Off = rng.normal(size=(m, K))
    W = rng.normal(size=(p, K))
    b = rng.normal(size=K)
    for name, Xl in layouts(X).items():
        Xr = (Xl.toarray() if sp.issparse(Xl) else Xl).astype(np.float64)
        ref_loss, ref_g, ref_gb = numpy_softmax_loss_grad(Xr, C, Off, W, b)
        d = as_design(Xl)
        g, gb = np.empty(p * K), np.empty(K)
        loss = _softmax.softmax_loss_grad(*d.kernel_args, K, C.ravel(), None, None, Off.ravel(),
                                          W.ravel(), b, g, gb, threads)
        assert loss == pytest.approx(ref_loss, rel=1e-12), name
        np.testing.assert_allclose(g.reshape(p, K), ref_g, rtol=1e-10, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(gb, ref_gb, rtol=1e-10, atol=1e-10, err_msg=name)
        out = np.empty(m * K)
        _softmax.softmax_scores(*d.kernel_args, K, W.ravel(), b, Off.ravel(), out, 1, threads)
        np.testing.assert_allclose(out.reshape(m, K), softmax(Xr @ W + b + Off, axis=1),
                                   rtol=1e-12, err_msg=name)


def test_kernel_labels_and_weights_equal_weighted_one_hot_counts():
    rng = np.random.default_rng(2)
    m, p, K = 300, 7, 3
    X = rng.normal(size=(m, p))
    labels = rng.integers(0, K, size=m).astype(np.intp)
    s = rng.uniform(0, 2, size=m)
    onehot = np.eye(K)[labels]
    W, b = rng.normal(size=(p, K)), rng.normal(size=K)
    d = as_design(X)
    g1, gb1, g2, gb2 = np.empty(p * K), np.empty(K), np.empty(p * K), np.empty(K)
    l1 = _softmax.softmax_loss_grad(*d.kernel_args, K, None, labels, s, None, W.ravel(), b,
                                    g1, gb1, 1)
    l2 = _softmax.softmax_loss_grad(*d.kernel_args, K, (onehot * s[:, None]).ravel(), None,
                                    None, None, W.ravel(), b, g2, gb2, 1)
    assert l1 == pytest.approx(l2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb1, gb2, rtol=1e-12, atol=1e-12)


def test_kernel_is_finite_at_extreme_scores():
    X = np.array([[1.0], [1.0], [-1.0]])
    W = np.array([[800.0, -800.0, 0.0]])
    C = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]])
    d = as_design(X)
    g, gb = np.empty(3), np.empty(3)
    loss = _softmax.softmax_loss_grad(*d.kernel_args, 3, C.ravel(), None, None, None,
                                      W.ravel(), np.zeros(3), g, gb, 1)
    # row 0: 0 up to exp(-1600); row 1: 1600; row 2 (z = -800, 800, 0): 2 * 800
    assert loss == pytest.approx(3200.0, rel=1e-15)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(gb))


def test_kernel_is_deterministic_and_thread_count_only_changes_rounding():
    X, y = softmax_problem(m=2000, p=30, K=6, density=0.3, seed=3)
    Xs = sp.csr_matrix(X)
    d = as_design(Xs)
    W = np.random.default_rng(0).normal(size=(30, 6))
    labels = y.astype(np.intp)
    res = {}
    for T in (1, 2):
        outs = []
        for _ in range(3):
            g, gb = np.empty(30 * 6), np.empty(6)
            loss = _softmax.softmax_loss_grad(*d.kernel_args, 6, None, labels, None, None,
                                              W.ravel(), np.zeros(6), g, gb, T)
            outs.append((loss, g.copy(), gb.copy()))
        for o in outs[1:]:
            assert o[0] == outs[0][0] and np.array_equal(o[1], outs[0][1])  # bitwise
        res[T] = outs[0]
    assert res[1][0] == pytest.approx(res[2][0], rel=1e-13)
    np.testing.assert_allclose(res[1][1], res[2][1], rtol=1e-11, atol=1e-11)


# ---------------------------------------------------------------------------
# the objective


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_objective_gradient_matches_finite_differences(fit_intercept):
    X, y = softmax_problem(m=120, p=5, K=3, seed=4)
    X[:, 2] += 3.0  # a column far from zero: centring matters
    rng = np.random.default_rng(5)
    s = rng.uniform(0.5, 2.0, size=120)
    Off = rng.normal(scale=0.3, size=(120, 3))
    d = as_design(X)
    loss = MultinomialLoss(d, 3, counts=None, labels=y.astype(np.intp), weights=s, offset=Off,
                           threads=1)
    std = Standardization.from_data(d, loss.row_totals(), fit_intercept, 1)
    obj = MultinomialObjective(loss, L2Penalty(0.7), std, fit_intercept)
    theta = rng.normal(size=obj.n_params)
    f, g = obj(theta)
    h = 1e-6
    fd = np.array([(obj(theta + h * e)[0] - obj(theta - h * e)[0]) / (2 * h)
                   for e in np.eye(obj.n_params)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # split/join round trip
    np.testing.assert_allclose(obj.join(*obj.split(theta)), theta, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# the fit against scikit-learn


def _sklearn(X, y, C, fit_intercept=True, sample_weight=None):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, tol=1e-11, max_iter=20000,
                              fit_intercept=fit_intercept).fit(X, y, sample_weight=sample_weight)


def _assert_matches(res, sk):
    scale = np.abs(sk.coef_).max()
    assert np.abs(res.coef - sk.coef_).max() <= 1e-5 * scale
    iscale = max(np.abs(sk.intercept_).max(), 1.0)
    assert np.abs(res.intercept - sk.intercept_).max() <= 1e-5 * iscale


@pytest.mark.parametrize("C", [1.0, 0.05])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_matches_sklearn_on_random_problems(C, kind):
    X, y = softmax_problem(m=500, p=8, K=4, density=0.5 if kind == "csr" else None, seed=6)
    Xf = sp.csr_matrix(X) if kind == "csr" else X
    res = fastlogit.fit_multinomial(Xf, y=y, lam=1 / C, threads=1, **TIGHT)
    assert res.converged
    sk = _sklearn(Xf, y, C)
    _assert_matches(res, sk)
    np.testing.assert_allclose(res.predict_proba(Xf), sk.predict_proba(Xf), atol=1e-6)
    assert np.array_equal(res.predict(Xf), sk.predict(Xf))


def test_matches_sklearn_with_weights_and_without_intercept():
    X, y = softmax_problem(m=300, p=6, K=3, seed=7)
    s = np.random.default_rng(8).uniform(0.1, 3.0, size=300)
    res = fastlogit.fit_multinomial(X, y=y, lam=2.0, sample_weight=s, fit_intercept=False,
                                    threads=1, **TIGHT)
    sk = _sklearn(X, y, 0.5, fit_intercept=False, sample_weight=s)
    _assert_matches(res, sk)
    assert np.all(res.intercept == 0.0)


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
def test_matches_sklearn_on_bundled_data(name):
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if name != "iris":
        # raw wine has a column in the thousands and raw digits near-constant pixels:
        # there scikit-learn's lbfgs needs 10,000+ iterations and still stops short of
        # 1e-5 (on raw wine our optimum has the lower objective)
        X = StandardScaler().fit_transform(X)
    C = 0.1 if name == "digits" else 1.0
    res = fastlogit.fit_multinomial(X, y=y, lam=1 / C, threads=1, **TIGHT)
    assert res.converged
    _assert_matches(res, _sklearn(X, y, C))


# ---------------------------------------------------------------------------
# properties


def test_counts_equal_expanded_labels():
    rng = np.random.default_rng(9)
    m, p, K = 60, 4, 3
    X = rng.normal(size=(m, p))
    counts = rng.integers(0, 4, size=(m, K)).astype(float)
    rows = np.repeat(np.arange(m), counts.sum(axis=1).astype(int))
    labels = np.concatenate([np.repeat(np.arange(K), c.astype(int)) for c in counts])
    agg = fastlogit.fit_multinomial(X, counts=counts, lam=0.5, threads=1, **TIGHT)
    raw = fastlogit.fit_multinomial(X[rows], y=labels, lam=0.5, threads=1, **TIGHT)
    np.testing.assert_allclose(agg.coef, raw.coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(agg.intercept, raw.intercept, rtol=1e-7, atol=1e-8)
    assert agg.objective == pytest.approx(raw.objective, rel=1e-10)
    assert agg.deviance < raw.deviance  # the saturated model of counts is coarser
    assert agg.classes is None and np.array_equal(raw.classes, np.arange(K))


def test_sample_weight_equals_duplication():
    X, y = softmax_problem(m=80, p=4, K=3, seed=10)
    reps = np.random.default_rng(11).integers(1, 4, size=80)
    a = fastlogit.fit_multinomial(X, y=y, lam=1.0, sample_weight=reps, threads=1, **TIGHT)
    b = fastlogit.fit_multinomial(np.repeat(X, reps, axis=0), y=np.repeat(y, reps), lam=1.0,
                                  threads=1, **TIGHT)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-7, atol=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-10)


def test_layouts_and_dtypes_give_the_same_fit():
    X, y = softmax_problem(m=300, p=6, K=3, density=0.6, seed=12)
    ref = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=1, **TIGHT)
    for name, Xl in layouts(X).items():
        res = fastlogit.fit_multinomial(Xl, y=y, lam=1.0, threads=1, **TIGHT)
        tol = 1e-5 if "32" in name else 1e-8
        np.testing.assert_allclose(res.coef, ref.coef, rtol=tol, atol=tol, err_msg=name)


def test_one_thread_equals_two():
    X, y = softmax_problem(m=3000, p=10, K=5, seed=13)
    one = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=1, **TIGHT)
    two = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=2, **TIGHT)
    again = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=2, **TIGHT)
    # the kernels agree to rounding (tested above); the solver paths then part at the
    # solver's own accuracy, which is where the coefficients may differ
    assert one.objective == pytest.approx(two.objective, rel=1e-12)
    np.testing.assert_allclose(one.coef, two.coef, rtol=1e-6, atol=1e-6)
    assert np.array_equal(two.coef, again.coef)  # bitwise reproducible


def test_centred_parametrisation_and_unpenalised_fit():
    X, y = softmax_problem(m=200, p=3, K=4, seed=14)
    for lam in (0.0, 1.0):
        res = fastlogit.fit_multinomial(X, y=y, lam=lam, threads=1, **TIGHT)
        assert np.abs(res.coef.sum(axis=0)).max() < 1e-12
        assert abs(res.intercept.sum()) < 1e-12
    # lam = 0 is the unpenalised MLE: the score equations hold
    P = res.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=0), np.bincount(y), rtol=1e-6)


def test_predictions_dense_and_sparse_and_offsets():
    X, y = softmax_problem(m=150, p=5, K=3, density=0.5, seed=15)
    res = fastlogit.fit_multinomial(X, y=y.astype(str), lam=1.0, threads=1)
    Z = X @ res.coef.T + res.intercept
    np.testing.assert_allclose(res.decision_function(sp.csr_matrix(X)), Z, atol=1e-12)
    np.testing.assert_allclose(res.predict_proba(X), softmax(Z, axis=1), atol=1e-12)
    np.testing.assert_allclose(res.predict_log_proba(X), Z - logsumexp(Z, axis=1, keepdims=True),
                               atol=1e-12)
    Off = np.ones((150, 3)) * [0.0, 5.0, 0.0]
    assert np.all(res.predict(X, offset=Off) == "1")
    assert res.predict(X).dtype.kind == "U"
    with pytest.raises(ValueError, match="features"):
        res.predict(X[:, :4])
    with pytest.raises(ValueError, match="offset must have shape"):
        res.predict(X, offset=np.ones((150, 2)))


def test_loglik_and_deviance_match_scipy():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(40, 2))
    counts = rng.integers(0, 5, size=(40, 3)).astype(float)
    s = rng.uniform(0.5, 2, size=40)
    res = fastlogit.fit_multinomial(X, counts=counts, lam=0.3, sample_weight=s, threads=1)
    P = res.predict_proba(X)
    ll = sum(si * multinomial.logpmf(c, int(c.sum()), pr) for si, c, pr in zip(s, counts, P)
             if c.sum() > 0)
    assert res.loglik == pytest.approx(ll, rel=1e-10)
    N = counts.sum(axis=1)
    sat = sum(si * multinomial.logpmf(c, int(n), c / n) for si, c, n in zip(s, counts, N) if n)
    assert res.deviance == pytest.approx(2 * (sat - ll), rel=1e-9)
    labels = fastlogit.fit_multinomial(X, y=counts.argmax(axis=1), lam=0.3, threads=1)
    assert labels.deviance == pytest.approx(-2 * labels.loglik)


def test_warm_start_callback_and_verbose():
    X, y = softmax_problem(m=200, p=4, K=3, seed=17)
    res = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=1, **TIGHT)
    warm = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=1, x0=res, **TIGHT)
    assert warm.n_iter <= 2
    np.testing.assert_allclose(warm.coef, res.coef, atol=1e-7)
    x0 = np.column_stack([res.intercept + 3.0, res.coef])  # shifted: same model
    arr = fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=1, x0=x0, **TIGHT)
    np.testing.assert_allclose(arr.coef, res.coef, atol=1e-7)
    seen = []
    stopped = fastlogit.fit_multinomial(
        X, y=y, lam=1.0, threads=1, callback=lambda info: seen.append(info) or len(seen) >= 3)
    assert not stopped.converged and len(seen) == 3
    assert seen[-1].coef.shape == (3, 4) and seen[-1].intercept.shape == (3,)
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fastlogit.fit_multinomial(X, y=y, lam=1.0, threads=1, verbose=True)
    assert "objective" in buf.getvalue() and len(buf.getvalue().splitlines()) > 3


def test_max_iter_warns():
    X, y = softmax_problem(m=200, p=4, K=3, seed=18)
    with pytest.warns(fastlogit.ConvergenceWarning, match="did not converge"):
        res = fastlogit.fit_multinomial(X, y=y, lam=1.0, max_iter=2, threads=1)
    assert not res.converged


# ---------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(y=np.zeros(10)), ValueError, "single class"),
    (dict(y=np.arange(9)), ValueError, "9 labels but X has 10 rows"),
    (dict(y=np.ones((10, 2))), ValueError, "1-D"),
    (dict(y=np.r_[np.nan, np.arange(9.0)]), ValueError, "NaN"),
    (dict(), TypeError, "either y= .* or counts="),
    (dict(y=np.arange(10) % 2, counts=np.ones((10, 2))), TypeError, "not both"),
    (dict(counts=-np.ones((10, 2))), ValueError, r"counts must be >= 0; row 0, class 0"),
    (dict(counts=np.ones((9, 2))), ValueError, r"counts must have shape \(10, 2\)"),
    (dict(counts=np.ones((10, 1))), ValueError, "at least 2 classes"),
    (dict(counts=np.ones(10)), ValueError, "2-D"),
    (dict(counts=np.c_[np.ones(10), np.zeros(10)]), ValueError, "counts column 1 has zero"),
    (dict(y=np.arange(10) % 2, offset=np.ones(10)), ValueError, r"offset must have shape"),
    (dict(y=np.arange(10) % 2, sample_weight=-np.ones(10)), ValueError, "sample_weight"),
    (dict(y=np.arange(10) % 2, lam=-1.0), ValueError, "lam"),
    (dict(y=np.arange(10) % 2, x0=np.ones(3)), ValueError, r"x0 must have shape \(2, 4\)"),
])
def test_bad_input_is_refused_clearly(kwargs, exc, match):
    X = np.random.default_rng(0).normal(size=(10, 3))
    before = X.copy()
    with pytest.raises(exc, match=match):
        fastlogit.fit_multinomial(X, **kwargs)
    assert np.array_equal(X, before)


def test_bad_design_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        fastlogit.fit_multinomial(np.array([[np.nan], [1.0]]), y=[0, 1])
    with pytest.raises(ValueError, match="no rows"):
        fastlogit.fit_multinomial(np.zeros((0, 2)), y=[])


def test_vectorised_exp_is_accurate_on_the_whole_nonpositive_line():
    rng = np.random.default_rng(19)
    x = np.concatenate([-rng.exponential(5.0, 200_000), -rng.uniform(0, 800, 100_000),
                        [0.0, -0.0, -1e-300, -np.log(2) / 2, -708.0, -708.39, -708.5, -745.0,
                         -1e300, -np.inf]])
    out = np.empty_like(x)
    _softmax._exp_nonpos(x, out)
    ref = np.exp(x)
    normal = ref >= np.finfo(float).tiny
    rel = np.abs(out[normal] - ref[normal]) / ref[normal]
    assert rel.max() <= 2 * np.finfo(float).eps  # within 2 ulp of numpy's exp
    # below the normal range: 0 (or the subnormal value itself), never garbage
    assert np.all(np.abs(out[~normal] - ref[~normal]) <= np.finfo(float).tiny)
    assert np.all(out[x < -709.0] == 0.0)
    assert out[np.flatnonzero(x == 0.0)[0]] == 1.0
