"""solver="sgd", partial_fit (plain and scikit-learn) and memory-mapped fits.

References: the row-range kernel against numpy; SGD's objective against L-BFGS-B's and
scikit-learn's LogisticRegression optimum. Properties: pieces of a stream fed in one or
several calls give the same steps; memory-mapped data give bitwise the in-memory fit;
inputs and models are never modified.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import layouts, numpy_loss_grad, random_problem

import fastlogit
from fastlogit._core import _batch
from fastlogit._input._validate import as_design
from fastlogit._solvers._sgd import batch_ranges, default_batch_size


def _signal_problem(m=3000, p=15, sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(m, p, density=0.2, random_state=seed, format="csr")
        X.data[:] = rng.choice([1.0, 2.0], size=X.nnz)
    else:
        X = rng.normal(size=(m, p)) * rng.uniform(0.2, 5.0, size=p) + rng.normal(size=p)
    Xd = X.toarray() if sparse else X
    w = rng.normal(size=p) / np.abs(Xd).mean(axis=0) / 3
    z = Xd @ w - Xd.mean(axis=0) @ w - 0.5
    n = rng.integers(1, 12, size=m).astype(float)
    k = rng.binomial(n.astype(int), 1.0 / (1.0 + np.exp(-z))).astype(float)
    return X, n, k


# -- the row-range kernel -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(layouts(np.zeros((1, 1)))))
def test_row_range_kernel_matches_numpy(name):
    X, n, k, s, o = random_problem(m=200, p=7, density=0.5, seed=3)
    Xl = layouts(X)[name]
    d = as_design(Xl)
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=7), 0.2
    sn, sk = s * n, s * k
    g = np.empty(7)
    for r0, r1 in [(0, 200), (13, 77), (150, 151), (40, 40)]:
        loss, gb = _batch.binomial_loss_grad_rows(*d.kernel_args, sn, sk, o, w, b, g, r0, r1,
                                                  d.unit_values)
        # the reference sees the same (float32-rounded) values, summed in float64
        ref_loss, ref_g, ref_gb = numpy_loss_grad(Xl[r0:r1], n[r0:r1], k[r0:r1], s[r0:r1],
                                                  o[r0:r1], w, b)
        tol = 1e-10
        assert loss == pytest.approx(ref_loss, rel=tol, abs=1e-10)
        assert gb == pytest.approx(ref_gb, rel=tol, abs=1e-10)
        np.testing.assert_allclose(g, ref_g, rtol=tol, atol=1e-9)


@pytest.mark.parametrize("name", ["dense_c64", "dense_f32", "csr64_i64"])
def test_row_range_kernel_equals_full_kernel_on_all_rows(name):
    from fastlogit._core import _kernels

    X, n, k, s, o = random_problem(m=600, p=9, density=0.4, seed=5)
    d = as_design(layouts(X)[name])
    w = np.linspace(-1, 1, 9)
    g1, g2 = np.empty(9), np.empty(9)
    a = _batch.binomial_loss_grad_rows(*d.kernel_args, n, k, o, w, 0.1, g1, 0, 600)
    b = _kernels.binomial_loss_grad(*d.kernel_args, n, k, o, w, 0.1, g2, 1)
    assert a == b  # the same blocks and sums: bitwise at one thread
    np.testing.assert_array_equal(g1, g2)


def test_row_range_kernel_refuses_bad_range():
    d = as_design(np.ones((5, 2)))
    with pytest.raises(ValueError, match="row range"):
        _batch.binomial_loss_grad_rows(*d.kernel_args, np.ones(5), np.ones(5), None,
                                       np.zeros(2), 0.0, np.empty(2), 3, 6)


def test_batches_cover_rows_once_and_are_seeded():
    for m, bs in [(1000, 64), (1000, 1000), (7, 3), (5000, 4096)]:
        rng = np.random.default_rng(0)
        ranges = list(batch_ranges(m, bs, rng))
        assert sorted(ranges) == sorted(set(ranges))
        covered = np.concatenate([np.arange(a, b) for a, b in ranges])
        assert np.array_equal(np.sort(covered), np.arange(m))
        assert ranges == list(batch_ranges(m, bs, np.random.default_rng(0)))
    assert list(batch_ranges(10, 4, None)) == [(0, 4), (4, 8), (8, 10)]
    assert default_batch_size(100) == 32 and default_batch_size(10**7) == 4096


# -- fit(solver="sgd") ----------------------------------------------------------------------

@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_sgd_reaches_lbfgs_objective(sparse, seed):
    X, n, k = _signal_problem(m=2000, sparse=sparse, seed=seed)
    ref = fastlogit.fit(X, n, k, lam=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
        # 15 epochs: the sparse problem of seed 1 (strong signal, start 99 % above the
        # optimum) needs 11; the others 2 to 4
        res = fastlogit.fit(X, n, k, lam=1.0, solver="sgd", random_state=seed, max_iter=15,
                            batch_size=32)
    assert res.solver == "sgd" and res.n_iter <= 15
    assert res.objective >= ref.objective * (1 - 1e-12)
    assert (res.objective - ref.objective) / ref.objective < 1e-3


def test_sgd_close_to_sklearn_optimum():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(4000, 6))
    y = (X @ [1.0, -1.0, 0.5, 0, 0, 0.2] + rng.logistic(size=4000) > 0).astype(float)
    skl = sklearn.LogisticRegression(C=0.5, tol=1e-8, max_iter=1000).fit(X, y)
    z = X @ skl.coef_[0] + skl.intercept_[0]
    f_skl = np.sum(np.logaddexp(0, z) - y * z) + np.sum(skl.coef_ ** 2)  # lam/2 = 1
    res = fastlogit.fit(X, y=y, lam=2.0, solver="sgd", random_state=0, max_iter=10)
    assert (res.objective - f_skl) / f_skl < 1e-3
    np.testing.assert_allclose(res.coef, skl.coef_[0], atol=0.05)


def test_sgd_seeded_and_layout_independent():
    X, n, k = _signal_problem(m=800, p=5, seed=2)
    a = fastlogit.fit(X, n, k, solver="sgd", random_state=7, max_iter=3, tol=0)
    b = fastlogit.fit(np.asfortranarray(X), n, k, solver="sgd", random_state=7, max_iter=3,
                      tol=0)
    c = fastlogit.fit(X, n, k, solver="sgd", random_state=8, max_iter=3, tol=0)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)  # same steps, other loops
    assert not np.allclose(a.coef, c.coef, rtol=1e-9)


def test_sgd_callback_and_max_iter_warning():
    X, n, k = _signal_problem(m=500, p=4, seed=1)
    seen = []
    res = fastlogit.fit(X, n, k, solver="sgd", max_iter=2, tol=0, random_state=0,
                        callback=lambda info: seen.append(info.iteration), verbose=False)
    assert seen == [0, 1, 2] and res.n_iter == 2
    with pytest.warns(fastlogit.ConvergenceWarning, match="sgd did not converge"):
        fastlogit.fit(X, n, k, solver="sgd", max_iter=1, tol=0, random_state=0)
    stopped = fastlogit.fit(X, n, k, solver="sgd", random_state=0,
                            callback=lambda info: info.iteration >= 1)
    assert stopped.n_iter == 1


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(random_state="seed"), TypeError, "random_state"),
    (dict(random_state=-1), ValueError, "random_state"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(l1_ratio=0.5), ValueError, "smooth objective"),
    (dict(bounds=(0, None)), ValueError, "bounds"),
])
def test_sgd_bad_settings(kwargs, err, match):
    X, n, k = _signal_problem(m=50, p=3)
    with pytest.raises(err, match=match):
        fastlogit.fit(X, n, k, solver="sgd", **kwargs)


# -- partial_fit ----------------------------------------------------------------------------

def test_partial_fit_calls_chain_exactly():
    """Pieces fed in one call or in several (cut at batch boundaries) give the same steps."""
    X, n, k = _signal_problem(m=1200, p=6, seed=4)
    one = fastlogit.partial_fit(X, n, k, batch_size=100)
    model = None
    for lo in range(0, 1200, 300):
        model = fastlogit.partial_fit(X[lo:lo + 300], n[lo:lo + 300], k[lo:lo + 300],
                                      model=model, batch_size=100)
    assert model.n_iter == one.n_iter == 12
    # the first piece fixes the coordinates, so compare from the same first piece
    first = fastlogit.partial_fit(X[:300], n[:300], k[:300], batch_size=100)
    rest = fastlogit.partial_fit(X[300:], n[300:], k[300:], model=first, batch_size=100)
    np.testing.assert_array_equal(rest.coef, model.coef)
    assert rest.intercept == model.intercept


def test_partial_fit_matches_sgd_fit_in_the_same_order():
    X, n, k = _signal_problem(m=2000, p=8, seed=6)
    epochs, seed, bs = 8, 3, 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
        fit = fastlogit.fit(X, n, k, lam=1.0, solver="sgd", random_state=seed,
                            max_iter=epochs, tol=0, batch_size=bs)
    rng = np.random.default_rng(seed)
    model, total = None, float(n.sum())
    for _ in range(epochs):
        for r0, r1 in batch_ranges(2000, bs, rng):  # the fit's order of batches
            model = fastlogit.partial_fit(X[r0:r1], n[r0:r1], k[r0:r1], model=model,
                                          lam=1.0, batch_size=bs, total_trials=total)
    ref = fastlogit.fit(X, n, k, lam=1.0)
    f_stream = _objective(X, n, k, model.intercept, model.coef, 1.0)
    assert abs(f_stream - fit.objective) / ref.objective < 1e-3
    assert (fit.objective - ref.objective) / ref.objective < 1e-3


def _objective(X, n, k, b, w, lam):
    z = X @ w + b
    return float(np.sum(n * np.logaddexp(0, z) - k * z) + lam / 2 * w @ w)


def test_partial_fit_continues_a_fit_and_leaves_models_alone():
    X, n, k = _signal_problem(m=1000, p=5, seed=7)
    res = fastlogit.fit(X, n, k, solver="sgd", random_state=0, max_iter=3)
    coef = res.coef.copy()
    Xc, nc, kc = X.copy(), n.copy(), k.copy()
    a = fastlogit.partial_fit(X[:200], n[:200], k[:200], model=res)
    b = fastlogit.partial_fit(X[:200], n[:200], k[:200], model=res)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(res.coef, coef)
    assert np.array_equal(X, Xc) and np.array_equal(n, nc) and np.array_equal(k, kc)
    assert a.n_iter == res._sgd_state.n_steps + 4  # 200 rows in steps of 64


def test_partial_fit_bad_input():
    X, n, k = _signal_problem(m=100, p=3)
    lb = fastlogit.fit(X, n, k)
    with pytest.raises(ValueError, match="no SGD state"):
        fastlogit.partial_fit(X, n, k, model=lb)
    m = fastlogit.partial_fit(X, n, k)
    with pytest.raises(ValueError, match="features"):
        fastlogit.partial_fit(X[:, :2], n, k, model=m)
    with pytest.raises(ValueError, match="lam=2.0 contradicts"):
        fastlogit.partial_fit(X, n, k, model=m, lam=2.0)
    with pytest.raises(ValueError, match="total_trials"):
        fastlogit.partial_fit(X, n, k, total_trials=0.0)
    with pytest.raises(ValueError, match="k must satisfy"):
        fastlogit.partial_fit(X, n, n + 1, model=m)
    with pytest.raises(ValueError, match="eta0"):
        fastlogit.partial_fit(X, n, k, eta0=0.0)


# -- scikit-learn estimators ----------------------------------------------------------------

def test_sklearn_partial_fit_classifier():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression as SkLR

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 4))
    y = np.where(X @ [1.5, -1.0, 0.0, 0.5] + rng.logistic(size=2000) > 0, "b", "a")
    clf = fastlogit.LogisticRegression(C=1.0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:100], y[:100])
    for _ in range(8):
        for rows in np.array_split(np.arange(2000), 10):
            clf.partial_fit(X[rows], y[rows], classes=["a", "b"])
    ref = SkLR(C=1.0, tol=1e-8).fit(X, y)
    yb = (y == "b").astype(float)

    def f(coef, b):  # the objective both minimise: summed log loss + ||w||^2 / (2C)
        z = X @ coef[0] + b[0]
        return np.sum(np.logaddexp(0, z) - yb * z) + 0.5 * coef[0] @ coef[0]

    assert (f(clf.coef_, clf.intercept_) - f(ref.coef_, ref.intercept_)) / \
        f(ref.coef_, ref.intercept_) < 1e-2
    assert list(clf.classes_) == ["a", "b"]
    assert (clf.predict(X) == ref.predict(X)).mean() > 0.95
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(X[:10], y[:10], classes=["a", "c"])
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:2], ["a", "z"])
    with pytest.raises(ValueError, match="exactly 2 classes"):
        fastlogit.LogisticRegression().partial_fit(X[:3], ["a", "b", "c"],
                                                   classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="balanced"):
        fastlogit.LogisticRegression(class_weight="balanced").partial_fit(
            X[:3], y[:3], classes=["a", "b"])
    with pytest.raises(ValueError, match="L2 penalty only"):
        fastlogit.LogisticRegression(penalty="l1").partial_fit(X[:3], y[:3], classes=["a", "b"])
    # a fit ends the stream; partial_fit then starts anew with the fit's classes
    clf.fit(X, y)
    clf.partial_fit(X[:100], y[:100])
    assert clf.n_iter_[0] == 2  # a new stream: 100 rows in steps of 64


def test_sklearn_partial_fit_regressor():
    pytest.importorskip("sklearn")
    X, n, k = _signal_problem(m=2000, p=4, seed=9)
    reg = fastlogit.BinomialRegressor(alpha=1e-4)
    for _ in range(6):
        for rows in np.array_split(np.arange(2000), 10):
            reg.partial_fit(X[rows], k[rows] / n[rows], sample_weight=n[rows])
    ref = fastlogit.BinomialRegressor(alpha=1e-4).fit(X, k / n, sample_weight=n)

    def f(model):  # the regressor's objective: mean binomial deviance / 2 + alpha/2 ||w||^2
        z = X @ model.coef_ + model.intercept_
        return np.sum(n * np.logaddexp(0, z) - k * z) / n.sum() + 5e-5 * model.coef_ @ model.coef_

    assert (f(reg) - f(ref)) / f(ref) < 1e-2
    assert np.abs(reg.predict(X) - ref.predict(X)).max() < 0.05
    with pytest.raises(ValueError, match="proportion"):
        reg.partial_fit(X[:3], [0.1, 2.0, 0.3])


# -- memory-mapped data ---------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_memmap_fit_equals_in_memory(tmp_path, solver):
    X, n, k = _signal_problem(m=1500, p=6, sparse=True, seed=2)
    Xd = X.toarray()
    arrays = {"data": X.data, "indices": X.indices, "indptr": X.indptr, "dense": Xd,
              "dense_f": np.asfortranarray(Xd), "n": n, "k": k}
    mm = {}
    for name, arr in arrays.items():
        np.save(tmp_path / f"{name}.npy", arr)
        mm[name] = np.load(tmp_path / f"{name}.npy", mmap_mode="r")
    Xmm = sp.csr_matrix((mm["data"], mm["indices"], mm["indptr"]), shape=X.shape)
    design = as_design(Xmm)
    assert np.shares_memory(design.values, mm["data"])  # validated without a copy
    assert np.shares_memory(design.indices, mm["indices"])
    for name in ("dense", "dense_f"):
        assert np.shares_memory(as_design(mm[name]).values, mm[name])
    opts = dict(lam=1.0, solver=solver, random_state=0, max_iter=4 if solver == "sgd" else 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
        for mem, mapped in [(X, Xmm), (Xd, mm["dense"]), (np.asfortranarray(Xd), mm["dense_f"])]:
            a = fastlogit.fit(mem, n, k, **opts)
            b = fastlogit.fit(mapped, mm["n"], mm["k"], **opts)
            np.testing.assert_array_equal(a.coef, b.coef)
            assert a.intercept == b.intercept and a.objective == b.objective


def test_sgd_weights_offset_and_no_intercept():
    X, n, k, s, o = random_problem(m=2000, p=5, seed=11)
    for fi in (True, False):
        ref = fastlogit.fit(X, n, k, sample_weight=s, offset=o, fit_intercept=fi, lam=2.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
            res = fastlogit.fit(X, n, k, sample_weight=s, offset=o, fit_intercept=fi, lam=2.0,
                                solver="sgd", random_state=0, max_iter=10, batch_size=32)
        assert (res.objective - ref.objective) / ref.objective < 1e-3
        if not fi:
            assert res.intercept == 0.0


def test_sgd_edge_shapes():
    n, k = np.full(10, 4.0), np.arange(10) % 5
    res = fastlogit.fit(np.empty((10, 0)), n, k, solver="sgd", random_state=0)  # intercept only
    assert res.intercept == pytest.approx(np.log(k.sum() / (n.sum() - k.sum())), abs=1e-2)
    one = fastlogit.fit(np.ones((1, 2)), [3.0], [1.0], solver="sgd", random_state=0)
    assert np.all(np.isfinite(one.coef))
