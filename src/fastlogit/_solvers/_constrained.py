"""L1 and coefficient bounds for a bound-constrained smooth solver (L-BFGS-B).

    minimise  G(b, w) + sum_j a_j |w_j|   subject to  lower_j <= w_j <= upper_j

where G = loss + ridge part is smooth and a_j = lam * l1_ratio * c_j. Two exact smooth
reformulations with bounds only, chosen per feature:

* split (features at 0, sign unknown): w_j = w+_j - w-_j with w+_j, w-_j >= 0 and the
  penalty a_j (w+_j + w-_j). At the minimiser w+_j w-_j = 0 whenever a_j > 0 (lowering both
  by min(w+_j, w-_j) leaves G unchanged and lowers the penalty), so the penalty is
  a_j |w_j| there and the solution is that of the original problem.
* orthant (features with a known sign s_j): one variable with s_j w_j >= 0 and the linear
  penalty a_j s_j w_j, which equals a_j |w_j| on that orthant.

Both are minimised exactly by L-BFGS-B. A minimiser of the reformulated problem solves the
original one when the KKT conditions of the original hold there; they can fail only for an
orthant feature stopped at 0 that would cross to the other sign. ``solve_and_finish``
checks, and restarts with such features split. Orthant variables halve the problem size
on warm starts (a path, a restart) and, unlike a split pair, have curvature in every
direction: a split pair has none along w+ + w-, which can stall L-BFGS-B.

``SplitObjective`` presents this problem to the solver in the standardised coordinates
of ``Objective`` (v = w * sd, see _objective.py): theta = [b', v_A, u], where A is the
working set of features being optimised (all by default; the path keeps the others at 0
and checks them afterwards), v_A holds w+ for the split features and w for the others,
and u holds w- of the split features. A positive column scaling keeps the structure:
|w_j| = |v_j| / sd_j and the bounds on w_j become bounds on v_j = w_j sd_j.

``finish`` turns the solver's answer into the reported one: coefficients at a bound put
exactly on it, coefficients the optimality conditions send to 0 set exactly to 0 (kept
only if that does not make the answer worse), and the KKT residual measured at exactly
the reported point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Union

import numpy as np

from fastlogit._penalties._penalties import Box, kkt_violation
from fastlogit._solvers._base import ContinuedMonitor, SolverOutcome
from fastlogit._solvers._lbfgs import projected_gradient
from fastlogit.backend._objective import Objective, _dot


class SplitObjective:
    """F / S over theta = [b', v_A, u] for a solver that handles bounds.

    Parameters
    ----------
    base : Objective
        The smooth part (loss and ridge penalty) in standardised coordinates.
    l1 : ndarray of shape (n_features,)
        L1 weights a_j in the user's parametrisation (0 for none).
    box : Box or None
        Bounds on w in the user's parametrisation.
    active : ndarray of int, optional
        The working set: features outside it are held at w_j = 0 (0 must be feasible for
        them). Default: every feature.
    signs : ndarray of shape (n_features,), optional
        Known signs (+1, -1) of L1 features, which get one orthant-constrained variable;
        0 (and the default) splits a feature into w+ and w-.
    """

    def __init__(self, base: Objective, l1: np.ndarray, box: Optional[Box],
                 active: Optional[np.ndarray] = None,
                 signs: Optional[np.ndarray] = None) -> None:
        p = base.n_features
        self.base = base
        self.box = box
        self.fit_intercept = base.fit_intercept
        self.scale = base.scale
        self.n_features = p
        self.l1 = l1
        self._off = int(base.fit_intercept)
        self.active = np.arange(p) if active is None else np.asarray(active, dtype=np.intp)
        self._all_active = self.active.shape[0] == p
        sd = base.std.sd
        # the L1 weight per unit of v_j in the scaled objective F / S
        self.cost = l1 / sd / self.scale
        cost_a = self.cost[self.active]
        sign_a = (np.zeros(self.active.shape[0]) if signs is None
                  else np.sign(signs[self.active]))
        has_l1 = cost_a > 0
        self._split = np.flatnonzero(has_l1 & (sign_a == 0))  # positions in A with a w- part
        self._split_cost = cost_a[self._split]
        self._orth_neg = np.flatnonzero(has_l1 & (sign_a < 0))
        self._l1_pos = np.flatnonzero(has_l1)
        # linear L1 coefficient of each v_A variable: +cost (w+ or positive orthant),
        # -cost (negative orthant), 0 (no L1 term)
        self._lin = np.where(has_l1, np.where(sign_a < 0, -cost_a, cost_a), 0.0)
        self.bounds = self._theta_bounds(sd)

    @property
    def n_params(self) -> int:
        return self._off + self.active.shape[0] + self._split.shape[0]

    @property
    def n_fev(self) -> int:
        return self.base.n_fev

    def _theta_bounds(self, sd: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
        off, n_a = self._off, self.active.shape[0]
        lb = np.full(self.n_params, -np.inf)
        ub = np.full(self.n_params, np.inf)
        if self.box is not None:
            lb[off:off + n_a] = (self.box.lower * sd)[self.active]
            ub[off:off + n_a] = (self.box.upper * sd)[self.active]
        pos = off + self._l1_pos  # w+ parts and positive orthants: [max(lo, 0), max(hi, 0)]
        neg = off + self._orth_neg  # negative orthants: [min(lo, 0), min(hi, 0)]
        lo_neg, hi_neg = np.minimum(lb[neg], 0.0), np.minimum(ub[neg], 0.0)
        s = off + self._split
        lo_s, hi_s = lb[s].copy(), ub[s].copy()
        lb[pos], ub[pos] = np.maximum(lb[pos], 0.0), np.maximum(ub[pos], 0.0)
        lb[neg], ub[neg] = lo_neg, hi_neg
        lb[off + n_a:], ub[off + n_a:] = np.maximum(-hi_s, 0.0), np.maximum(-lo_s, 0.0)  # w-
        if np.all(np.isinf(lb)) and np.all(np.isinf(ub)):
            return None  # unbounded: spare L-BFGS-B its per-variable bound handling
        return lb, ub

    def _base_theta(self, theta: np.ndarray) -> np.ndarray:
        """theta -> the base objective's [b', v] (v = v+ - v- on split features)."""
        off, n_a = self._off, self.active.shape[0]
        v = theta[off:off + n_a].copy()
        v[self._split] -= theta[off + n_a:]
        if self._all_active:
            return np.concatenate((theta[:off], v))
        t = np.zeros(off + self.n_features)
        t[:off] = theta[:off]
        t[off + self.active] = v
        return t

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        off, n_a = self._off, self.active.shape[0]
        f, g = self.base(self._base_theta(theta))
        g_a = g[off:] if self._all_active else g[off + self.active]
        out = np.empty(self.n_params)
        out[:off] = g[:off]
        out[off:off + n_a] = g_a + self._lin
        out[off + n_a:] = self._split_cost - g_a[self._split]
        f += _dot(self._lin, theta[off:off + n_a]) + _dot(self._split_cost, theta[off + n_a:])
        return f, out

    def with_signs(self, w: np.ndarray) -> SplitObjective:
        """The same problem with the orthant of each nonzero coefficient of w fixed."""
        return SplitObjective(self.base, self.l1, self.box,
                              None if self._all_active else self.active, np.sign(w))

    def smooth_gradient(self, grad: np.ndarray) -> np.ndarray:
        """The smooth part's gradient on v_A, from a gradient this objective returned."""
        off, n_a = self._off, self.active.shape[0]
        return grad[off:off + n_a] - self._lin

    def split(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """theta -> (b, w) in the user's parametrisation."""
        return self.base.split(self._base_theta(theta))

    def join(self, b: float, w: np.ndarray) -> np.ndarray:
        """(b, w) -> theta (w restricted to the working set, projected onto the bounds)."""
        off = self._off
        t = self.base.join(b, w)
        v = t[off + self.active]
        u = np.maximum(-v[self._split], 0.0)
        theta = np.concatenate((t[:off], v, u))
        if self.bounds is not None:  # also cuts v to w+ on split features, orthants to 0
            np.clip(theta, self.bounds[0], self.bounds[1], out=theta)
        else:
            theta[off + self._split] = np.maximum(theta[off + self._split], 0.0)
        return theta

    def initial_theta(self) -> np.ndarray:
        """Zero coefficients (their nearest feasible value under bounds), the intercept at
        the pooled log-odds."""
        t0 = self.base.initial_theta()
        b0 = float(t0[0]) if self.fit_intercept else 0.0
        w0 = np.zeros(self.n_features) if self.box is None else self.box.clip(
            np.zeros(self.n_features))
        return self.join(b0, w0)

    def projected_gradient_norm(self, theta: np.ndarray, g: np.ndarray) -> float:
        """max_j |theta_j - P(theta_j - g_j)|, L-BFGS-B's measure of stationarity."""
        return float(np.max(np.abs(projected_gradient(theta, g, self.bounds)), initial=0.0))


@dataclass(frozen=True)
class Solution:
    """The reported answer of one fit, in the user's parametrisation.

    objective and loss are unscaled (loss: without any penalty); grad_norm is the KKT
    residual max(|dF/db|, max_j violation_j) / S in standardised coordinates. When the
    full gradient was evaluated (split form), violation holds the per-feature residuals
    (same units) and grad the gradient dG/dw of the smooth part (loss + ridge), unscaled,
    in the user's parametrisation.
    """

    intercept: float
    coef: np.ndarray
    objective: float
    loss: float
    grad_norm: float
    violation: Optional[np.ndarray] = None
    grad: Optional[np.ndarray] = None


# Restarts of the solver from the cleaned-up answer (see solve_and_finish), at most.
MAX_RESTARTS = 10


def solve_and_finish(solve: Callable[..., SolverOutcome], objective: Any,
                     theta0: np.ndarray, options: Any, monitor: Any,
                     tol: Callable[[SolverOutcome], float]) -> tuple[SolverOutcome, Solution]:
    """Run the solver, then ``finish``; in the split form, restart while the KKT residual is
    above ``tol(outcome)`` and falling, with every nonzero coefficient in its orthant and
    every zero one split.

    A restart is needed when an orthant feature stopped at 0 would cross to the other sign,
    and when L-BFGS-B stalls on split pairs: their direction w+ + w- has no curvature, and
    variables crawling towards a bound limit the line search to tiny steps, so its
    relative-reduction test can fire well before the KKT conditions hold (seen: residual
    1.4e-4 at factr=10 on a 500 x 6 lasso at small lam, all features split). The restart,
    from the cleaned-up answer with a fresh curvature memory, resolves both.
    """
    out = solve(objective, theta0, options, monitor)
    sol = finish(objective, out, tol(out))
    if not isinstance(objective, SplitObjective):
        return out, sol
    n_iter = out.n_iter
    for _ in range(MAX_RESTARTS):
        budget = options.max_iter - n_iter
        if not out.converged or sol.grad_norm <= tol(out) or budget < 1:
            break
        objective = objective.with_signs(sol.coef)
        if hasattr(monitor, "objective"):
            monitor.objective = objective  # it maps theta back to (b, w)
        theta = objective.join(sol.intercept, sol.coef)
        again = solve(objective, theta, replace(options, max_iter=budget,
                                                bounds=objective.bounds),
                      ContinuedMonitor(monitor, n_iter))
        sol_again = finish(objective, again, tol(again))
        n_iter += again.n_iter
        better = sol_again.objective < sol.objective - 1e-12 * abs(sol.objective)
        progress = sol_again.grad_norm < 0.5 * sol.grad_norm
        if better or progress:
            out, sol = again, sol_again
        if not (better or progress):
            break
    return replace(out, n_iter=n_iter, n_fev=objective.n_fev), sol


def finish(objective: Union[Objective, SplitObjective], out: SolverOutcome,
           tol: float) -> Solution:
    """The reported answer: see the module docstring. ``tol`` is the KKT level the fit
    aimed at; zeroing is kept only if it leaves the residual within max(tol, before)."""
    if not isinstance(objective, SplitObjective):
        b, w = objective.split(out.theta)
        f = out.fun * objective.scale
        ridge, _ = objective.penalty.value_grad(w)
        return Solution(float(b), np.array(w, dtype=np.float64), f, f - ridge,
                        float(np.max(np.abs(out.grad), initial=0.0)))
    b, w = objective.split(out.theta)
    if objective.box is not None:
        w = objective.box.snap(w)
    zeroed = _zero_by_kkt(objective, out, w)
    if zeroed is not None:
        sol = _evaluate(objective, b, zeroed)
        before = objective.projected_gradient_norm(out.theta, out.grad)
        f_scaled = sol.objective / objective.scale
        if (f_scaled <= out.fun + 1e-12 * max(1.0, abs(out.fun))
                and sol.grad_norm <= max(tol, before)):
            return sol
    return _evaluate(objective, b, w)


# Curvature of F / S along one standardised coordinate: sum_i s_i n_i p_i (1 - p_i) x~_ij^2 / S
# <= 1/4, since a standardised column has unit weighted mean square (plus the ridge term).
_MAX_CURVATURE = 0.25


def _zero_by_kkt(objective: SplitObjective, out: SolverOutcome,
                 w: np.ndarray) -> Optional[np.ndarray]:
    """w with exact zeros where the optimality conditions put them, or None when no nonzero
    coefficient qualifies.

    Zero is optimal for feature j (the others held) when the smooth gradient *at v_j = 0*
    satisfies |g_j(0)| <= a_j. From the gradient at the current v_j, with the curvature
    along v_j at most L_j, |g_j(0)| <= |g_j| + L_j |v_j|; a coefficient is zeroed when that
    bound is within a_j. (At a nonzero optimum |g_j| = a_j exactly, so optimal coefficients
    never qualify.) The caller re-evaluates and keeps the zeros only if nothing got worse.
    """
    l1_pos = objective._l1_pos
    g_smooth = objective.smooth_gradient(out.grad)[l1_pos]
    feats = objective.active[l1_pos]
    sd = objective.base.std.sd[feats]
    ridge = objective.base.penalty
    ridge_curv = ridge.lam * (1.0 if ridge.factor is None else ridge.factor[feats])
    curvature = _MAX_CURVATURE + ridge_curv / sd ** 2 / objective.scale
    bound = np.abs(g_smooth) + curvature * np.abs(w[feats] * sd)
    cand = (w[feats] != 0) & (bound <= objective.cost[feats])
    if objective.box is not None:
        cand &= objective.box.zero_feasible[feats]
    if not np.any(cand):
        return None
    w = w.copy()
    w[feats[cand]] = 0.0
    return w


def _evaluate(objective: SplitObjective, b: float, w: np.ndarray) -> Solution:
    """F, the smooth gradient and the KKT residual at exactly (b, w): one pass over X."""
    base = objective.base
    f_smooth, gb, gw = base.value_grad_user(b, w)
    base.n_fev += 1
    S = objective.scale
    g = base.std.grad_from_user(gb, gw) / S  # standardised coordinates, scaled
    viol = kkt_violation(g, w, objective.cost, objective.box)
    kkt = float(np.max(viol, initial=0.0))
    if objective.fit_intercept:
        kkt = max(kkt, abs(gb) / S)
    ridge, _ = base.penalty.value_grad(w)
    f = f_smooth + _dot(objective.l1, np.abs(w))
    return Solution(float(b), w, f, f_smooth - ridge, kkt, viol, gw)


def make_objective(base: Objective, l1: Optional[np.ndarray], box: Optional[Box],
                   active: Optional[np.ndarray] = None, start: Optional[np.ndarray] = None
                   ) -> Union[Objective, SplitObjective]:
    """The base objective when there is neither an L1 term nor a bound, else its split form
    (nonzero coefficients of ``start`` keep their orthant, see SplitObjective)."""
    if box is None and active is None and (l1 is None or not np.any(l1 > 0)):
        return base
    return SplitObjective(base, np.zeros(base.n_features) if l1 is None else l1, box, active,
                          None if start is None else np.sign(start))


def solver_bounds(objective: Any) -> Optional[tuple[np.ndarray, np.ndarray]]:
    return objective.bounds if isinstance(objective, SplitObjective) else None
