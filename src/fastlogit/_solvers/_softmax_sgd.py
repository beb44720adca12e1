"""Mini-batch stochastic steps (AdaGrad) on the multinomial objective: ``partial_fit`` with
three or more classes.

The multinomial companion of _sgd.py, with the same choices and for the same reasons
(see its docstring): centred, scaled coordinates theta = [b' (K), V (p x K)] with
V = W sd (sgd_standardization of the first piece of the stream: for a sparse column,
the RMS of its stored entries); the unbiased batch gradient

    g_B = grad L_B(theta) / S_B + grad P(theta) / S_seen,   S_B = sum_{i in B} s_i,

S_seen the weight streamed so far (the ridge lam / 2 ||W||^2 is on the summed loss of
all rows seen); AdaGrad steps theta -= eta0 g / (delta + sqrt(G)), delta the RMS of the
first gradient; a running average of the iterates (weights 2 / (t + 1)) is the answer.
A batch is a contiguous row range handed to the compiled kernel
(_softmax.softmax_loss_grad_rows): nothing is sliced or copied. Coefficients are kept
centred over the classes (the softmax is unchanged; the ridge's optimum is centred).
"""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np

from fastlogit._core import _softmax
from fastlogit._input._validate import Design
from fastlogit._solvers._sgd import sgd_standardization
from fastlogit.backend._objective import Standardization

ETA0 = 0.3  # as the binomial stream (_sgd.SGDOptions.eta0)
STREAM_BATCH = 256  # rows per step within one partial_fit piece


class SoftmaxStream:
    """The optimiser's state between ``partial_fit`` calls."""

    def __init__(self, K: int, std: Standardization, fit_intercept: bool, lam: float,
                 class_totals: Optional[np.ndarray] = None) -> None:
        p = std.sd.shape[0]
        self.K, self.p = K, p
        self.std = std
        self.fit_intercept = fit_intercept
        self.lam = lam
        self.b = np.zeros(K)  # b' (standardised intercepts)
        if fit_intercept and class_totals is not None and class_totals.sum() > 0:
            logf = np.log(np.maximum(class_totals / class_totals.sum(), 1e-10))
            self.b = logf - logf.mean()
        self.V = np.zeros((p, K))
        self.sumsq_b = np.zeros(K)
        self.sumsq_V = np.zeros((p, K))
        self.avg_b = self.b.copy()
        self.avg_V = self.V.copy()
        self.n_avg = 0
        self.n_steps = 0
        self.delta = 0.0
        self.weight_seen = 0.0

    def snapshot(self) -> SoftmaxStream:
        return copy.deepcopy(self)

    def user(self, b: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(b', V) -> (b, W) in the user's parametrisation, centred over the classes."""
        W = V / self.std.sd[:, None]
        bb = b - self.std.mu @ W if self.fit_intercept else np.zeros(self.K)
        return bb - bb.mean(), W - W.mean(axis=1, keepdims=True)

    def answer(self) -> tuple[np.ndarray, np.ndarray]:
        """The averaged iterate as (intercept (K,), coef (K, p))."""
        b, W = self.user(self.avg_b, self.avg_V) if self.n_avg else self.user(self.b, self.V)
        return b, np.ascontiguousarray(W.T)

    def step(self, design: Design, labels: np.ndarray, weights: np.ndarray, r0: int,
             r1: int) -> float:
        """One AdaGrad step on rows [r0, r1); returns the batch's loss before the step."""
        s_batch = float(weights[r0:r1].sum())
        if not s_batch > 0:
            return 0.0
        W = self.V / self.std.sd[:, None]
        b = self.b - self.std.mu @ W if self.fit_intercept else np.zeros(self.K)
        gW = np.empty(self.p * self.K)
        gb = np.empty(self.K)
        loss = _softmax.softmax_loss_grad_rows(
            *design.kernel_args, self.K, None, labels, weights, None,
            np.ascontiguousarray(W).reshape(-1), np.ascontiguousarray(b), gW, gb, r0, r1)
        gb /= s_batch
        ridge = self.lam / max(self.weight_seen + s_batch, 1e-300)
        gW_user = gW.reshape(self.p, self.K) / s_batch + ridge * W
        gV = (gW_user - self.std.mu[:, None] * gb[None, :]) / self.std.sd[:, None]
        if not self.fit_intercept:
            gb = np.zeros(self.K)
        if self.n_steps == 0:
            n = gV.size + (self.K if self.fit_intercept else 0)
            self.delta = float(np.sqrt((np.sum(gV * gV) + np.sum(gb * gb)) / max(n, 1)))
        self.sumsq_V += gV * gV
        self.sumsq_b += gb * gb
        self.V -= ETA0 * gV / (self.delta + np.sqrt(self.sumsq_V))
        self.b -= ETA0 * gb / (self.delta + np.sqrt(self.sumsq_b))
        self.n_avg += 1
        weight = 2.0 / (self.n_avg + 1)
        self.avg_V += weight * (self.V - self.avg_V)
        self.avg_b += weight * (self.b - self.avg_b)
        self.n_steps += 1
        self.weight_seen += s_batch
        return float(loss)


def stream_piece(state: Optional[SoftmaxStream], design: Design, labels: np.ndarray,
                 weights: np.ndarray, K: int, lam: float, fit_intercept: bool,
                 threads: int) -> SoftmaxStream:
    """One pass of steps over a piece of the stream; a new state when ``state`` is None
    (its coordinates from this piece). The given state is never modified."""
    if state is None:
        std = sgd_standardization(design, weights, fit_intercept, threads)
        totals = np.bincount(labels, weights=weights, minlength=K)
        state = SoftmaxStream(K, std, fit_intercept, lam, totals)
    else:
        state = state.snapshot()
    m = design.n_rows
    for r0 in range(0, m, STREAM_BATCH):
        state.step(design, labels, weights, r0, min(r0 + STREAM_BATCH, m))
    return state
