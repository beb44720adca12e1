"""The multinomial L1 / elastic-net engine (solver "cd"), ungrouped and grouped.

References: R's glmnet family="multinomial" at thresh = 1e-18
(tests/fixtures/glmnet_multinomial.json, made by scripts/glmnet_multinomial_references.py)
and scikit-learn's saga. Properties: the KKT conditions by finite differences, every
layout and dtype, threads, weights as duplication, input errors.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from fastlogit._solvers._base import ConvergenceWarning

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "glmnet_multinomial.json")


def load(name):
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


with open(FIXTURE) as fh:
    REFS = json.load(fh)["cases"]


@pytest.mark.parametrize("case", REFS, ids=[c["name"] for c in REFS])
def test_matches_glmnet(case):
    X, y = load(case["data"])
    for i, lam in enumerate(case["lams"]):
        res = fastlogit.fit_multinomial(
            X, y, lam=lam, l1_ratio=case["alpha"], type_multinomial=case["type_multinomial"],
            sample_weight=case.get("weights"), fit_intercept=case["intercept"], threads=1)
        assert res.converged and res.solver == "cd"
        ref = np.asarray(case["coef_ref"][i])
        scale = np.max(np.abs(ref))
        np.testing.assert_allclose(res.coef, ref, rtol=0, atol=1e-6 * scale)
        np.testing.assert_array_equal(res.coef == 0, ref == 0)
        if case["intercept"]:
            a0 = np.asarray(case["intercept_ref"][i])
            np.testing.assert_allclose(res.intercept, a0 - a0.mean(), rtol=0,
                                       atol=1e-6 * max(scale, 1.0))


def test_matches_saga_iris():
    from sklearn.linear_model import LogisticRegression as SkLR

    X, y = load("iris")
    C = 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkLR(penalty="l1", C=C, solver="saga", tol=1e-12, max_iter=100_000).fit(X, y)
    res = fastlogit.fit_multinomial(X, y, lam=1.0 / C, l1_ratio=1.0)
    np.testing.assert_allclose(res.coef, sk.coef_, atol=2e-6)
    np.testing.assert_allclose(res.intercept, sk.intercept_ - sk.intercept_.mean(), atol=2e-6)
    np.testing.assert_array_equal(res.coef == 0, np.abs(sk.coef_) < 1e-8)


def test_sklearn_estimator_uses_cd():
    X, y = load("wine")
    clf = fastlogit.LogisticRegression(C=0.1, l1_ratio=0.5,
                                       tol=1e-10, solver="saga").fit(X, y)
    res = fastlogit.fit_multinomial(X, y, lam=10.0, l1_ratio=0.5)
    np.testing.assert_allclose(clf.coef_, res.coef, atol=1e-7)


def _kkt(X, y, res, lam, a, grouped, sw=None):
    """The KKT residual from a finite-difference gradient of the loss (unscaled)."""
    K, p = res.coef.shape
    Y = np.eye(K)[np.searchsorted(res.classes, y)]
    s = np.ones(len(y)) if sw is None else np.asarray(sw)

    def loss(b, W):
        Z = X @ W.T + b
        m = Z.max(1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(Z - m).sum(1))
        return float(s @ (lse - (Y * Z).sum(1)))

    h = 1e-6
    G = np.zeros_like(res.coef)
    for k in range(K):
        for j in range(p):
            E = np.zeros_like(res.coef)
            E[k, j] = h
            G[k, j] = (loss(res.intercept, res.coef + E)
                       - loss(res.intercept, res.coef - E)) / (2 * h)
    G += lam * (1 - a) * res.coef
    W = res.coef
    if grouped:
        worst = 0.0
        for j in range(p):
            nrm = np.linalg.norm(W[:, j])
            if nrm > 0:
                worst = max(worst, np.max(np.abs(G[:, j] + lam * a * W[:, j] / nrm)))
            else:
                worst = max(worst, np.linalg.norm(G[:, j]) - lam * a)
        return worst
    on = np.abs(G + lam * a * np.sign(W))[W != 0]
    off = np.maximum(np.abs(G) - lam * a, 0)[W == 0]
    return max(np.max(on, initial=0), np.max(off, initial=0))


@pytest.mark.parametrize("grouped", [False, True])
def test_kkt_by_finite_differences(grouped):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 6))
    y = np.argmax(X[:, :4] @ rng.normal(size=(4, 4)) + rng.normal(size=(200, 4)), axis=1)
    sw = rng.uniform(0.5, 2, 200)
    lam, a = 15.0, 0.7
    res = fastlogit.fit_multinomial(X, y, lam=lam, l1_ratio=a, sample_weight=sw,
                                    type_multinomial="grouped" if grouped else "ungrouped")
    assert res.converged and np.any(res.coef == 0)
    assert _kkt(X, y, res, lam, a, grouped, sw) < 1e-5 * sw.sum()


def _data(seed=5, n=300, p=8, K=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * (rng.random((n, p)) < 0.5)
    y = np.argmax(X[:, :3] @ rng.normal(size=(3, K)) + rng.normal(size=(n, K)), axis=1)
    return X, y


@pytest.mark.parametrize("kind", ["ungrouped", "grouped"])
def test_every_layout_and_dtype(kind):
    X, y = _data()
    ref = fastlogit.fit_multinomial(X, y, lam=8.0, l1_ratio=0.8, type_multinomial=kind)
    csr = sp.csr_matrix(X)
    csr64 = sp.csr_matrix(X)
    csr64.indices = csr64.indices.astype(np.int64)
    csr64.indptr = csr64.indptr.astype(np.int64)
    for Xv, atol in ((np.asfortranarray(X), 1e-9), (csr, 1e-9), (csr64, 1e-9),
                     (X.astype(np.float32), 1e-4), (sp.csr_matrix(X.astype(np.float32)), 1e-4)):
        before = Xv.copy()
        res = fastlogit.fit_multinomial(Xv, y, lam=8.0, l1_ratio=0.8, type_multinomial=kind)
        assert res.converged
        np.testing.assert_allclose(res.coef, ref.coef, atol=atol)
        if atol < 1e-6:
            np.testing.assert_array_equal(res.coef == 0, ref.coef == 0)
        diff = (Xv != before) if sp.issparse(Xv) else None
        assert (diff.nnz == 0) if diff is not None else np.array_equal(Xv, before)


@pytest.mark.parametrize("kind", ["ungrouped", "grouped"])
def test_threads(kind):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6000, 30))
    y = np.argmax(X[:, :3] + rng.normal(size=(6000, 3)), axis=1)
    one = fastlogit.fit_multinomial(X, y, lam=200.0, l1_ratio=1.0, type_multinomial=kind,
                                    threads=1)
    two = fastlogit.fit_multinomial(X, y, lam=200.0, l1_ratio=1.0, type_multinomial=kind,
                                    threads=2)
    again = fastlogit.fit_multinomial(X, y, lam=200.0, l1_ratio=1.0, type_multinomial=kind,
                                      threads=2)
    np.testing.assert_allclose(one.coef, two.coef, atol=1e-9)
    np.testing.assert_array_equal(one.coef == 0, two.coef == 0)
    np.testing.assert_array_equal(two.coef, again.coef)
    np.testing.assert_array_equal(two.intercept, again.intercept)


def test_weights_equal_duplication_and_counts():
    X, y = _data(n=120)
    w = np.random.default_rng(0).integers(1, 4, size=120)
    a = fastlogit.fit_multinomial(X, y, lam=5.0, l1_ratio=1.0, sample_weight=w.astype(float))
    b = fastlogit.fit_multinomial(np.repeat(X, w, axis=0), np.repeat(y, w), lam=5.0,
                                  l1_ratio=1.0)
    c = fastlogit.fit_multinomial(X, counts=np.eye(3)[y] * w[:, None], lam=5.0, l1_ratio=1.0)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)
    np.testing.assert_allclose(a.coef, c.coef, atol=1e-7)
    np.testing.assert_allclose(a.objective, b.objective, rtol=1e-10)


def test_offset_and_penalty_factor_and_warm_start():
    X, y = _data(n=150)
    off = np.random.default_rng(2).normal(scale=0.3, size=(150, 3))
    pf = np.array([0.0, 1, 1, 2, 1, 1, 1, 1])
    res = fastlogit.fit_multinomial(X, y, lam=10.0, l1_ratio=1.0, offset=off, penalty_factor=pf)
    assert res.converged and np.all(res.coef[:, 0] != 0)
    warm = fastlogit.fit_multinomial(X, y, lam=10.0, l1_ratio=1.0, offset=off,
                                     penalty_factor=pf, x0=res)
    assert warm.n_iter <= 1
    np.testing.assert_allclose(warm.coef, res.coef, atol=1e-8)


def test_large_lambda_all_zero_and_max_iter_warns():
    X, y = _data()
    res = fastlogit.fit_multinomial(X, y, lam=1e6, l1_ratio=1.0)
    assert res.converged and np.all(res.coef == 0)
    with pytest.warns(ConvergenceWarning, match="cd did not converge"):
        bad = fastlogit.fit_multinomial(X, y, lam=0.5, l1_ratio=1.0, max_iter=1)
    assert not bad.converged


def test_bad_input():
    X, y = _data(n=50)
    with pytest.raises(ValueError, match="type_multinomial"):
        fastlogit.fit_multinomial(X, y, lam=1.0, l1_ratio=1.0, type_multinomial="group")
    with pytest.raises(ValueError, match="l1_ratio"):
        fastlogit.fit_multinomial(X, y, lam=1.0, l1_ratio=1.5)
    with pytest.raises(ValueError, match="penalty_factor"):
        fastlogit.fit_multinomial(X, y, lam=1.0, l1_ratio=1.0, penalty_factor=[1.0, 2.0])
    with pytest.raises(ValueError, match="solver"):
        fastlogit.fit_multinomial(X, y, lam=1.0, l1_ratio=1.0, solver="lbfgs")
    with pytest.raises(ValueError, match="x0"):
        fastlogit.fit_multinomial(X, y, lam=1.0, l1_ratio=1.0, x0=np.zeros((2, 2)))
