"""L-BFGS-B (scipy) on the objective F / S in standardised coordinates.

scipy's contract: ``fun(theta) -> (f, g)``, one compiled pass over X per call.
It stops when the relative decrease of f falls below ``factr * eps``
(scipy's ftol) or when ``max_j |g_j| <= pgtol``.

Near the optimum the line search can fail ("ABNORMAL") because the decrease
it looks for, about |g|^2 / (2 curvature), is below the rounding noise of f
(eps |f|). That happens at |g| of order sqrt(eps |f|), about 1e-8 for our
scaled f: the best an objective-driven method can do in double precision.
Such a stop counts as converged when |g| is within ``_FLOOR_FACTOR`` times
that floor; anywhere else it is a failure.

With bounds (``LbfgsOptions.bounds``, used for L1 and box constraints, see
_constrained.py) every gradient test uses the projected gradient
theta - P(theta - g), P the projection onto the box: its entries for variables
held at a bound by a gradient pointing outwards are 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from scipy.optimize import Bounds, minimize

from fastlogit._core._threads import single_threaded_blas
from fastlogit._solvers._base import Monitor, SolverOutcome

_EPS = np.finfo(np.float64).eps
_FLOOR_FACTOR = 10.0
_ABNORMAL = 2


def gradient_floor(f: float) -> float:
    """The gradient size below which a line search on f can no longer see a decrease."""
    return _FLOOR_FACTOR * float(np.sqrt(_EPS * max(abs(f), 1.0)))


@dataclass(frozen=True)
class LbfgsOptions:
    factr: float = 1e3
    pgtol: float = 1e-8
    max_iter: int = 1000
    memory: int = 10  # number of correction pairs (scipy's maxcor)
    bounds: Optional[tuple[np.ndarray, np.ndarray]] = None  # (lower, upper) on theta


class _Cache:
    """Remembers the last evaluation so that the per-iteration report costs nothing."""

    def __init__(self, objective: Any) -> None:
        self.objective = objective
        self.theta: Optional[np.ndarray] = None
        self.f = np.inf
        self.g: Optional[np.ndarray] = None

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = self.objective(theta)
        self.theta, self.f, self.g = theta.copy(), f, g
        return f, g

    def at(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        if self.theta is not None and np.array_equal(theta, self.theta):
            assert self.g is not None
            return self.f, self.g
        return self(theta)


def solve(objective: Any, theta0: np.ndarray, options: LbfgsOptions,
          monitor: Monitor) -> SolverOutcome:
    cache = _Cache(objective)
    iteration = [0]
    bounds = options.bounds
    if monitor.active:
        f0, g0 = cache(theta0)
        monitor(0, theta0, f0, projected_gradient(theta0, g0, bounds))

    def on_iteration(intermediate_result: Any) -> None:
        iteration[0] += 1
        if monitor.active:
            x = intermediate_result.x
            f, g = cache.at(x)
            if monitor(iteration[0], x, f, projected_gradient(x, g, bounds)):
                raise StopIteration

    with single_threaded_blas():
        res = _minimize(cache, theta0, options, on_iteration if monitor.active else None)
    f, g = cache.at(res.x)
    gnorm = float(np.max(np.abs(projected_gradient(res.x, g, bounds)), initial=0.0))
    message = str(res.message)
    converged = res.status == 0
    if res.status == _ABNORMAL and gnorm <= max(options.pgtol, gradient_floor(f)):
        converged = True
        message += f" (line search at the rounding floor, max |gradient| {gnorm:.2e})"
    if monitor.stop_requested:
        converged, message = False, "stopped by callback"
    return SolverOutcome(
        theta=res.x, fun=float(f), grad=g, n_iter=int(res.nit), n_fev=objective.n_fev,
        converged=bool(converged), stopped_by_callback=monitor.stop_requested, message=message,
    )


def projected_gradient(theta: np.ndarray, g: np.ndarray,
                       bounds: Optional[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """theta - P(theta - g): the gradient with the entries that push against an active bound
    removed (g itself without bounds)."""
    if bounds is None:
        return g
    return theta - np.clip(theta - g, bounds[0], bounds[1])


def _minimize(cache: _Cache, theta0: np.ndarray, options: LbfgsOptions, callback: Any) -> Any:
    bounds = None if options.bounds is None else Bounds(*options.bounds)
    return minimize(
        cache, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
        callback=callback,
        options={
            "ftol": options.factr * _EPS,
            "gtol": options.pgtol,
            "maxiter": options.max_iter,
            "maxfun": max(2 * options.max_iter, 100),
            "maxcor": options.memory,
        },
    )
