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

from typing import Any, Optional

import numpy as np

from fastlogit._solvers._base import Monitor, SolverOutcome
from fastlogit._solvers._descent import Direction, descend
from fastlogit._solvers._newton import refuse_bounds

_MAX_HALVINGS = 60
_MAX_STEP = 1e6


def _steepest(theta: np.ndarray, f: float, g: np.ndarray, t_last: Optional[float]) -> Direction:
    """-g, first trying twice the last accepted step (t = 1 before the first)."""
    gg = float(np.add.reduce(g * g))
    t0 = min(2.0 * (1.0 if t_last is None else t_last), _MAX_STEP)
    return Direction(d=-g, slope=-gg, t0=t0, c=0.5)


def solve(objective: Any, theta0: np.ndarray, options: Any, monitor: Monitor) -> SolverOutcome:
    """The "gd" solver."""
    refuse_bounds(options, "gd")
    return descend(objective, theta0, options, monitor, _steepest, _MAX_HALVINGS,
                   "backtracking", "the gradient")
