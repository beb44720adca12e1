"""Newton's method (= IRLS for the logistic loss) with the full Hessian.

    F(b, w) = sum_i s_i [n_i log1pexp(z_i) - k_i z_i] + lam/2 sum_j c_j w_j^2
    step     = -H^{-1} g,    H = X~^T D X~ + lam diag(0, c)

Each iteration forms the Hessian in one compiled pass over X (O(nnz p) for
dense X, O(sum_i nnz_i^2) for sparse), factorises it (Cholesky of the
Jacobi-scaled matrix, O(p^3 / 3)) and takes the Newton step with step
halving. It works in the user's (b, w): Newton's method is invariant under
the affine map to standardised coordinates, so they would change nothing.

Step acceptance. A step t d is accepted when it lowers F by the Armijo
fraction 1e-4 t (g . H^{-1} g), halving t otherwise. Close to the optimum the
decrease a Newton step brings (about g . H^{-1} g / 2) falls below the
rounding error of F itself, while the step still cuts the error of the
coefficients quadratically. There a step is also accepted when F stays
within its rounding error (8 eps sqrt(n_rows) |F|: the loss is a sum of
non-negative terms) *and* the largest gradient entry falls. So F never
increases beyond rounding, and the coefficients reach machine precision.

Stopping. ``ftol = factr * eps``: after a step whose Newton decrement
g . H^{-1} g / 2 (the predicted decrease of F / S) is at most
ftol * max(|F / S|, 1), the fit has converged: that step has reduced the
error of the coefficients to about the square of what it was. ``pgtol``
stops before forming a Hessian when max |dF/dtheta| / S <= pgtol, the
gradient in standardised coordinates that L-BFGS-B also tests.
``newton_polish`` is the same loop for a few steps from any (b, w), e.g. the
answer of L-BFGS-B.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import single_threaded_blas
from fastlogit._solvers._base import Monitor, SolverOutcome
from fastlogit.backend._curvature import Curvature, check_hessian_size, regularised_factor

_EPS = float(np.finfo(np.float64).eps)
_ARMIJO = 1e-4
_MAX_HALVINGS = 40

#: Largest n_features solver="newton" accepts: its Hessian is then 200 MB and a
#: Cholesky factorisation about 4e10 flops per iteration. Beyond, use "newton-cg".
NEWTON_MAX_FEATURES = 5000


@dataclass(frozen=True)
class NewtonResult:
    """Where Newton's method stopped, in the user's parametrisation.

    ``fun`` is the unscaled F; ``grad_theta`` the gradient of F / S in the
    standardised coordinates of the objective (what ``pgtol`` tests);
    ``decrement`` the last Newton decrement g . H^{-1} g / 2 / S; ``n_fev``
    counts passes over X (objective evaluations and Hessians).
    """

    intercept: float
    coef: np.ndarray
    fun: float
    grad_theta: np.ndarray
    decrement: float
    n_iter: int
    n_fev: int
    converged: bool
    stopped_by_callback: bool
    message: str


def check_newton_size(n_features: int) -> None:
    """Refuse problems too wide for a dense Hessian per iteration, pointing to newton-cg."""
    if n_features > NEWTON_MAX_FEATURES:
        raise ValueError(
            f"solver='newton' forms and factorises a dense Hessian every iteration; X has "
            f"{n_features} features, above its limit of {NEWTON_MAX_FEATURES} "
            f"(a {n_features + 1} x {n_features + 1} Hessian is "
            f"{8 * (n_features + 1) ** 2 / 1e6:.0f} MB). Use solver='newton-cg' (Hessian-vector "
            "products, no dense matrix) or 'lbfgs'."
        )
    check_hessian_size(n_features + 1, "solver='newton'",
                       "Use solver='newton-cg' or 'lbfgs'.")


class BinomialView:
    """What Newton's method needs from the binomial objective, on the flat vector u of
    the user's parameters ([b, w...], or w alone without an intercept).

    Another model supplies the same five methods (join, split, value_grad, hessian,
    theta) and the attributes scale and n_rows: _multinomial_newton.MultinomialView.
    """

    def __init__(self, objective: Any, solver: str = "newton") -> None:
        self.objective = objective
        self.curvature = Curvature.from_objective(objective, solver)
        self.scale = objective.scale
        self.n_rows = objective.loss.n_rows
        self.fit_intercept = objective.fit_intercept

    def join(self, b: float, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64)
        return np.concatenate(([float(b)], w)) if self.fit_intercept else w.copy()

    def split(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        return (float(u[0]), u[1:]) if self.fit_intercept else (0.0, u)

    def value_grad(self, u: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(F, dF/du, dF/dtheta / S): the second for the step, the third for the tests."""
        b, w = self.split(u)
        f, gb, gw = self.objective.value_grad_user(b, w)
        g_user = np.concatenate(([gb], gw)) if self.fit_intercept else gw.copy()
        g = self.objective.std.grad_from_user(gb if self.fit_intercept else 0.0, gw)
        if self.fit_intercept:
            g = np.concatenate(([gb], g))
        return float(f), g_user, g / self.scale

    def hessian(self, u: np.ndarray, purpose: str) -> np.ndarray:
        b, w = self.split(u)
        return self.curvature.hessian(b, w, purpose)

    def theta(self, u: np.ndarray) -> np.ndarray:
        return self.objective.join(*self.split(u))


