"""The outer loop shared by the line-search solvers "gd" and "newton-cg".

Each iteration asks the solver's step rule for a descent direction d and its
slope g.d, then backtracks (halving t) until the Armijo condition

    f(theta + t d) <= f(theta) + c t (g . d)

holds. Stopping, as for L-BFGS-B: converged when max |g| <= pgtol, or when an
iteration lowers f by at most factr * eps * max(|f|, 1). A failed line search
counts as converged when the gradient is at the rounding floor of f (see
_lbfgs.gradient_floor), and as a failure otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from fastlogit._solvers._base import Monitor, SolverOutcome
from fastlogit._solvers._lbfgs import gradient_floor

_EPS = float(np.finfo(np.float64).eps)


@dataclass
class Direction:
    """A step rule's proposal: move along d, trying t = t0, t0/2, ... with Armijo constant c."""

    d: np.ndarray
    slope: float  # g . d < 0
    t0: float
    c: float
    passes: int = 0  # passes over X spent finding d (beyond objective evaluations)


def armijo(objective: Any, theta: np.ndarray, f: float, step: Direction, max_halvings: int
           ) -> Optional[tuple[float, float, np.ndarray]]:
    """(t, f(theta + t d), its gradient) for the first accepted t, or None after max_halvings."""
    t = step.t0
    for _ in range(max_halvings):
        f_new, g_new = objective(theta + t * step.d)
        if f_new <= f + step.c * t * step.slope:
            return t, f_new, g_new
        t *= 0.5
    return None


def descend(objective: Any, theta0: np.ndarray, options: Any, monitor: Monitor,
            direction: Callable[[np.ndarray, float, np.ndarray, Optional[float]], Direction],
            max_halvings: int, search: str, along: str) -> SolverOutcome:
    """Run the loop; direction(theta, f, g, t_last) proposes each step.

    search, along: words for the failure message ("backtracking", "the gradient").
    """
    ftol = options.factr * _EPS
    theta = np.array(theta0, dtype=np.float64)
    f, g = objective(theta)
    passes = 0
    t_last: Optional[float] = None
    converged, message = False, f"reached max_iter={options.max_iter}"
    stopped = monitor(0, theta, f, g)
    it = 0
    while not stopped and it < options.max_iter:
        gmax = float(np.max(np.abs(g), initial=0.0))
        if gmax <= options.pgtol:
            converged, message = True, f"max |gradient| {gmax:.2e} <= pgtol"
            break
        it += 1
        step = direction(theta, f, g, t_last)
        passes += step.passes
        accepted = armijo(objective, theta, f, step, max_halvings)
        if accepted is None:
            converged = gmax <= max(options.pgtol, gradient_floor(f))
            message = (f"{search} at the rounding floor" if converged
                       else f"{search} failed: no decrease along {along}")
            break
        t_last, f_new, g_new = accepted
        theta = theta + t_last * step.d
        f_old, f, g = f, f_new, g_new
        if monitor(it, theta, f, g):
            stopped = True
            break
        if f_old - f <= ftol * max(abs(f_old), abs(f), 1.0):
            converged, message = True, "relative decrease of the objective <= factr * eps"
            break
    if stopped:
        converged, message = False, "stopped by callback"
    return SolverOutcome(
        theta=theta, fun=float(f), grad=g, n_iter=it, n_fev=objective.n_fev + passes,
        converged=bool(converged), stopped_by_callback=stopped, message=message,
    )
