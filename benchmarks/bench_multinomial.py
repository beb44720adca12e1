"""Multinomial (softmax): one loss+gradient evaluation against scikit-learn's, and full fits
against scikit-learn's LogisticRegression (lbfgs, C=1, tol=1e-8) on the issue's problems.

    pytest benchmarks/bench_multinomial.py                 # 200,000 rows, K = 10
    FASTLOGIT_BENCH_QUICK=1 pytest benchmarks/bench_multinomial.py --benchmark-disable
    python -m benchmarks.compare_multinomial               # one table: times, optimum, ratio
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastlogit
from benchmarks.conftest import QUICK
from benchmarks.multinomial_data import dense_multinomial, sparse_multinomial
from fastlogit._core import _softmax
from fastlogit._input._validate import as_design

ROWS = 20_000 if QUICK else 200_000
K = 10


@pytest.fixture(scope="session")
def sparse_k10():
    return sparse_multinomial(n_rows=ROWS)


@pytest.fixture(scope="session")
def dense_k10():
    return dense_multinomial(n_rows=ROWS)


def _ours(X, y, threads):
    design = as_design(X)
    p = design.n_features
    W = np.random.default_rng(0).normal(scale=0.01, size=p * K)
    g, gb, labels = np.empty(p * K), np.empty(K), y.astype(np.intp)
    return lambda: _softmax.softmax_loss_grad(*design.kernel_args, K, None, labels, None, None,
                                              W, np.zeros(K), g, gb, threads)


def _sklearn(X, y):
    from sklearn._loss.loss import HalfMultinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    loss = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=K), fit_intercept=True)
    coef = np.random.default_rng(0).normal(scale=0.01, size=(K, X.shape[1] + 1)).ravel("F")
    yf = y.astype(np.float64)
    return lambda: loss.loss_gradient(coef, X, yf, None, l2_reg_strength=1.0 / X.shape[0],
                                      n_threads=1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("data", ["sparse_k10", "dense_k10"])
def test_eval_softmax(benchmark, request, data, threads):
    X, y = request.getfixturevalue(data)
    benchmark.group = f"softmax eval {data}"
    benchmark(_ours(X, y, threads))


@pytest.mark.parametrize("data", ["sparse_k10", "dense_k10"])
def test_eval_sklearn(benchmark, request, data):
    X, y = request.getfixturevalue(data)
    benchmark.group = f"softmax eval {data}"
    benchmark(_sklearn(X, y))


@pytest.mark.parametrize("data", ["sparse_k10", "dense_k10"])
def test_fit_fastlogit(benchmark, request, data):
    X, y = request.getfixturevalue(data)
    benchmark.group = f"multinomial fit {data}"
    res = benchmark.pedantic(fastlogit.fit_multinomial, args=(X,), kwargs={"y": y, "lam": 1.0},
                             rounds=3, iterations=1)
    benchmark.extra_info.update(n_iter=res.n_iter, n_fev=res.n_fev, objective=res.objective)
    assert res.converged


@pytest.mark.parametrize("data", ["sparse_k10", "dense_k10"])
def test_fit_sklearn(benchmark, request, data):
    from sklearn.linear_model import LogisticRegression

    X, y = request.getfixturevalue(data)
    benchmark.group = f"multinomial fit {data}"

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LogisticRegression(C=1.0, tol=1e-8, max_iter=10_000).fit(X, y)

    clf = benchmark.pedantic(fit, rounds=1, iterations=1)
    benchmark.extra_info.update(n_iter=int(clf.n_iter_[0]))