class _Point:
    """F and its gradient at u, with the gradient in theta for the stopping tests."""

    def __init__(self, view: Any, u: np.ndarray) -> None:
        self.u = np.array(u, dtype=np.float64)
        self.f, self.g_user, self.g_theta = view.value_grad(self.u)
        self.gmax = float(np.max(np.abs(self.g_theta), initial=0.0))


def _rounding(f: float, n_rows: int) -> float:
    """A bound on the rounding error of F: a sum of n_rows non-negative terms."""
    return 8.0 * _EPS * np.sqrt(max(n_rows, 1)) * abs(f)


def newton_polish(
    objective: Any, intercept: float, coef: np.ndarray, *, max_iter: int = 5,
    factr: float = 1.0, pgtol: float = 0.0, monitor: Optional[Any] = None,
) -> NewtonResult:
    """Newton steps on ``objective`` from (intercept, coef) until converged or max_iter.

    Parameters
    ----------
    objective : Objective
        The objective of _objective.py (L2 penalty only).
    intercept : float
        Starting b (ignored without an intercept).
    coef : ndarray of shape (n_features,)
        Starting w.
    max_iter : int, default 5
        Newton iterations (Hessians formed).
    factr : float, default 1.0
        Converged after a step whose Newton decrement (predicted decrease of
        F / S) is at most factr * eps * max(|F / S|, 1).
    pgtol : float, default 0.0
        Converged, before forming a Hessian, when max |dF/dtheta| / S <= pgtol.
    monitor : Monitor, optional
        Receives every iteration (verbose printing, user callback).

    Returns
    -------
    NewtonResult

    Raises
    ------
    ValueError
        For a penalty other than L2, or a Hessian above the memory limit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogit.backend._objective import BinomialLoss, L2Penalty, Objective, Standardization
    >>> from fastlogit._input._validate import as_design
    >>> loss = BinomialLoss(as_design(np.eye(2)), np.array([4.0, 4.0]), np.array([3.0, 1.0]),
    ...                     None, threads=1)
    >>> obj = Objective(loss, L2Penalty(0.1), Standardization.identity(2), fit_intercept=True)
    >>> res = newton_polish(obj, 0.0, np.zeros(2), max_iter=10)
    >>> res.converged, res.coef.round(4)
    (True, array([ 0.9728, -0.9728]))
    """
    view = BinomialView(objective)
    res, u = newton_refine(view, view.join(intercept, coef), max_iter=max_iter, factr=factr,
                           pgtol=pgtol, monitor=monitor)
    b, w = view.split(u)
    return replace(res, intercept=b, coef=np.array(w, dtype=np.float64))


