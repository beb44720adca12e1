"""Firth's bias-reduced logistic regression (Firth 1993; brglm2's ``type = "AS_mean"``).

For the logit link the mean bias-reducing adjusted score is the gradient of
the Jeffreys-prior penalised log-likelihood

    l*(theta) = l(theta) + 1/2 log det I(theta),   I = X~^T D X~,  D_ii = s_i n_i p_i (1 - p_i),

    U*_j = sum_i [s_i (k_i - n_i p_i) + h_i (1/2 - p_i)] x~_ij,

with h_i = D_ii x~_i^T I^{-1} x~_i the leverages. The estimate is finite even
when the data are separated. It is found by quasi-Fisher scoring,
theta <- theta + I^{-1} U*, with step halving on l* (which the steps
increase), from the intercept-only start. Inference is Wald's with
I(theta)^{-1}, as brglm2's summary reports it. Counts (n_i > 1), sample
weights and offsets are handled as in ``fastlogit.fit``.
"""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import Any, Optional

import numpy as np

from fastlogit._core import _special
from fastlogit._models._result import LogitResult
from fastlogit._models._robust import row_quadratic
from fastlogit._solvers._base import ConvergenceWarning
from fastlogit.backend._curvature import Curvature
from fastlogit.backend._objective import linear_predictor

FIRTH_MAX_PARAMS = 5000


def _loglik(sn: np.ndarray, sk: np.ndarray, z: np.ndarray) -> float:
    return float(np.sum(sk * z - sn * _special.log1pexp(z)))


class _Point:
    """Firth's iteration at one theta: the penalised log-likelihood from one Hessian and
    its factorisation; the modified score and the scoring step (two more passes over X
    and the inverse) only when asked, i.e. for the points the line search accepts."""

    def __init__(self, curv: Curvature, data: Any, sn: np.ndarray, sk: np.ndarray,
                 b: float, w: np.ndarray, intercept: bool, threads: int) -> None:
        from scipy.linalg import cho_factor

        self.b, self.w = b, w
        self._data, self._sn, self._sk, self._intercept = data, sn, sk, intercept
        self._z = linear_predictor(data.design, b, w, data.offset, threads)
        H = curv.hessian(b, w, "Firth's method", "Select or aggregate features first.")
        self._chol = cho_factor(H, lower=False, overwrite_a=True, check_finite=False)
        self.logdet = 2.0 * float(np.sum(np.log(np.diag(self._chol[0]))))
        self.loss = -_loglik(sn, sk, self._z)
        self.value = -self.loss + 0.5 * self.logdet

    @cached_property
    def score(self) -> np.ndarray:
        """U*(theta) = X~^T (k - n p + h (1/2 - p)), h the leverages."""
        from scipy.linalg import cho_solve

        sn, p = self._sn, _special.sigmoid(self._z)
        C = cho_solve(self._chol, np.eye(self._chol[0].shape[0]), check_finite=False)
        h = sn * p * (1.0 - p) * row_quadratic(self._data.design, C, self._intercept)
        r = self._sk - sn * p + h * (0.5 - p)
        g = np.asarray(self._data.design.matrix.T @ r).ravel()
        return np.concatenate(([r.sum()], g)) if self._intercept else g

    @cached_property
    def step(self) -> np.ndarray:
        """The scoring step I(theta)^-1 U*(theta)."""
        from scipy.linalg import cho_solve

        return cho_solve(self._chol, self.score, check_finite=False)


def fit_firth(data: Any, fit_intercept: bool, threads: int, max_iter: int = 100,
              tol: float = 1e-10, feature_names: Optional[tuple] = None,
              settings: Optional[dict] = None) -> Any:
    """Firth's estimate for validated training data: a ``LogitResult`` (solver "firth").

    Parameters
    ----------
    data : TrainingData
    fit_intercept : bool
    threads : int
    max_iter : int, default 100
        Scoring iterations.
    tol : float, default 1e-10
        Stop when every component of the scoring step is below tol * (1 + |theta_j|).
    feature_names : tuple of str, optional
    settings : dict, optional
        Extra entries for the result's ``settings``.

    Returns
    -------
    LogitResult

    Raises
    ------
    ValueError
        Beyond ``FIRTH_MAX_PARAMS`` parameters (a dense Hessian per iteration), or when the
        information matrix is singular (collinear columns).
    """

    design = data.design
    p = design.n_features
    P = p + int(fit_intercept)
    if P > FIRTH_MAX_PARAMS:
        raise ValueError(f"Firth's method needs a dense {P} x {P} information matrix per "
                         f"iteration; it is limited to {FIRTH_MAX_PARAMS} parameters")
    s = np.ones(design.n_rows) if data.sample_weight is None else data.sample_weight
    sn, sk = s * data.n, s * data.k
    curv = Curvature(design, sn, data.offset, threads, fit_intercept, np.zeros(p))
    rate = float(sk.sum() / sn.sum())
    b = float(np.log(rate / (1.0 - rate))) if fit_intercept and 0 < rate < 1 else 0.0
    w = np.zeros(p)

    def at(b: float, w: np.ndarray) -> _Point:
        try:
            return _Point(curv, data, sn, sk, b, w, fit_intercept, threads)
        except np.linalg.LinAlgError:
            raise ValueError("the information matrix is singular: the design has collinear "
                             "columns (drop them) or a column of zeros") from None

    point = at(b, w)
    converged, n_iter, n_fev = False, 0, 1
    while n_iter < max_iter:
        n_iter += 1
        theta = np.concatenate(([point.b], point.w)) if fit_intercept else point.w
        step = point.step
        if np.all(np.abs(step) <= tol * (1.0 + np.abs(theta))):
            converged = True
            break
        t = 1.0
        while True:
            new = theta + t * step
            cand = at(*(float(new[0]), new[1:]) if fit_intercept else (0.0, new))
            n_fev += 1
            if cand.value >= point.value - 1e-12 * abs(point.value) or t < 1e-4:
                break
            t *= 0.5
        point = cand
    if not converged:
        warnings.warn(f"Firth's method did not converge in {max_iter} iterations (largest "
                      f"step {np.abs(point.step).max():.2e}); raise max_iter",
                      ConvergenceWarning, stacklevel=3)
    out = dict(settings or {})
    out.update(lam=0.0, l1_ratio=0.0, penalty_factor=None, bounds=None,
               fit_intercept=fit_intercept, solver="firth", method="firth", threads=threads,
               max_iter=max_iter)
    grad_norm = float(np.abs(point.score).max(initial=0.0) / sn.sum())
    return LogitResult(
        coef=np.asarray(point.w, dtype=np.float64), intercept=float(point.b),
        objective=float(point.loss), grad_norm=grad_norm, n_iter=n_iter, n_fev=n_fev,
        converged=converged,
        message="scoring step below tol" if converged else "max_iter reached",
        solver="firth", settings=out, n_rows=design.n_rows, n_features=p,
        feature_names=feature_names, _training=data)
