"""Plain full-batch gradient descent with backtracking: the textbook method.

    minimise f(theta) = F / S in standardised coordinates (see _objective.py)
    theta <- theta - t g,   t halved until f(theta - t g) <= f - t/2 ||g||^2

It is here for teaching and as an independent reference, not for speed: the
error shrinks by about (1 - 1/kappa) per iteration, kappa the condition
number of the Hessian, so an ordinary problem needs hundreds to thousands of
iterations where L-BFGS-B needs tens and Newton a handful. The standardised
coordinates are its only preconditioning (they cut kappa a lot on data whose
columns differ in scale); on badly conditioned problems expect it to hit
``max_iter`` and say so with a ConvergenceWarning.

The step: each iteration first tries twice the last accepted step, then
halves until the sufficient-decrease (Armijo) condition above holds. That
keeps t near the largest stable step 1/L without knowing the Lipschitz
constant L, at one or two passes over X per iteration.

Stopping, as for L-BFGS-B: converged when max |g| <= pgtol, or when an
iteration lowers f by at most factr * eps * max(|f|, 1) (on a slowly
converging problem that can happen far from the optimum: lower factr, or
use another solver). A failed backtracking counts as converged at the
rounding floor of f.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastlogit._lbfgs import gradient_floor
from fastlogit._newton import refuse_bounds
from fastlogit._solvers import Monitor, SolverOutcome

_EPS = float(np.finfo(np.float64).eps)
_MAX_HALVINGS = 60
_MAX_STEP = 1e6


def solve(objective: Any, theta0: np.ndarray, options: Any, monitor: Monitor) -> SolverOutcome:
    """The "gd" solver."""
    refuse_bounds(options, "gd")
    ftol = options.factr * _EPS
    theta = np.array(theta0, dtype=np.float64)
    f, g = objective(theta)
    t = 1.0
    converged, message = False, f"reached max_iter={options.max_iter}"
    stopped = monitor(0, theta, f, g)
    it = 0
    while not stopped and it < options.max_iter:
        gmax = float(np.max(np.abs(g), initial=0.0))
        if gmax <= options.pgtol:
            converged, message = True, f"max |gradient| {gmax:.2e} <= pgtol"
            break
        it += 1
        gg = float(np.add.reduce(g * g))
        t = min(2.0 * t, _MAX_STEP)
        for _ in range(_MAX_HALVINGS):
            f_new, g_new = objective(theta - t * g)
            if f_new <= f - 0.5 * t * gg:
                break
            t *= 0.5
        else:
            converged = gmax <= max(options.pgtol, gradient_floor(f))
            message = ("backtracking at the rounding floor" if converged
                       else "backtracking failed: no decrease along the gradient")
            break
        theta = theta - t * g
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
        theta=theta, fun=float(f), grad=g, n_iter=it, n_fev=objective.n_fev,
        converged=bool(converged), stopped_by_callback=stopped, message=message,
    )
