"""What every solver shares: its outcome, per-iteration reporting, and dispatch by name.

A solver is a function ``solve(objective, theta0, options, monitor) -> SolverOutcome``
that minimises ``objective(theta) -> (f, g)`` (F / S in standardised
coordinates, see _objective.py). Each lives in a file of its own.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np


class ConvergenceWarning(UserWarning):
    """A solver stopped before its convergence test held (iteration limit, failed line search)."""


@dataclass(frozen=True)
class IterationInfo:
    """What ``verbose`` prints and ``callback`` receives after each iteration."""

    iteration: int
    objective: float  # unscaled F at the current iterate
    grad_norm: float  # max |dF/dtheta| / S in standardised coordinates (what pgtol tests)
    elapsed: float  # seconds since the solver started
    intercept: float
    coef: np.ndarray


@dataclass(frozen=True)
class SolverOutcome:
    theta: np.ndarray
    fun: float  # F / S at theta
    grad: np.ndarray  # its gradient
    n_iter: int
    n_fev: int
    converged: bool
    stopped_by_callback: bool
    message: str


class Monitor:
    """Turns solver iterations into verbose lines and user-callback calls.

    The user callback receives an IterationInfo; returning True stops the fit.
    """

    def __init__(self, objective: Any, callback: Optional[Callable[[IterationInfo], Any]],
                 verbose: bool, stream: Any = None) -> None:
        self.objective = objective
        self.callback = callback
        self.verbose = bool(verbose)
        self.stream = stream
        self.start = time.perf_counter()
        self.stop_requested = False

    @property
    def active(self) -> bool:
        return self.verbose or self.callback is not None

    def __call__(self, iteration: int, theta: np.ndarray, fun: float, grad: np.ndarray) -> bool:
        """Report one iteration; True when the user callback asks to stop."""
        if not self.active:
            return False
        b, w = self.objective.split(theta)
        info = IterationInfo(
            iteration=iteration,
            objective=fun * self.objective.scale,
            grad_norm=float(np.max(np.abs(grad), initial=0.0)),
            elapsed=time.perf_counter() - self.start,
            intercept=float(b),
            coef=np.array(w, copy=True),
        )
        if self.verbose:
            out = self.stream if self.stream is not None else sys.stdout
            if iteration == 0:
                print(f"{'iter':>6} {'objective':>16} {'|grad|':>11} {'time':>9}", file=out)
            print(f"{info.iteration:6d} {info.objective:16.9e} {info.grad_norm:11.3e} "
                  f"{info.elapsed:8.2f}s", file=out, flush=True)
        if self.callback is not None and self.callback(info) is True:
            self.stop_requested = True
        return self.stop_requested


# What each solver can handle beyond a smooth unconstrained objective: "l1" (l1_ratio > 0,
# through the split-variable form of _constrained.py) and "bounds" (box constraints).
# A solver not listed here handles neither and is refused such problems.
SOLVER_SUPPORTS: dict[str, frozenset] = {"lbfgs": frozenset({"l1", "bounds"}),
                                          "cd": frozenset({"l1", "bounds"})}


def require_support(name: str, *, l1: bool, bounds: bool) -> None:
    """Raise if solver ``name`` cannot handle an L1 term or bounds that the fit asks for."""
    supports = SOLVER_SUPPORTS.get(name, frozenset())
    if l1 and "l1" not in supports:
        raise ValueError(
            f"solver={name!r} needs a smooth objective and cannot fit an L1 / elastic-net "
            f"penalty (l1_ratio > 0). Use solver='cd' (coordinate descent, the default for "
            "L1), solver='lbfgs' (L1 through bound constraints) or l1_ratio=0."
        )
    if bounds and "bounds" not in supports:
        raise ValueError(
            f"solver={name!r} cannot handle coefficient bounds; use solver='cd', "
            "solver='lbfgs' or bounds=None."
        )


class ContinuedMonitor:
    """A monitor for a restarted solve: iteration numbers continue from ``offset``, and the
    restart's iteration 0 (the previous run's last iterate) is not reported again."""

    def __init__(self, monitor: Any, offset: int) -> None:
        self.monitor = monitor
        self.offset = offset

    @property
    def active(self) -> bool:
        return bool(self.monitor.active)

    @property
    def stop_requested(self) -> bool:
        return bool(self.monitor.stop_requested)

    def __call__(self, iteration: int, theta: np.ndarray, fun: float, grad: np.ndarray) -> bool:
        if iteration == 0:
            return self.stop_requested
        return bool(self.monitor(iteration + self.offset, theta, fun, grad))
