"""The multinomial objective a solver sees: softmax loss + L2 penalty in standardised coordinates.

    F(b, W) = L(b, W) + P(W)
    L(b, W) = sum_i s_i [ N_i logsumexp_k(z_ik) - sum_k c_ik z_ik ],  N_i = sum_k c_ik
    z_ik    = o_ik + b_k + x_i . W[:, k]
    P(W)    = lam/2 * sum_jk W_jk^2

This is the *symmetric* parametrisation (one coefficient vector per class,
all K of them, as scikit-learn uses): adding the same vector to every class
leaves L unchanged, so the penalty picks the representative whose
coefficients sum to zero over the classes in every feature. The intercepts
are unpenalised and therefore defined only up to a common constant; we report
the ones that sum to zero. Iterates stay in that centred subspace by
construction (every gradient of L sums to zero over the classes, and so does
the penalty's gradient at a centred point); ``centre`` removes the rounding
drift at the end.

Coefficients are stored feature-major, W of shape (n_features, K), the
layout of the compiled kernel; results transpose to scikit-learn's (K, p).

Solvers work in theta = [b' (K), V (p x K, raveled)] (V alone without an
intercept), with W = V / sd[:, None] and b = b' - mu @ W: the same
virtual centring and scaling of the columns as the binomial ``Objective``
(``Standardization`` with row weights s_i N_i), and on F / S, S = sum_i s_i N_i.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from fastlogit._core import _softmax
from fastlogit._input._training import row_totals
from fastlogit._input._validate import Design
from fastlogit.backend._curvature import weighted_gram
from fastlogit.backend._objective import L2Penalty, Standardization


class MultinomialLoss:
    """L(b, W) through the compiled kernel; targets as counts or as class indices."""

    def __init__(self, design: Design, n_classes: int, *, counts: Optional[np.ndarray],
                 labels: Optional[np.ndarray], weights: Optional[np.ndarray],
                 offset: Optional[np.ndarray], threads: int) -> None:
        self.design = design
        self.n_classes = n_classes
        self.counts = counts  # (n_rows, K) float64 C-order, or None
        self.labels = labels  # (n_rows,) intp in [0, K), or None
        self.weights = weights  # (n_rows,) float64, or None
        self.offset = offset  # (n_rows, K) float64 C-order, or None
        self.threads = threads
        p = design.n_features
        self._grad_w = np.empty((p, n_classes), dtype=np.float64)
        self._grad_b = np.empty(n_classes, dtype=np.float64)

    def row_totals(self) -> np.ndarray:
        """s_i N_i: each row's weighted number of trials."""
        return row_totals(self.counts, self.weights, self.design.n_rows)

    def class_totals(self) -> np.ndarray:
        """sum_i s_i c_ik for every class k."""
        if self.counts is not None:
            if self.weights is None:
                return self.counts.sum(axis=0)
            return self.weights @ self.counts
        assert self.labels is not None
        return np.bincount(self.labels, weights=self.weights, minlength=self.n_classes)

    def value_grad(self, b: np.ndarray, W: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(L, dL/db (K,), dL/dW (p, K)); the gradients are buffers reused by the next call."""
        loss = _softmax.softmax_loss_grad(
            *self.design.kernel_args, self.n_classes,
            None if self.counts is None else self.counts.reshape(-1),
            self.labels, self.weights,
            None if self.offset is None else self.offset.reshape(-1),
            np.ascontiguousarray(W, dtype=np.float64).reshape(-1),
            np.ascontiguousarray(b, dtype=np.float64),
            self._grad_w.reshape(-1), self._grad_b, self.threads,
        )
        return loss, self._grad_b, self._grad_w


def softmax_scores(design: Design, b: np.ndarray, W: np.ndarray, offset: Optional[np.ndarray],
                   transform: int, threads: int) -> np.ndarray:
    """Scores (0), probabilities (1) or log-probabilities (2), shape (n_rows, K)."""
    K = b.shape[0]
    out = np.empty((design.n_rows, K), dtype=np.float64)
    _softmax.softmax_scores(
        *design.kernel_args, K, np.ascontiguousarray(W, dtype=np.float64).reshape(-1),
        np.ascontiguousarray(b, dtype=np.float64),
        None if offset is None else offset.reshape(-1), out.reshape(-1), transform, threads,
    )
    return out


def softmax_hessian(design: Design, b: np.ndarray, W: np.ndarray, offset: Optional[np.ndarray],
                    row_totals: np.ndarray, threads: int) -> np.ndarray:
    """The loss's Hessian at (b, W), class by class: u = [b_0, w_0..., b_1, w_1..., ...].

        H = sum_i s_i N_i (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T

    Block (a, c), P x P with P = p + 1 and the intercept first, is the weighted Gram
    matrix X~^T diag(s N p_a ([a = c] - p_c)) X~: one ``weighted_gram`` pass each (dense
    rows at BLAS speed), K (K + 1) / 2 of them for a <= c. The off-diagonal weights are
    negative and the kernel takes non-negative ones, so those blocks are formed with -d
    and negated. The diagonal weight 1 - p_a is the sum of the other classes' p_c:
    1.0 - p_a cancels when p_a is near 1, and the diagonal block must equal the sum of
    the off-diagonal ones or H is indefinite in floating point (seen with |x| ~ 1e150).
    """
    K, P = b.shape[0], design.n_features + 1
    prob = softmax_scores(design, b, W, offset, 1, threads)
    H = np.empty((K * P, K * P))
    for a in range(K):
        pa = row_totals * prob[:, a]
        others = prob[:, np.arange(K) != a].sum(axis=1)
        for c in range(a, K):
            d = pa * others if c == a else pa * prob[:, c]
            G = weighted_gram(design, d, True, threads)
            block = G if c == a else -G
            H[a * P:(a + 1) * P, c * P:(c + 1) * P] = block
            H[c * P:(c + 1) * P, a * P:(a + 1) * P] = block.T
    return H


def centre(b: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The representative of (b, W) whose intercepts and per-feature coefficients sum to 0
    over the classes (the softmax is unchanged)."""
    return b - b.mean(), W - W.mean(axis=1, keepdims=True)


def _weighted_mu_dot(mu: np.ndarray, W: np.ndarray) -> np.ndarray:
    """mu @ W without BLAS (see _objective._dot: threaded BLAS calls leave spinning workers)."""
    return np.add.reduce(mu[:, None] * W, axis=0)


class MultinomialObjective:
    """F / S as a function of theta, for scipy's ``fun(theta) -> (f, g)`` contract."""

    def __init__(self, loss: MultinomialLoss, penalty: L2Penalty, std: Standardization,
                 fit_intercept: bool) -> None:
        self.loss = loss
        self.penalty = penalty
        self.std = std
        self.fit_intercept = fit_intercept
        self.n_classes = loss.n_classes
        self.n_features = loss.design.n_features
        self.scale = float(loss.row_totals().sum())
        self.n_fev = 0

    @property
    def n_params(self) -> int:
        return self.n_classes * (self.n_features + int(self.fit_intercept))

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """theta -> (b (K,), W (p, K)) in the user's parametrisation."""
        K, p = self.n_classes, self.n_features
        if self.fit_intercept:
            W = theta[K:].reshape(p, K) / self.std.sd[:, None]
            return theta[:K] - _weighted_mu_dot(self.std.mu, W), W
        return np.zeros(K), theta.reshape(p, K) / self.std.sd[:, None]

    def join(self, b: np.ndarray, W: np.ndarray) -> np.ndarray:
        """(b, W) -> theta."""
        V = (W * self.std.sd[:, None]).reshape(-1)
        if self.fit_intercept:
            return np.concatenate((b + _weighted_mu_dot(self.std.mu, W), V))
        return V

    def value_grad_user(self, b: np.ndarray, W: np.ndarray
                        ) -> tuple[float, np.ndarray, np.ndarray]:
        """Unscaled F and its gradient (dF/db (K,), dF/dW (p, K)) in the user's parametrisation."""
        loss, gb, gW = self.loss.value_grad(b, W)
        pen, pgrad = self.penalty.value_grad(W.reshape(-1))
        return loss + pen, gb, gW + pgrad.reshape(W.shape)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, W = self.split(theta)
        f, gb, gW = self.value_grad_user(b, W)
        self.n_fev += 1
        # chain rule: dF/dV_jk = (dF/dW_jk - mu_j dF/db_k) / sd_j
        gV = (gW - self.std.mu[:, None] * gb[None, :]) / self.std.sd[:, None]
        g = np.concatenate((gb, gV.reshape(-1))) if self.fit_intercept else gV.reshape(-1)
        return f / self.scale, g / self.scale

    def initial_theta(self) -> np.ndarray:
        """Zero coefficients; intercepts at the centred log class frequencies."""
        theta = np.zeros(self.n_params)
        if self.fit_intercept:
            freq = np.maximum(self.loss.class_totals() / self.scale, 1e-10)
            logf = np.log(freq)
            theta[: self.n_classes] = logf - logf.mean()
        return theta
