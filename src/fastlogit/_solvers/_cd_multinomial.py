"""The multinomial L1 / elastic-net engine: coordinate descent in glmnet's style.

    minimise  F(b, W) = L(b, W) + sum_j [l2_j ||w_j||^2 / 2 + l1_j R(w_j)],
    L(b, W) = sum_i s_i [N_i logsumexp_k(z_ik) - sum_k c_ik z_ik],
    z_ik = o_ik + b_k + x_i . W[:, k],

w_j = W[j, :] the K coefficients of feature j, l1_j = lam l1_ratio c_j and
l2_j = lam (1 - l1_ratio) c_j; R(w_j) = sum_k |W_jk| ("ungrouped", glmnet's
type.multinomial = "ungrouped") or ||w_j||_2 ("grouped": a feature enters or leaves
for all classes at once). Method (Friedman, Hastie and Tibshirani 2010, section 4):

* ungrouped: cycles over the classes. For class k, with the other classes fixed, the
  loss is a binomial-like function of (b_k, W[:, k]) with IRLS weights
  s_i N_i p_ik (1 - p_ik) and residuals s_i (N_i p_ik - c_ik); the binomial engine's
  compiled ``cd_solve`` minimises that quadratic model plus the penalty exactly
  (proximal Newton on the block), and a backtracking line search on F accepts the step.
* grouped: one quadratic model for all classes at once with the class-diagonal part
  of the softmax Hessian, minimised by block coordinate descent over features (a
  block soft-threshold per feature, _core/_cd_multi.pyx), then the same line search.

The scores Z (n_rows x K) are kept: a class's step changes one column of Z by
db_k + X dW[:, k], computed from the columns that moved; each line-search trial is one
pass over Z (not over X). Once per cycle a threaded pass over X gives the gradient
X^T D of every class, hence the KKT residual over all K p coefficients (and the
intercepts), per unit of sum(s N), in standardised coordinates, as the binomial engine
reports it. Convergence ("exact by default"): residual <= pgtol and the last cycle's
largest step at most ``step_rtol`` of the largest standardised coefficient.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from fastlogit._core import _cd_kernels, _cd_multi
from fastlogit._input._validate import Design
from fastlogit._penalties._penalties import kkt_violation
from fastlogit._solvers._cd import (
    _ARMIJO,
    _F_RTOL,
    _MIN_STEP,
    CDOptions,
    ColumnAccess,
)
from fastlogit.backend._objective import Standardization
from fastlogit.backend._softmax_objective import MultinomialLoss, softmax_scores

# The grouped model's curvature per row and class: this times s N p_k (1 - p_k). The
# softmax Hessian of a row, diag(p) - p p^T, is at most 2 diag(p (1 - p)) (the bound is
# reached with two classes at p = 1/2), so with 2 the model majorises the loss and its
# steps never overshoot; with 1 they overshoot by up to 2x along the difference of two
# confused classes and oscillate for hundreds of iterations (iris).
_GROUP_CURVATURE = 2.0


@dataclass(frozen=True)
class MultiPenalty:
    """Per-feature l1_j, l2_j and the kind of L1 term (grouped or not)."""

    l1: np.ndarray
    l2: np.ndarray
    grouped: bool

    def value(self, W: np.ndarray) -> float:
        ridge = 0.5 * float(np.add.reduce(self.l2 * np.add.reduce(W * W, axis=1)))
        if self.grouped:
            lasso = np.sqrt(np.add.reduce(W * W, axis=1))
        else:
            lasso = np.add.reduce(np.abs(W), axis=1)
        return ridge + float(np.add.reduce(self.l1 * lasso))

    def class_value(self, w: np.ndarray) -> float:
        """The (ungrouped) penalty of one class's coefficients."""
        return float(np.add.reduce(0.5 * self.l2 * w * w + self.l1 * np.abs(w)))


@dataclass
class MultiState:
    """A point (b (K,), W (p, K)), its scores Z (n_rows, K) and F."""

    b: np.ndarray
    W: np.ndarray
    Z: np.ndarray
    F: float


@dataclass(frozen=True)
class MultiOutcome:
    intercept: np.ndarray
    coef: np.ndarray  # (p, K)
    objective: float
    kkt: float
    n_iter: int
    n_pass: int
    n_sweeps: int
    converged: bool
    message: str
    elapsed: float


