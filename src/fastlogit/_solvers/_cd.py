"""The L1 / elastic-net / bounds engine: proximal Newton with coordinate descent.

    minimise  F(b, w) = L(b, w) + sum_j [l2_j w_j^2 / 2 + l1_j |w_j|]
    subject to lo_j <= w_j <= hi_j,
    L(b, w) = sum_i [sn_i log1pexp(z_i) - sk_i z_i],  z_i = o_i + b + x_i . w,

with l1_j = lam l1_ratio c_j and l2_j = lam (1 - l1_ratio) c_j (glmnet's method, Friedman,
Hastie and Tibshirani 2010, "Regularization paths for generalized linear models via
coordinate descent", J. Stat. Softw. 33(1)):

* outer iteration (proximal Newton / IRLS): one threaded pass over the rows gives the loss,
  the full gradient X^T r (hence the KKT conditions of *every* feature), and the IRLS weights
  W_i = sn_i p_i (1 - p_i) that define the quadratic model of L around the current point;
* inner solve: cyclic coordinate descent on that model, over a *working set* of features
  (the nonzero ones, the unpenalised ones, and those the strong rule or the KKT check let
  in), compiled, on the column layout (dense columns in place, or a CSC copy of a CSR
  design: the one copy of X this engine makes, ``ColumnAccess.nbytes``);
* a backtracking line search on F keeps every accepted step a descent step (glmnet has
  none; without it a step can overshoot on nearly separated data).

Convergence ("exact by default"): a point is accepted when its KKT residual -- the largest
violation of the optimality conditions over *all* features (and |dF/db|), per unit of
sum(s n), in standardised coordinates, as every fastlogit solver reports it -- is at most
``pgtol``, *and* the Newton step that led to it was small (at most ``step_rtol`` of the
largest standardised coefficient): near the optimum the error after a Newton step is of the
order of the step squared, so the coefficients are then far closer than 1e-6 (relative to
the largest) to the exact optimum. The inner tolerance follows the outer residual (an
inexact Newton method), so early iterations are cheap and the last ones exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from fastlogit._core import _cd_kernels, _kernels
from fastlogit._input._validate import LAYOUT_C, LAYOUT_CSR, LAYOUT_F, Design
from fastlogit._penalties._penalties import Box, ElasticNet, kkt_violation
from fastlogit._solvers._constrained import Solution
from fastlogit._solvers._polish import FRACTION, MAX_PARAMS, TINY_WORK, hessian_work
from fastlogit.backend._curvature import weighted_gram
from fastlogit.backend._objective import Standardization, _dot

COL_C, COL_F, COL_CSC = 0, 1, 2
# A list to receive one record per Newton iteration (benchmarks, diagnostics), or None.

# The inner tolerance: a coordinate step may lower the model (per unit of sum(s n)) by at
# most (INNER_FACTOR * kkt)^2 when the sweeps stop, kkt the current outer residual; never
# below (INNER_FLOOR * pgtol)^2.
_INNER_FACTOR = 1e-1
_INNER_FLOOR = 1e-1
# a start whose KKT residual is this small needs no Newton step at all
_KKT_EXACT = 1e-13


@dataclass(frozen=True)
class CDOptions:
    """Stopping rules of the engine (see the module docstring).

    pgtol: KKT residual target; step_rtol: size of the last Newton step, relative to the
    largest standardised coefficient; max_iter: Newton iterations (each one pass over X,
    more with a line search); max_sweeps: coordinate-descent sweeps per Newton iteration.
    """

    pgtol: float = 1e-8
    step_rtol: float = 1e-4
    max_iter: int = 1000
    max_sweeps: int = 100_000

    @property
    def step_limit(self) -> float:
        """step_rtol at pgtol <= 1e-8; a looser pgtol (a caller asking for a rough answer,
        e.g. scikit-learn's tol) loosens it by sqrt(pgtol / 1e-8), up to 0.1, so that a
        fit whose KKT residual is far inside a loose target is not kept iterating."""
        return min(max(self.step_rtol, self.step_rtol * (self.pgtol / 1e-8) ** 0.5), 0.1)

    def done(self, kkt: float, last_step: float) -> bool:
        """The convergence rule: KKT residual within pgtol after a small step (or so small
        that no step is needed)."""
        return kkt <= self.pgtol and (last_step <= self.step_limit or kkt <= _KKT_EXACT)

    def inner_tolerance(self, kkt: float, scale: float) -> float:
        """cd_solve's tol for a Newton step taken at outer KKT residual kkt (see above)."""
        return max(_INNER_FACTOR * kkt, _INNER_FLOOR * self.pgtol) ** 2 * scale


class ColumnAccess:
    """The design read by columns: dense arrays in place, CSR through one CSC copy."""

    def __init__(self, design: Design) -> None:
        self.unit_values = bool(design.unit_values)
        self.n_rows, self.n_features = design.n_rows, design.n_features
        empty = np.empty(0, dtype=np.int32)
        if design.layout == LAYOUT_CSR:
            import scipy.sparse as sp

            csr = sp.csr_matrix((design.values, design.indices, design.indptr),
                                shape=(design.n_rows, design.n_features))
            csc = csr.tocsc()
            self.layout = COL_CSC
            data = csc.data if not self.unit_values else np.empty(0, dtype=csc.data.dtype)
            self.args = (COL_CSC, data if data.shape[0] else np.zeros(1, csc.data.dtype),
                         csc.indices, csc.indptr, design.n_rows, design.n_features)
            self.nbytes = int(data.nbytes + csc.indices.nbytes + csc.indptr.nbytes)
        else:
            self.layout = COL_C if design.layout == LAYOUT_C else COL_F
            assert design.layout in (LAYOUT_C, LAYOUT_F)
            vals = design.values if design.values.shape[0] else np.zeros(1, design.values.dtype)
            self.args = (self.layout, vals, empty, np.zeros(1, dtype=np.int32),
                         design.n_rows, design.n_features)
            self.nbytes = 0


@dataclass
class Pass:
    """What one pass over the rows gives at (b, w)."""

    b: float
    w: np.ndarray
    loss: float
    grad_b: float  # sum_i r_i
    grad: np.ndarray  # X^T r
    weight: np.ndarray  # W_i
    resid: np.ndarray  # r_i
    sum_weight: float


@dataclass(frozen=True)
class PenaltyVectors:
    """Per-feature l1_j, l2_j and bounds lo_j, hi_j of the problem (user parametrisation)."""

    l1: np.ndarray
    l2: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    box: Optional[Box]

    @classmethod
    def make(cls, penalty: ElasticNet, box: Optional[Box], p: int) -> PenaltyVectors:
        ridge = penalty.ridge
        l2 = np.full(p, ridge.lam) if ridge.factor is None else ridge.lam * ridge.factor
        lo = np.full(p, -np.inf) if box is None else box.lower
        hi = np.full(p, np.inf) if box is None else box.upper
        return cls(penalty.l1_weights(p), l2, lo, hi, box)

    def value(self, w: np.ndarray) -> float:
        return 0.5 * _dot(self.l2 * w, w) + _dot(self.l1, np.abs(w))


class CDProblem:
    """The data of a fit as the engine sees it (sample weights folded into sn, sk)."""

    def __init__(self, design: Design, sn: np.ndarray, sk: np.ndarray,
                 offset: Optional[np.ndarray], fit_intercept: bool, threads: int,
                 std: Standardization, columns: Optional[ColumnAccess] = None) -> None:
        self.design = design
        self.sn, self.sk, self.offset = sn, sk, offset
        self.fit_intercept = fit_intercept
        self.threads = threads
        self.std = std
        self.columns = ColumnAccess(design) if columns is None else columns
        self.scale = float(sn.sum())
        self.n_features = design.n_features
        self.n_pass = 0

    def full_pass(self, b: float, w: np.ndarray) -> Pass:
        g = np.empty(self.n_features)
        W, r = np.empty(self.design.n_rows), np.empty(self.design.n_rows)
        loss, sr, sw = _kernels.binomial_loss_grad(
            *self.design.kernel_args, self.sn, self.sk, self.offset,
            np.ascontiguousarray(w, dtype=np.float64), float(b), g, self.threads,
            self.design.unit_values, W, r)
        self.n_pass += 1
        return Pass(float(b), w, float(loss), float(sr), g, W, r, float(sw))

    def violations(self, ps: Pass, pen: PenaltyVectors, allowed: Optional[np.ndarray] = None
                   ) -> tuple[np.ndarray, float]:
        """Per-feature KKT violations and the KKT residual, scaled, standardised (over the
        ``allowed`` features only, when given: the others are held fixed)."""
        S = self.scale
        gb = ps.grad_b if self.fit_intercept else 0.0
        g = (ps.grad + pen.l2 * ps.w - self.std.mu * gb) / self.std.sd / S
        viol = kkt_violation(g, ps.w, pen.l1 / self.std.sd / S, pen.box)
        kkt = float(np.max(viol if allowed is None else viol[allowed], initial=0.0))
        if self.fit_intercept:
            kkt = max(kkt, abs(ps.grad_b) / S)
        return viol, kkt

    def solution(self, ps: Pass, pen: PenaltyVectors) -> Solution:
        viol, kkt = self.violations(ps, pen)
        return Solution(float(ps.b), ps.w.copy(), ps.loss + pen.value(ps.w), ps.loss, kkt,
                        viol, ps.grad + pen.l2 * ps.w)


@dataclass(frozen=True)
class CDOutcome:
    solution: Solution
    n_iter: int
    n_pass: int
    n_sweeps: int
    converged: bool
    message: str
    elapsed: float
    last_pass: Optional[Pass] = None  # the pass at the answer (IRLS weights, gradient)


# Armijo constant of the line search, and the rounding allowance of its test: near the
# optimum F changes by less than its own rounding error (~1e-16 relative per term summed).
_ARMIJO = 1e-4
_F_RTOL = 1e-13
_MIN_STEP = 1e-10


def solve(problem: CDProblem, pen: PenaltyVectors, b0: float, w0: np.ndarray,
          working: np.ndarray, allowed: np.ndarray, options: CDOptions,
          on_iteration: Optional[Callable[[int, Pass, float, float], bool]] = None,
          trusted_start: bool = False, first_pass: Optional[Pass] = None) -> CDOutcome:
    """Minimise F from (b0, w0) by proximal Newton with coordinate descent.

    ``working`` (bool, per feature) is the initial working set; features with
    ``allowed`` False are held at their start (which must be 0 or a bound) and never join.
    ``on_iteration(it, pass, F, kkt)`` returning True stops the fit (user callback).
    ``trusted_start``: the start is an exact optimum of a nearby problem (the null model
    at lam >= lam_max), accepted as it is when its KKT residual is within pgtol.
    ``first_pass``: the pass at exactly (b0, w0), when the caller has it (a path's previous
    answer), which saves one pass over X.
    """
    t0 = time.perf_counter()
    prob = problem
    passes_before = prob.n_pass
    S = prob.scale
    sd = prob.std.sd
    mu = prob.std.mu
    w = np.array(w0, dtype=np.float64)
    b = float(b0) if prob.fit_intercept else 0.0
    working = working & allowed
    working |= allowed & (w != 0)
    if first_pass is not None and first_pass.b == b and np.array_equal(first_pass.w, w):
        ps = first_pass
    else:
        ps = prob.full_pass(b, w)
    F = ps.loss + pen.value(w)
    last_step = 0.0 if trusted_start else np.inf
    sweeps_total = 0
    converged, message = False, "iteration limit reached"
    h = np.zeros(prob.n_features)
    sxw = np.zeros(prob.n_features)
    xm = np.zeros(prob.n_features)
    n_iter = 0
    for it in range(options.max_iter + 1):
        viol, kkt = prob.violations(ps, pen, allowed)
        working |= allowed & (viol > 0.1 * options.pgtol)
        if on_iteration is not None and on_iteration(it, ps, F, kkt):
            message = "stopped by the callback"
            break
        if options.done(kkt, last_step):
            converged, message = True, "KKT conditions hold"
            break
        if it == options.max_iter:
            break
        n_iter += 1
        ws = np.flatnonzero(working)
        _cd_kernels.column_weighted_sums(*prob.columns.args, ps.weight, ws, sxw, h,
                                         prob.columns.unit_values)
        if prob.fit_intercept and ps.sum_weight > 0:
            xm[ws] = sxw[ws] / ps.sum_weight
            h[ws] = np.maximum(h[ws] - sxw[ws] * xm[ws], 0.0)
            o = -ps.grad_b / ps.sum_weight
        else:
            xm[ws] = 0.0
            sxw[ws] = 0.0
            o = 0.0
        q = ps.resid.copy()
        w_new = w.copy()
        inner = options.inner_tolerance(kkt, S)
        o, sweeps, _, _ = _cd_kernels.cd_solve(
            *prob.columns.args, ps.weight, q, ws, w_new, h, sxw, xm, pen.l1, pen.l2,
            pen.lo, pen.hi, float(o), inner, options.max_sweeps, prob.columns.unit_values)
        sweeps_total += sweeps
        db = float(o) if prob.fit_intercept else 0.0
        dw = w_new - w
        if db == 0.0 and not np.any(dw):
            # the current point minimises its own model: optimal up to rounding
            converged = kkt <= options.pgtol
            message = ("KKT conditions hold (the Newton step is zero)" if converged else
                       "no progress: the Newton step is zero (rounding floor reached)")
            break
        delta = ps.grad_b * db + _dot(ps.grad, dw) + pen.value(w_new) - pen.value(w)
        t = 1.0
        while True:
            wt = w_new if t == 1.0 else w + t * dw
            pt = prob.full_pass(b + t * db, wt)
            Ft = pt.loss + pen.value(wt)
            if Ft <= F + _ARMIJO * t * min(delta, 0.0) + _F_RTOL * abs(F) or t < _MIN_STEP:
                break
            t *= 0.5
        if t < _MIN_STEP:
            # F no longer changes beyond its rounding error along the Newton direction
            converged = kkt <= options.pgtol
            message = ("KKT conditions hold (F at its rounding floor)" if converged else
                       "line search failed: no descent along the Newton direction")
            break
        vmax = max(float(np.max(np.abs(wt * sd), initial=0.0)), 1e-2)
        dv = t * max(float(np.max(np.abs(dw * sd), initial=0.0)), abs(db + _dot(mu, dw)))
        last_step = dv / vmax
        b, w, ps, F = b + t * db, wt, pt, Ft
    if converged:
        ps = _snap_zeros(prob, pen, ps, h, options.pgtol, allowed)
        ps = _newton_finish(prob, pen, ps, allowed, options.pgtol, prob.n_pass - passes_before)
    return CDOutcome(prob.solution(ps, pen), n_iter, prob.n_pass, sweeps_total, converged,
                     message, time.perf_counter() - t0, ps)


# A coefficient is put to exactly 0 at the end when the KKT violation that this leaves is
# below this fraction of pgtol (see _snap_zeros).
_SNAP_FRACTION = 1e-3


def _snap_zeros(prob: CDProblem, pen: PenaltyVectors, ps: Pass, h: np.ndarray,
                pgtol: float, allowed: np.ndarray) -> Pass:
    """Exact zeros for coefficients that rounding alone keeps away from 0.

    At a feature whose |gradient| equals its L1 weight (at lam_max the first feature to
    enter, at any lam a feature about to enter or leave), coordinate descent can leave
    a coefficient of the order of the rounding error. Setting w_j = 0 moves its gradient
    by about (h_j + l2_j) |w_j| (h_j: the loss's curvature along feature j), so when that
    is far below pgtol (per unit of sum(s n), standardised) the coefficient is zeroed;
    the zeros are kept only if a pass over X confirms the KKT residual stays within pgtol.
    """
    cand = (ps.w != 0) & (pen.l1 > 0) & allowed
    if pen.box is not None:
        cand &= pen.box.zero_feasible
    if not np.any(cand):
        return ps
    moved = (h + pen.l2) * np.abs(ps.w) / prob.std.sd / prob.scale
    cand &= moved <= _SNAP_FRACTION * pgtol
    if not np.any(cand):
        return ps
    w = ps.w.copy()
    w[cand] = 0.0
    snapped = prob.full_pass(ps.b, w)
    if prob.violations(snapped, pen, allowed)[1] <= pgtol:
        return snapped
    return ps


# At most this many exact Newton steps finish a fit (see _newton_finish); a step this small
# (relative to the largest coefficient) needs no successor.
_FINISH_STEPS = 3
_FINISH_RTOL = 1e-12


def _newton_finish(prob: CDProblem, pen: PenaltyVectors, ps: Pass, allowed: np.ndarray,
                   pgtol: float, passes: int) -> Pass:
    """Exact Newton steps on the nonzero features, their signs and the zeros held.

    The KKT residual bounds the error of the coefficients only through the conditioning of
    the problem: on collinear columns (star98 standardised, lam near 0) a point within
    pgtol can still be 4e-5 (relative) from the optimum. Once the sign pattern is known,
    the problem restricted to it is smooth, and Newton steps on its exact Hessian (the
    weighted Gram of the nonzero columns plus the ridge) square the error. They run when
    the Hessian is cheap (the rules of _polish: at most MAX_PARAMS parameters, and a Gram
    pass costing at most FRACTION of the passes the fit made, or tiny), and a step is kept
    only if it keeps every sign and bound, does not raise F beyond its rounding error and
    leaves the KKT residual within pgtol.
    """
    free = (ps.w != 0) & allowed & (ps.w > pen.lo) & (ps.w < pen.hi)
    A = np.flatnonzero(free)
    if not A.size or prob.n_features + 1 > MAX_PARAMS:
        return ps
    hessian, pass_work = hessian_work(prob.design)
    if hessian > max(TINY_WORK, FRACTION * passes * pass_work):
        return ps
    import scipy.linalg

    cols = A + 1 if not prob.fit_intercept else np.concatenate(([0], A + 1))
    lead = int(prob.fit_intercept)
    F = ps.loss + pen.value(ps.w)
    for _ in range(_FINISH_STEPS):
        H = weighted_gram(prob.design, ps.weight, True, prob.threads)[np.ix_(cols, cols)]
        H[lead:, lead:][np.diag_indices(A.size)] += pen.l2[A]
        g = ps.grad[A] + pen.l2[A] * ps.w[A] + pen.l1[A] * np.sign(ps.w[A])
        if prob.fit_intercept:
            g = np.concatenate(([ps.grad_b], g))
        try:
            d = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), g)
        except (np.linalg.LinAlgError, ValueError):
            return ps
        w = ps.w.copy()
        w[A] += d[lead:]
        if (np.any(np.sign(w[A]) != np.sign(ps.w[A])) or np.any(w[A] < pen.lo[A])
                or np.any(w[A] > pen.hi[A]) or not np.all(np.isfinite(d))):
            return ps
        new = prob.full_pass(ps.b + (float(d[0]) if lead else 0.0), w)
        F_new = new.loss + pen.value(w)
        if not F_new <= F + _F_RTOL * abs(F) or prob.violations(new, pen, allowed)[1] > pgtol:
            return ps
        ps, F = new, F_new
        if np.max(np.abs(d)) <= _FINISH_RTOL * max(np.max(np.abs(w)), 1.0):
            break
    return ps


def initial_working_set(problem: CDProblem, pen: PenaltyVectors, w: np.ndarray,
                        grad: Optional[np.ndarray], threshold: Optional[np.ndarray]
                        ) -> np.ndarray:
    """Nonzero and unpenalised features, and those whose |gradient| reaches ``threshold``
    (the strong rule's l1_ratio c_j (2 lam - lam_prev); with no gradient, none)."""
    keep = (w != 0) | (pen.l1 <= 0)
    if pen.box is not None:
        keep |= ~pen.box.zero_feasible
    if grad is not None and threshold is not None:
        need = np.abs(grad)
        if pen.box is not None:
            need = np.where(pen.box.lower == 0, np.maximum(-grad, 0.0), need)
            need = np.where(pen.box.upper == 0, np.maximum(grad, 0.0), need)
        keep |= need >= threshold
    return keep