def newton_refine(view: Any, u0: np.ndarray, *, max_iter: int, factr: float, pgtol: float,
                  monitor: Optional[Any]) -> tuple[NewtonResult, np.ndarray]:
    """Newton's method with step halving on the parameters u of ``view`` (see BinomialView).

    Returns the NewtonResult (its intercept and coef left for the caller to fill in from
    u) and the final u.
    """
    scale, n_rows = view.scale, view.n_rows
    ftol = factr * _EPS
    pt = _Point(view, u0)
    n_fev = 1
    decrement = np.inf
    converged, stopped, message = False, False, f"reached max_iter={max_iter}"
    if monitor is not None and monitor(0, view.theta(pt.u), pt.f / scale, pt.g_theta):
        stopped = True
    it = 0
    with single_threaded_blas():
        while not stopped and it < max_iter:
            if pt.gmax <= pgtol:
                converged, message = True, f"max |gradient| {pt.gmax:.2e} <= pgtol"
                break
            it += 1
            H = view.hessian(pt.u, "solver='newton'")
            n_fev += 1
            step = -regularised_factor(H).solve(pt.g_user)
            decrement = 0.5 * float(-pt.g_user @ step) / scale
            new, n_eval = _line_search(view, pt, step, decrement * scale, n_rows)
            n_fev += n_eval
            if new is None:
                floor = max(10.0 * _rounding(pt.f, n_rows), ftol * max(abs(pt.f), scale))
                converged = decrement * scale <= floor
                message = ("no step lowers the objective: at the rounding floor" if converged
                           else "step halving failed: no decrease along the Newton direction")
                break
            pt = new
            if monitor is not None and monitor(it, view.theta(pt.u), pt.f / scale, pt.g_theta):
                stopped = True
                break
            if decrement <= ftol * max(abs(pt.f) / scale, 1.0):
                converged = True
                message = f"Newton decrement {decrement:.2e} <= factr * eps"
                break
    if stopped:
        converged, message = False, "stopped by callback"
    res = NewtonResult(
        intercept=0.0, coef=np.empty(0), fun=pt.f, grad_theta=pt.g_theta, decrement=decrement,
        n_iter=it, n_fev=n_fev, converged=converged, stopped_by_callback=stopped,
        message=message,
    )
    return res, pt.u


def _line_search(view: Any, pt: _Point, step: np.ndarray, dec2: float, n_rows: int
                 ) -> tuple[Optional[_Point], int]:
    """Step halving from t = 1; dec2 = g . H^{-1} g / 2 (unscaled). (new point or None, evals)."""
    noise = _rounding(pt.f, n_rows)
    t = 1.0
    for n_eval in range(1, _MAX_HALVINGS + 1):
        new = _Point(view, pt.u + t * step)
        if np.isfinite(new.f):
            if new.f <= pt.f - _ARMIJO * t * 2.0 * dec2:
                return new, n_eval
            if new.f <= pt.f + noise and new.gmax < pt.gmax:
                return new, n_eval  # the rounding regime: F flat, the gradient still falls
        t *= 0.5
    return None, _MAX_HALVINGS


def solve(objective: Any, theta0: np.ndarray, options: Any, monitor: Monitor) -> SolverOutcome:
    """The "newton" solver: ``newton_polish`` run to convergence from theta0."""
    refuse_bounds(options, "newton")
    check_newton_size(objective.n_features)
    b, w = objective.split(theta0)
    res = newton_polish(objective, b, w, max_iter=options.max_iter, factr=options.factr,
                        pgtol=options.pgtol, monitor=monitor if monitor.active else None)
    return SolverOutcome(
        theta=objective.join(res.intercept, res.coef), fun=res.fun / objective.scale,
        grad=res.grad_theta, n_iter=res.n_iter, n_fev=res.n_fev, converged=res.converged,
        stopped_by_callback=res.stopped_by_callback, message=res.message,
    )


def refuse_bounds(options: Any, solver: str) -> None:
    """Bounds (L-BFGS-B only) are refused by the other solvers."""
    if getattr(options, "bounds", None) is not None:
        raise ValueError(f"solver={solver!r} does not support bounds; use solver='lbfgs'")