class MultinomialCDProblem:
    """The data of a fit as the engine sees it."""

    def __init__(self, loss: MultinomialLoss, fit_intercept: bool, std: Standardization,
                 columns: Optional[ColumnAccess] = None) -> None:
        self.loss = loss
        self.design: Design = loss.design
        self.K = loss.n_classes
        self.p = loss.design.n_features
        self.n = loss.design.n_rows
        self.fit_intercept = fit_intercept
        self.std = std
        self.threads = loss.threads
        self.columns = ColumnAccess(self.design) if columns is None else columns
        self.scale = float(loss.row_totals().sum())
        self.n_pass = 0
        counts = loss.counts
        self._targets = (None if counts is None else counts.reshape(-1), loss.labels,
                         loss.weights)

    def scores(self, b: np.ndarray, W: np.ndarray) -> np.ndarray:
        self.n_pass += 1
        return softmax_scores(self.design, b, W, self.loss.offset, 0, self.threads)

    def loss_at(self, Z: np.ndarray, U: Optional[np.ndarray] = None, step: float = 0.0,
                cls: int = -1) -> float:
        """L at the scores Z + step U (U one class's column when cls >= 0)."""
        return float(_cd_multi.shifted_loss(
            Z.reshape(-1), self.n, self.K, *self._targets,
            None if U is None else U.reshape(-1), float(step), int(cls), self.threads))

    def irls(self, Z: np.ndarray, cls: int) -> tuple[np.ndarray, np.ndarray]:
        """IRLS weights and residuals of class cls (n_rows,), or of all (n_rows, K)."""
        shape = (self.n,) if cls >= 0 else (self.n, self.K)
        W, r = np.empty(shape), np.empty(shape)
        _cd_multi.class_irls(Z.reshape(-1), self.n, self.K, *self._targets, int(cls),
                             W.reshape(-1), r.reshape(-1), self.threads)
        return W, r

    def gradient(self, b: np.ndarray, W: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(L, dL/db (K,), dL/dW (p, K)) in one threaded pass over X (copies)."""
        self.n_pass += 1
        loss, gb, gW = self.loss.value_grad(b, W)
        return loss, gb.copy(), gW.copy()

    def z_change(self, moved: np.ndarray, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
        """db + X dW (n_rows x K') from the columns ``moved`` (dW their rows, (m, K'))."""
        U = np.empty((self.n, dW.shape[1]))
        U[:] = db
        if moved.size:
            _cd_multi.column_combination(*self.columns.args, moved,
                                         np.ascontiguousarray(dW), U,
                                         self.columns.unit_values)
        return U

    def violations(self, W: np.ndarray, gb: np.ndarray, gW: np.ndarray,
                   pen: MultiPenalty) -> tuple[np.ndarray, float]:
        """KKT violations (p, K) ungrouped or (p,) grouped, and the residual (scaled,
        standardised; the intercepts' gradients included)."""
        S, sd = self.scale, self.std.sd
        gbi = gb if self.fit_intercept else np.zeros(self.K)
        g = (gW + pen.l2[:, None] * W - self.std.mu[:, None] * gbi) / sd[:, None] / S
        l1 = pen.l1 / sd / S
        if pen.grouped:
            norm = np.sqrt(np.add.reduce(W * W, axis=1))
            nz = norm > 0
            unit = np.divide(W, norm[:, None], out=np.zeros_like(W), where=nz[:, None])
            on = np.max(np.abs(g + l1[:, None] * unit), axis=1, initial=0.0)
            off = np.maximum(np.sqrt(np.add.reduce(g * g, axis=1)) - l1, 0.0)
            viol = np.where(nz, on, off)
        else:
            viol = kkt_violation(g, W, np.broadcast_to(l1[:, None], W.shape), None)
        kkt = float(np.max(viol, initial=0.0))
        if self.fit_intercept:
            kkt = max(kkt, float(np.max(np.abs(gb), initial=0.0)) / S)
        return viol, kkt

    def step_size(self, W: np.ndarray, dW: np.ndarray, db: np.ndarray, t: float) -> float:
        """The step's largest standardised change, relative to the largest coefficient."""
        sd, mu = self.std.sd, self.std.mu
        vmax = max(float(np.max(np.abs(W * sd[:, None]), initial=0.0)), 1e-2)
        dv = max(float(np.max(np.abs(dW * sd[:, None]), initial=0.0)),
                 float(np.max(np.abs(db + np.add.reduce(mu[:, None] * dW, axis=0)),
                              initial=0.0)))
        return t * dv / vmax


def _line_search(prob: MultinomialCDProblem, state: MultiState, U: np.ndarray, cls: int,
                 delta: float, penalty_at: Callable[[float], float]
                 ) -> Optional[tuple[float, float]]:
    """Backtracking (Armijo) on F along U; (t, F_t) or None when no step descends."""
    t = 1.0
    F = state.F
    while True:
        Ft = prob.loss_at(state.Z, U, t, cls) + penalty_at(t)
        if Ft <= F + _ARMIJO * t * min(delta, 0.0) + _F_RTOL * abs(F):
            return t, Ft
        t *= 0.5
        if t < _MIN_STEP:
            return None


def _centre_curvature(prob: MultinomialCDProblem, Hw: np.ndarray, r: np.ndarray,
                      ws: np.ndarray, sxw: np.ndarray, h: np.ndarray, xm: np.ndarray):
    """glmnet's virtual centring (see _cd_kernels.pyx): the intercept follows each step."""
    sw = np.add.reduce(Hw, axis=0)
    if prob.fit_intercept and np.all(sw > 0):
        xm[ws] = sxw[ws] / sw
        h[ws] = np.maximum(h[ws] - sxw[ws] * xm[ws], 0.0)
        return -np.add.reduce(r, axis=0) / sw
    xm[ws] = 0.0
    sxw[ws] = 0.0
    return np.zeros_like(sw)


def _class_step(prob: MultinomialCDProblem, pen: MultiPenalty, state: MultiState, k: int,
                ws: np.ndarray, inner: float, options: CDOptions) -> tuple[float, int, str]:
    """One proximal Newton step on class k (the others fixed): (step size, sweeps, error)."""
    p = prob.p
    Hw, r = prob.irls(state.Z, k)
    h, sxw, xm = np.zeros(p), np.zeros(p), np.zeros(p)
    if ws.size:
        _cd_kernels.column_weighted_sums(*prob.columns.args, Hw, ws, sxw, h,
                                         prob.columns.unit_values)
    o = float(_centre_curvature(prob, Hw, r, ws, sxw, h, xm))
    q = r.copy()
    w_old = state.W[:, k].copy()
    w_new = w_old.copy()
    lo, hi = np.full(p, -np.inf), np.full(p, np.inf)
    o, sweeps, _, _ = _cd_kernels.cd_solve(
        *prob.columns.args, Hw, q, ws, w_new, h, sxw, xm, pen.l1, pen.l2, lo, hi,
        o, inner, options.max_sweeps, prob.columns.unit_values)
    db = float(o) if prob.fit_intercept else 0.0
    dw = w_new - w_old
    moved = np.flatnonzero(dw)
    if db == 0.0 and not moved.size:
        return 0.0, sweeps, ""
    u = prob.z_change(moved, dw[moved, None], np.array([db]))[:, 0]
    pen_old = pen.class_value(w_old)
    delta = float(np.add.reduce(r * u)) + pen.class_value(w_new) - pen_old
    base = pen.value(state.W) - pen_old
    found = _line_search(prob, state, u, k, delta,
                         lambda t: base + pen.class_value(w_old + t * dw))
    if found is None:
        return 0.0, sweeps, "line search failed: no descent along the Newton direction"
    t, Ft = found
    state.Z[:, k] += t * u
    state.W[:, k] = w_new if t == 1.0 else w_old + t * dw
    state.b[k] += t * db
    state.F = Ft
    dW = np.zeros_like(state.W)
    dW[:, k] = dw
    dbv = np.zeros(prob.K)
    dbv[k] = db
    return prob.step_size(state.W, dW, dbv, t), sweeps, ""


def _group_step(prob: MultinomialCDProblem, pen: MultiPenalty, state: MultiState,
                ws: np.ndarray, inner: float, options: CDOptions) -> tuple[float, int, str]:
    """One step of every class at once on the grouped model."""
    p, K = prob.p, prob.K
    Hw, R = prob.irls(state.Z, -1)
    Hw *= _GROUP_CURVATURE
    h, sxw, xm = np.zeros((p, K)), np.zeros((p, K)), np.zeros((p, K))
    if ws.size:
        _cd_multi.group_weighted_sums(*prob.columns.args[:6], Hw, ws, sxw, h,
                                      prob.columns.unit_values)
    o = np.ascontiguousarray(_centre_curvature(prob, Hw, R, ws, sxw, h, xm), dtype=float)
    Q = R.copy()
    W_new = state.W.copy()
    sweeps, _ = _cd_multi.group_cd_solve(
        *prob.columns.args, Hw, Q, ws, W_new, h, sxw, xm, pen.l1, pen.l2, o, inner,
        options.max_sweeps, prob.columns.unit_values)
    db = o if prob.fit_intercept else np.zeros(K)
    dW = W_new - state.W
    moved = np.flatnonzero(np.any(dW != 0, axis=1))
    if not np.any(db) and not moved.size:
        return 0.0, sweeps, ""
    U = prob.z_change(moved, dW[moved], db)
    delta = float(np.add.reduce((R * U).reshape(-1))) + pen.value(W_new) - pen.value(state.W)
    W0 = state.W
    found = _line_search(prob, state, U, -1, delta, lambda t: pen.value(W0 + t * dW))
    if found is None:
        return 0.0, sweeps, "line search failed: no descent along the Newton direction"
    t, Ft = found
    state.Z += t * U
    state.W = W_new if t == 1.0 else W0 + t * dW
    state.b = state.b + t * db
    state.F = Ft
    step = prob.step_size(state.W, dW, db, t)
    # The loss is flat along W_j + c (1, ..., 1) (every score of a row moves alike), and
    # the class-diagonal model does not see it: its steps along that direction are set
    # by the penalty alone and would crawl. Both penalty terms are least at the feature's
    # mean over the classes, so each feature is moved there (glmnet's elc step): F only
    # falls, the loss is unchanged, and the scores are recomputed at the next iteration.
    shift = np.add.reduce(state.W, axis=1) / K
    if np.any(shift):
        state.W = state.W - shift[:, None]
        state.Z = state.Z - prob.z_change(np.flatnonzero(shift), shift[shift != 0, None],
                                          np.zeros(1))
        state.F = prob.loss_at(state.Z) + pen.value(state.W)
    return step, sweeps, ""


def solve(prob: MultinomialCDProblem, pen: MultiPenalty, b0: np.ndarray, W0: np.ndarray,
          options: CDOptions,
          on_iteration: Optional[Callable[[int, np.ndarray, np.ndarray, float, float], bool]]
          = None) -> MultiOutcome:
    """Minimise F from (b0, W0); see the module docstring.

    ``on_iteration(it, b, W, F, kkt)`` returning True stops the fit (user callback).
    """
    t0 = time.perf_counter()
    K, p = prob.K, prob.p
    b = np.array(b0, dtype=np.float64) if prob.fit_intercept else np.zeros(K)
    W = np.array(W0, dtype=np.float64).reshape(p, K)
    working = (W != 0) | (pen.l1 <= 0)[:, None]
    if pen.grouped:
        working = np.any(working, axis=1)
    Z = prob.scores(b, W)
    state = MultiState(b, W, Z, prob.loss_at(Z) + pen.value(W))
    last_step = np.inf
    sweeps_total, n_iter = 0, 0
    converged, message = False, "iteration limit reached"
    for it in range(options.max_iter + 1):
        loss, gb, gW = prob.gradient(state.b, state.W)
        fresh = True
        viol, kkt = prob.violations(state.W, gb, gW, pen)
        working |= viol > 0.1 * options.pgtol
        if on_iteration is not None and on_iteration(it, state.b, state.W, state.F, kkt):
            message = "stopped by the callback"
            break
        if options.done(kkt, last_step):
            converged, message = True, "KKT conditions hold"
            break
        if it == options.max_iter:
            break
        n_iter += 1
        if it > 0:  # fresh scores: no drift from the incremental updates
            state.Z = prob.scores(state.b, state.W)
            state.F = prob.loss_at(state.Z) + pen.value(state.W)
        inner = options.inner_tolerance(kkt, prob.scale)
        last_step, error = 0.0, ""
        if pen.grouped:
            step, sweeps, error = _group_step(prob, pen, state, np.flatnonzero(working),
                                              inner, options)
            last_step, sweeps_total = step, sweeps_total + sweeps
        else:
            for k in range(K):
                step, sweeps, error = _class_step(prob, pen, state, k,
                                                  np.flatnonzero(working[:, k]), inner,
                                                  options)
                last_step, sweeps_total = max(last_step, step), sweeps_total + sweeps
                if error:
                    break
        fresh = False
        if error:
            message = error
            break
        if last_step == 0.0:
            message = "no progress: the Newton step is zero (rounding floor reached)"
            break
    if not fresh:
        loss, gb, gW = prob.gradient(state.b, state.W)
        _, kkt = prob.violations(state.W, gb, gW, pen)
    return MultiOutcome(state.b.copy(), state.W.copy(), loss + pen.value(state.W), kkt,
                        n_iter, prob.n_pass, sweeps_total, converged, message,
                        time.perf_counter() - t0)
