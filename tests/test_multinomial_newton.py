"""The softmax Hessian behind the multinomial Newton polish, against finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastlogit._input._validate import as_design
from fastlogit._solvers._multinomial_newton import MultinomialView
from fastlogit.backend._objective import L2Penalty, Standardization
from fastlogit.backend._softmax_objective import MultinomialLoss, MultinomialObjective


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_hessian_is_the_derivative_of_the_gradient(fit_intercept, sparse):
    rng = np.random.default_rng(0)
    m, p, K = 150, 5, 4
    X = rng.normal(size=(m, p))
    if sparse:
        X[rng.random((m, p)) < 0.4] = 0.0
    counts = rng.integers(0, 4, size=(m, K)).astype(float)
    weights = rng.uniform(0.5, 2.0, size=m)
    offset = rng.normal(scale=0.2, size=(m, K))
    design = as_design(sp.csr_matrix(X) if sparse else X)
    loss = MultinomialLoss(design, K, counts=counts, labels=None, weights=weights,
                           offset=offset, threads=1)
    std = Standardization.identity(p)
    obj = MultinomialObjective(loss, L2Penalty(0.7), std, fit_intercept)
    view = MultinomialView(obj)
    u = rng.normal(scale=0.3, size=K * (p + int(fit_intercept)))
    H = view.hessian(u, "test")
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())
    h = 1e-6
    fd = np.empty_like(H)
    for j in range(u.size):
        e = np.zeros_like(u)
        e[j] = h
        fd[:, j] = (view.value_grad(u + e)[1] - view.value_grad(u - e)[1]) / (2 * h)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    # the direction "every class shifted alike" is flat for the unpenalised intercepts
    if fit_intercept:
        shift = np.zeros_like(u)
        shift[:: p + 1] = 1.0
        np.testing.assert_allclose(H @ shift, 0.0, atol=1e-10 * np.abs(H).max())


def test_view_round_trips_the_parameters():
    design = as_design(np.eye(3))
    loss = MultinomialLoss(design, 2, counts=None, labels=np.array([0, 1, 1]), weights=None,
                           offset=None, threads=1)
    obj = MultinomialObjective(loss, L2Penalty(1.0), Standardization.identity(3), True)
    view = MultinomialView(obj)
    b, W = np.array([0.5, -0.5]), np.arange(6.0).reshape(3, 2)
    u = view.join(b, W)
    np.testing.assert_array_equal(u, [0.5, 0, 2, 4, -0.5, 1, 3, 5])  # class by class
    b2, W2 = view.split(u)
    np.testing.assert_array_equal(b2, b)
    np.testing.assert_array_equal(W2, W)
