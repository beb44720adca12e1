"""Multinomial (softmax) logistic regression with an L1 / elastic-net penalty, by L-BFGS-B
on split variables.

    F(b, W) = L(b, W) + lam [(1 - r)/2 ||W||^2 + r sum_jk |W_jk|]

(L the softmax loss of backend/_softmax_objective.py, all K classes: scikit-learn's saga
objective times the sum of weights). Each coefficient is split, W = W+ - W- with
W+, W- >= 0 and the penalty lam r (W+ + W-): a smooth problem with bounds whose
minimiser has W+ W- = 0, hence the original one's. It runs in the standardised
coordinates of ``MultinomialObjective`` (V = W sd), so the L1 weight of V_jk is
lam r / sd_j; coefficients at 0 are exactly 0 (L-BFGS-B keeps variables on their bound).
The intercepts are unpenalised and reported summing to zero; the coefficients are not
centred (with an L1 part the optimum need not sum to zero over the classes).

This is the route the scikit-learn estimators take for three or more classes with an
L1 part (``fastlogit.sklearn._engine.fit_softmax``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import as_design, as_sample_weight
from fastlogit._input._validate_multi import as_class_targets
from fastlogit._solvers._base import ConvergenceWarning, Monitor
from fastlogit._solvers._lbfgs import LbfgsOptions, gradient_floor
from fastlogit._solvers._lbfgs import solve as lbfgs_solve
from fastlogit.backend._objective import L2Penalty, Standardization
from fastlogit.backend._softmax_objective import MultinomialLoss, MultinomialObjective


@dataclass(frozen=True)
class SoftmaxL1Result:
    """coef (K, p) with exact zeros, intercept (K,), objective F, n_iter, converged."""

    coef: np.ndarray
    intercept: np.ndarray
    objective: float
    grad_norm: float
    n_iter: int
    converged: bool
    message: str


class _SplitSoftmax:
    """F / S over theta = [b' (K), V+ (p K), V- (p K)], V+ and V- >= 0."""

    def __init__(self, base: MultinomialObjective, l1: float) -> None:
        self.base = base
        self.off = base.n_classes if base.fit_intercept else 0
        self.size = base.n_features * base.n_classes
        cost = l1 / base.std.sd / base.scale  # per unit of V_jk, on F / S
        self.cost = np.repeat(cost, base.n_classes)  # V is raveled (p, K)
        self.n_fev = 0

    def base_theta(self, theta: np.ndarray) -> np.ndarray:
        off, q = self.off, self.size
        return np.concatenate((theta[:off], theta[off:off + q] - theta[off + q:]))

    def from_base(self, theta: np.ndarray) -> np.ndarray:
        off = self.off
        V = theta[off:]
        return np.concatenate((theta[:off], np.maximum(V, 0.0), np.maximum(-V, 0.0)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower = np.zeros(self.off + 2 * self.size)
        lower[:self.off] = -np.inf
        return lower, np.full(lower.shape[0], np.inf)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        off, q = self.off, self.size
        f, g = self.base(self.base_theta(theta))
        self.n_fev += 1
        gV = g[off:]
        value = f + float(self.cost @ (theta[off:off + q] + theta[off + q:]))
        return value, np.concatenate((g[:off], gV + self.cost, self.cost - gV))

    def split(self, theta: np.ndarray) -> tuple[Any, Any]:
        return self.base.split(self.base_theta(theta))


def fit_multinomial_l1(X: Any, y: Any = None, *, counts: Any = None, sample_weight: Any = None,
                       lam: float = 1.0, l1_ratio: float = 1.0, fit_intercept: bool = True,
                       factr: float = 1e3, pgtol: float = 1e-8, max_iter: int = 1000,
                       threads: Optional[int] = None, x0: Any = None,
                       verbose: bool = False) -> SoftmaxL1Result:
    """Fit the softmax model with an elastic-net penalty (see the module notes).

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_rows, n_features)
    y : array_like of shape (n_rows,), optional
        Class indices 0..K-1 (every class present), or give ``counts``.
    counts : array_like of shape (n_rows, n_classes), optional
    sample_weight : array_like of shape (n_rows,), optional
    lam : float, default 1.0
        Penalty on the summed loss (1 / C).
    l1_ratio : float in (0, 1], default 1.0
    fit_intercept : bool, default True
    factr, pgtol, max_iter, threads, verbose
        As in ``fastlogit.fit_multinomial``.
    x0 : array_like of shape (n_classes, n_features + fit_intercept), optional
        Starting point, per class [intercept, coef...].

    Returns
    -------
    SoftmaxL1Result

    Raises
    ------
    ValueError
        Malformed input (as ``fit_multinomial``).

    Warns
    -----
    ConvergenceWarning
        When L-BFGS-B stops before max |projected gradient| <= pgtol.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(90, 4))
    >>> y = np.argmax(X[:, :3], axis=1)
    >>> res = fit_multinomial_l1(X, y, lam=20.0, l1_ratio=1.0)
    >>> res.coef.shape, bool(np.all(res.coef[:, 3] == 0.0))
    ((3, 4), True)
    """
    design = as_design(X, "X")
    m, p = design.n_rows, design.n_features
    targets = as_class_targets(y, counts, m)
    K = targets.n_classes
    s = as_sample_weight(sample_weight, m)
    n_threads = resolve_threads(threads)
    loss = MultinomialLoss(design, K, counts=targets.counts, labels=targets.labels, weights=s,
                           offset=None, threads=n_threads)
    weight = loss.row_totals()
    std = Standardization.from_data(design, weight, fit_intercept, n_threads)
    base = MultinomialObjective(loss, L2Penalty(lam * (1.0 - l1_ratio)), std, fit_intercept)
    split = _SplitSoftmax(base, lam * l1_ratio)
    if x0 is None:
        start = base.initial_theta()
    else:
        arr = np.asarray(x0, dtype=np.float64)
        b0 = arr[:, 0] if fit_intercept else np.zeros(K)
        start = base.join(b0 - b0.mean(), np.ascontiguousarray(arr[:, int(fit_intercept):].T))
    options = LbfgsOptions(factr=factr, pgtol=pgtol, max_iter=max_iter, bounds=split.bounds())
    out = lbfgs_solve(split, split.from_base(start), options, Monitor(split, None, verbose))
    theta = out.theta
    b, W = split.split(theta)
    off, q = split.off, split.size
    W[((theta[off:off + q] == 0.0) & (theta[off + q:] == 0.0)).reshape(p, K)] = 0.0
    proj = theta - np.clip(theta - out.grad, *split.bounds())
    gnorm = float(np.max(np.abs(proj), initial=0.0))
    converged = out.converged or gnorm <= max(pgtol, gradient_floor(out.fun))
    if not converged:
        warnings.warn(f"lbfgs did not converge: {out.message}. Raise max_iter (now {max_iter})",
                      ConvergenceWarning, stacklevel=2)
    return SoftmaxL1Result(coef=np.ascontiguousarray(W.T), intercept=b - b.mean(),
                           objective=out.fun * base.scale, grad_norm=gnorm,
                           n_iter=out.n_iter, converged=bool(converged), message=out.message)
