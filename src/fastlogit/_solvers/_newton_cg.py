"""Truncated Newton (line-search Newton-CG) with the Hessian-vector product kernel.

    minimise f(theta) = F / S in standardised coordinates (see _objective.py)
    step: solve H_theta d = -g approximately by conjugate gradients,
          H_theta v = J^T (X~^T D X~ + lam diag(0, c)) J v / S

No dense matrix is ever formed, so this is the second-order solver for wide
(sparse) problems. Per outer iteration: one pass for the Hessian weights D
(an O(n_rows) array, kept for all the products at that point), one pass per
CG step (``_hessian.weighted_hessp``: one dot and one axpy per row), and one
pass per trial point of the line search.

The inner CG stops at the relative residual eta = min(0.5, sqrt(||g||)) (the
forcing sequence of Nocedal & Wright, Numerical Optimization, Alg. 7.1,
which gives superlinear convergence), after at most ``MAX_CG`` steps, or on a
direction of non-positive curvature (possible only without a penalty, on
rank-deficient X). The outer loop backtracks (Armijo, halving) along the CG
direction. Standardised coordinates matter here: CG converges at a rate set by
the condition number of H_theta, which they improve (affine-invariant
``newton`` does not need them).

Stopping, as for L-BFGS-B: converged when max |g| <= pgtol, or when an
iteration lowers f by at most factr * eps * max(|f|, 1). A failed line search
counts as converged at the rounding floor of f (see _lbfgs.gradient_floor).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np

from fastlogit._solvers._base import Monitor, SolverOutcome
from fastlogit._solvers._descent import Direction, descend
from fastlogit._solvers._newton import refuse_bounds
from fastlogit.backend._curvature import Curvature

_ARMIJO = 1e-4
_MAX_HALVINGS = 40
#: Conjugate-gradient steps per Newton iteration at most (each is one pass over X).
MAX_CG = 200


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.add.reduce(a * b))


def truncated_cg(hessp: Callable[[np.ndarray], np.ndarray], g: np.ndarray, rtol: float,
                 max_steps: int) -> tuple[np.ndarray, int]:
    """Approximately solve H d = -g by conjugate gradients, starting at d = 0.

    Stops when ||H d + g|| <= rtol ||g||, after max_steps products, or on
    non-positive curvature, or curvature at rounding level relative to the
    largest seen (returns the current d, or -g if that is the first
    direction). Returns (d, number of Hessian-vector products).
    """
    d = np.zeros_like(g)
    r = g.copy()  # residual H d + g
    q = -r
    rr = _dot(r, r)
    target = (rtol ** 2) * rr
    largest = 0.0  # the largest Rayleigh quotient q.Hq / q.q seen: a scale for "flat"
    for step in range(1, max_steps + 1):
        hq = hessp(q)
        curv = _dot(q, hq)
        quotient = curv / _dot(q, q)
        largest = max(largest, quotient)
        if not quotient > 1e-12 * largest:  # non-positive (or rounding-level) curvature
            return (d if step > 1 else -g), step
        alpha = rr / curv
        d += alpha * q
        r += alpha * hq
        rr_new = _dot(r, r)
        if rr_new <= target:
            return d, step
        q = -r + (rr_new / rr) * q
        rr = rr_new
    return d, max_steps


def solve(objective: Any, theta0: np.ndarray, options: Any, monitor: Monitor) -> SolverOutcome:
    """The "newton-cg" solver."""
    refuse_bounds(options, "newton-cg")
    curvature = Curvature.from_objective(objective, "newton-cg")
    max_cg = max(1, min(MAX_CG, objective.n_params))

    def newton_direction(theta: np.ndarray, f: float, g: np.ndarray, t_last: Any) -> Direction:
        b, w = objective.split(theta)
        weights = curvature.weights(b, w)  # D at this point, kept for every CG product
        gnorm = float(np.sqrt(_dot(g, g)))
        step, n_products = truncated_cg(partial(curvature.hessp_theta, objective, weights), g,
                                        min(0.5, np.sqrt(gnorm)), max_cg)
        slope = _dot(g, step)
        if not slope < 0:  # rounding made the direction useless: fall back to -g
            step, slope = -g, -gnorm ** 2
        return Direction(d=step, slope=slope, t0=1.0, c=_ARMIJO, passes=1 + n_products)

    return descend(objective, theta0, options, monitor, newton_direction, _MAX_HALVINGS,
                   "line search", "the Newton-CG direction")
