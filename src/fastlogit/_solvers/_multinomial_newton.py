"""Newton's method for the multinomial fit: the softmax Hessian, and the view that
_newton.newton_refine works on (the binomial one is _newton.BinomialView).

    H = sum_i s_i N_i (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T  +  lam on the diagonal of W

with the parameters ordered class by class, u = [b_0, w_0..., b_1, w_1..., ...]; the
loss's part comes from backend's softmax_hessian (K (K + 1) / 2 weighted Gram passes).

The symmetric parametrisation (all K classes, as scikit-learn) leaves the Hessian
singular along "every class shifted alike" where nothing is penalised (the intercepts;
W too when lam = 0). The gradient has no component along that direction, and
_curvature.regularised_factor's small ridge keeps the step bounded there, so the
answer is the same optimum; fit_multinomial centres it afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastlogit.backend._curvature import check_hessian_size, penalty_diagonal
from fastlogit.backend._softmax_objective import softmax_hessian


class MultinomialView:
    """What _newton.newton_refine needs from a MultinomialObjective (see BinomialView)."""

    def __init__(self, objective: Any) -> None:
        self.objective = objective
        self.loss = objective.loss
        self.K, self.p = objective.n_classes, objective.n_features
        self.fit_intercept = objective.fit_intercept
        self.P = self.p + int(self.fit_intercept)
        self.scale = objective.scale
        self.n_rows = self.loss.design.n_rows
        check_hessian_size(self.K * self.P, "the multinomial Newton polish",
                           "It is skipped for problems this wide.")
        # lam on W[j, a] (the penalty acts on W of shape (p, K), flattened)
        self.pen = penalty_diagonal(objective.penalty, self.p * self.K).reshape(self.p, self.K)
        self.row_totals = self.loss.row_totals()

    def join(self, b: np.ndarray, W: np.ndarray) -> np.ndarray:
        M = np.vstack((np.asarray(b, dtype=np.float64)[None, :], W)) if self.fit_intercept \
            else np.asarray(W, dtype=np.float64)
        return np.ascontiguousarray(M.T).reshape(-1)

    def split(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        M = u.reshape(self.K, self.P).T
        if self.fit_intercept:
            return M[0].copy(), np.ascontiguousarray(M[1:])
        return np.zeros(self.K), np.ascontiguousarray(M)

    def value_grad(self, u: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(F, dF/du, dF/dtheta / S), as BinomialView.value_grad."""
        b, W = self.split(u)
        f, gb, gW = self.objective.value_grad_user(b, W)
        g_user = self.join(gb, gW)
        std = self.objective.std
        gV = ((gW - std.mu[:, None] * gb[None, :]) / std.sd[:, None]).reshape(-1)
        g = np.concatenate((gb, gV)) if self.fit_intercept else gV
        return float(f), g_user, g / self.scale

    def hessian(self, u: np.ndarray, purpose: str) -> np.ndarray:
        b, W = self.split(u)
        loss = self.loss
        H = softmax_hessian(loss.design, b, W, loss.offset, self.row_totals, loss.threads)
        P = self.p + 1
        for a in range(self.K):
            idx = a * P + 1 + np.arange(self.p)
            H[idx, idx] += self.pen[:, a]
        if not self.fit_intercept:
            keep = np.ones(self.K * P, dtype=bool)
            keep[::P] = False
            H = H[np.ix_(keep, keep)]
        return H

    def theta(self, u: np.ndarray) -> np.ndarray:
        return self.objective.join(*self.split(u))
