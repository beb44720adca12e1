"""The objective a solver sees, assembled from three small parts.

    F(b, w) = L(b, w) + P(w)
    L(b, w) = sum_i s_i [n_i log1pexp(z_i) - k_i z_i],   z_i = o_i + b + x_i . w
    P(w)    = lam * sum_j c_j w_j^2 / 2                     (L2; c = penalty_factor)

* ``BinomialLoss``: L and its gradient, one compiled pass over X per call.
* ``L2Penalty``: P and its gradient.
* ``Standardization``: virtual centring and scaling of the columns. Solvers
  work in theta = (b', v) with w = v / sd, b = b' - mu . w: each column is then
  centred and scaled to unit spread (weights s_i n_i) without touching X.
  This is a reparametrisation: the minimiser in (b, w) is unchanged, but the
  Hessian in theta is far better conditioned (about 5x fewer L-BFGS-B
  evaluations on sparse one-hot data).
* ``Objective``: F / S in theta, S = sum_i s_i n_i, so that tolerances mean the
  same at 100 rows and at 100 million. theta is [b', v] with the intercept
  first when fit_intercept, else v alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Protocol

import numpy as np

from fastlogit._core import _kernels
from fastlogit._input._validate import LAYOUT_CSR, Design

# A column whose weighted spread is below this fraction of its magnitude is
# treated as constant: it is neither centred nor scaled.
_CONSTANT_RTOL = 1e-7


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """a . b without BLAS: a threaded BLAS call leaves OpenBLAS workers spinning
    for ~0.1 s, stealing the cores from the next kernel call."""
    return float(np.add.reduce(a * b))


class BinomialLoss:
    """L(b, w) = sum_i [sn_i log1pexp(z_i) - sk_i z_i] with sn = s*n, sk = s*k."""

    def __init__(self, design: Design, sn: np.ndarray, sk: np.ndarray,
                 offset: Optional[np.ndarray], threads: int) -> None:
        self.design = design
        self.sn = sn
        self.sk = sk
        self.offset = offset
        self.threads = threads
        self._grad_w = np.empty(design.n_features, dtype=np.float64)

    @property
    def n_features(self) -> int:
        return self.design.n_features

    @property
    def n_rows(self) -> int:
        return self.design.n_rows

    @property
    def total_trials(self) -> float:
        """S = sum_i s_i n_i, the scale of the objective."""
        return float(self.sn.sum())

    @property
    def total_successes(self) -> float:
        """sum_i s_i k_i."""
        return float(self.sk.sum())

    def value_grad(self, b: float, w: np.ndarray) -> tuple[float, float, np.ndarray]:
        """(L, dL/db, dL/dw). The returned dL/dw is a buffer reused by the next call."""
        loss, grad_b = _kernels.binomial_loss_grad(
            *self.design.kernel_args, self.sn, self.sk, self.offset, w, float(b),
            self._grad_w, self.threads, self.design.unit_values,
        )
        return loss, grad_b, self._grad_w

    def linear_predictor(self, b: float, w: np.ndarray) -> np.ndarray:
        return linear_predictor(self.design, b, w, self.offset, self.threads)


def linear_predictor(design: Design, b: float, w: np.ndarray,
                     offset: Optional[np.ndarray], threads: int) -> np.ndarray:
    """z = offset + b + X w through the compiled kernel."""
    out = np.empty(design.n_rows, dtype=np.float64)
    _kernels.linear_predictor(*design.kernel_args, np.ascontiguousarray(w, dtype=np.float64),
                              float(b), offset, out, threads)
    return out


class L2Penalty:
    """P(w) = lam/2 * sum_j c_j w_j^2."""

    def __init__(self, lam: float, factor: Optional[np.ndarray] = None) -> None:
        self.lam = lam
        self.factor = factor

    def value_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        cw = self.lam * (w if self.factor is None else self.factor * w)
        return 0.5 * _dot(cw, w), cw


@dataclass(frozen=True)
class Standardization:
    """w = v / sd, b = b' - mu . w (mu = 0 and sd = 1 leave a column alone).

    ``var`` is each column's weighted variance (0 for a column left alone): the
    spread of the data alone, from which ``with_ridge`` rescales for a penalty.
    """

    mu: np.ndarray
    sd: np.ndarray
    var: Optional[np.ndarray] = None

    @classmethod
    def identity(cls, n_features: int) -> Standardization:
        return cls(np.zeros(n_features), np.ones(n_features))

    def with_ridge(self, ridge: Optional[np.ndarray]) -> Standardization:
        """Scale each column to unit *curvature* rather than unit spread: sd_j^2 = var_j +
        ridge_j, where ridge_j = lam c_j / (S q0) is the ridge penalty's curvature in the
        same units (q0 = p0 (1 - p0), the loss's curvature per unit variance at the
        start). For a column on which few rows are nonzero, the penalty dominates its
        curvature: scaling it by the spread of the data alone leaves that coordinate
        stiff (curvature lam c / (S sd^2) >> 1), and L-BFGS-B crawls (scikit-learn's raw
        digits: 1,000 iterations without converging). Columns left alone stay alone.
        """
        if ridge is None or self.var is None:
            return self
        moving = self.var > 0
        sd = np.where(moving, np.sqrt(self.var + ridge), self.sd)
        return Standardization(self.mu, sd, self.var)

    def without_ridge(self) -> Standardization:
        """The spread-of-the-data scaling that ``with_ridge`` started from (sqrt(var_j)
        is exactly the sd it replaced: the square root of a rounded square is exact)."""
        if self.var is None:
            return self
        return Standardization(self.mu, np.where(self.var > 0, np.sqrt(self.var), self.sd),
                               self.var)

    @classmethod
    def from_data(cls, design: Design, weight: np.ndarray, center: bool,
                  threads: int) -> Standardization:
        """Weighted column means and spreads (weights s_i n_i), two passes over X."""
        return cls.from_moments(
            lambda c: column_moments(design, weight, c, threads), float(weight.sum()),
            design.n_features, center,
        )

    @classmethod
    def from_moments(cls, moments: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                     total: float, n_features: int, center: bool) -> Standardization:
        """From ``moments(c) -> (sum_i s_i (x_ij - c_j), sum_i s_i (x_ij - c_j)^2)``.

        ``moments`` may sum over one block of rows (``column_moments``) or over
        many (the distributed path); ``total`` is sum_i s_i. Without an
        intercept the columns cannot be centred (there is nothing to absorb
        mu . w), so they are scaled by their weighted root mean square.
        """
        zero = np.zeros(n_features)
        sums = moments(zero)
        mu = sums[0] / total if center else zero
        # second pass about the mean: no cancellation for columns far from zero
        sq = moments(mu)[1] if center else sums[1]
        _check_moments_finite(sums[0], sums[1] + sq)
        sd = np.sqrt(np.maximum(sq, 0.0) / total)
        constant = sd <= _CONSTANT_RTOL * np.abs(mu)
        constant |= sd == 0.0
        mu = np.where(constant, 0.0, mu)
        sd = np.where(constant, 1.0, sd)
        return cls(mu, sd, np.where(constant, 0.0, sd * sd))

    def to_user(self, b_std: float, v: np.ndarray) -> tuple[float, np.ndarray]:
        w = v / self.sd
        return b_std - _dot(self.mu, w), w

    def from_user(self, b: float, w: np.ndarray) -> tuple[float, np.ndarray]:
        return b + _dot(self.mu, w), w * self.sd

    def grad_from_user(self, grad_b: float, grad_w: np.ndarray) -> np.ndarray:
        """Chain rule: dF/dv_j = (dF/dw_j - mu_j dF/db) / sd_j."""
        return (grad_w - self.mu * grad_b) / self.sd


def _check_moments_finite(s1: np.ndarray, s2: np.ndarray) -> None:
    """Refuse columns whose sums overflow float64 (entries beyond about 1e150 in absolute
    value: their squares do): their spread, and every curvature built from it, would be
    inf or NaN, and the fit would return NaN coefficients."""
    bad = ~(np.isfinite(s1) & np.isfinite(s2))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"column {j} of X holds values too large for float64 arithmetic: the sum of "
            f"their squares overflows (entries up to about 1e150 in absolute value are "
            f"supported). Divide that column by a power of ten; its coefficient scales by "
            f"the same factor."
        )


def ridge_curvature(penalty: L2Penalty, n_features: int, total: float, q: float
                    ) -> Optional[np.ndarray]:
    """The ridge's curvature per unit of the loss's, for Standardization.with_ridge.

    The loss's curvature along a column is about q (1/S) sum s n (x - mu)^2 = q var,
    with q = p (1 - p) at the starting rate p (binomial; a mean over the classes for the
    softmax; at least 1e-3); the ridge's is lam c / S. So ridge_j = lam c_j / (S q).
    """
    if penalty.lam <= 0.0:
        return None
    q = max(q, 1e-3)
    c = np.ones(n_features) if penalty.factor is None else np.asarray(penalty.factor, float)
    return penalty.lam * c / (total * q)


def column_moments(design: Design, weight: np.ndarray, center: np.ndarray,
                   threads: int, stored: Optional[list] = None) -> tuple[np.ndarray, np.ndarray]:
    """(sum_i s_i (x_ij - c_j), sum_i s_i (x_ij - c_j)^2) per column, over all entries.

    The kernel sums over stored entries; for CSR the implicit zeros (total
    weight sum(s) - stored weight per column) each add (0 - c_j) and (0 - c_j)^2.
    ``stored``: a list that receives the stored entries' weight per column (CSR), for
    callers that need it too, without another pass.
    """
    m = _kernels.weighted_column_moments(*design.kernel_args, weight, center, threads)
    if stored is not None:
        stored.append(m[2])
    s1, s2 = m[0], m[1]
    if design.layout == LAYOUT_CSR:
        missing = float(weight.sum()) - m[2]
        with np.errstate(over="ignore", invalid="ignore"):  # refused by the caller if inf
            s1 = s1 - missing * center
            s2 = s2 + missing * center * center
    return s1, s2


class Loss(Protocol):
    """What Objective needs from a loss: BinomialLoss (one block of rows in memory)
    or _dask_loss.DaskBinomialLoss (many blocks on Dask workers)."""

    @property
    def n_features(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def total_trials(self) -> float: ...
    @property
    def total_successes(self) -> float: ...
    def value_grad(self, b: float, w: np.ndarray) -> tuple[float, float, np.ndarray]: ...


class Objective:
    """F / S as a function of theta, for scipy's ``fun(theta) -> (f, g)`` contract."""

    def __init__(self, loss: Loss, penalty: L2Penalty, std: Standardization,
                 fit_intercept: bool) -> None:
        self.loss = loss
        self.penalty = penalty
        self.std = std
        self.fit_intercept = fit_intercept
        self.scale = loss.total_trials
        self.n_features = loss.n_features
        self.n_fev = 0

    @property
    def n_params(self) -> int:
        return self.n_features + int(self.fit_intercept)

    def split(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """theta -> (b, w) in the user's parametrisation."""
        if self.fit_intercept:
            return self.std.to_user(float(theta[0]), theta[1:])
        return 0.0, theta / self.std.sd

    def join(self, b: float, w: np.ndarray) -> np.ndarray:
        """(b, w) -> theta."""
        b_std, v = self.std.from_user(b, np.asarray(w, dtype=np.float64))
        return np.concatenate(([b_std], v)) if self.fit_intercept else v

    def value_grad_user(self, b: float, w: np.ndarray) -> tuple[float, float, np.ndarray]:
        """Unscaled F and its gradient (dF/db, dF/dw) in the user's parametrisation."""
        loss, gb, gw = self.loss.value_grad(b, w)
        pen, pgrad = self.penalty.value_grad(w)
        return loss + pen, gb, gw + pgrad

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = self.split(theta)
        f, gb, gw = self.value_grad_user(b, w)
        self.n_fev += 1
        g = self.std.grad_from_user(gb, gw)
        if self.fit_intercept:
            g = np.concatenate(([gb], g))
        return f / self.scale, g / self.scale

    def initial_theta(self) -> np.ndarray:
        """Zero coefficients; the intercept at the pooled log-odds sum(s k) / sum(s n)."""
        theta = np.zeros(self.n_params)
        if self.fit_intercept:
            theta[0] = pooled_log_odds(self.loss.total_successes, self.scale)
        return theta


def pooled_log_odds(successes: float, trials: float) -> float:
    """log(r / (1 - r)) of the pooled rate r = successes / trials, kept within 1e-10 of 0
    and 1: the intercept-only start of every solver."""
    rate = min(max(successes / trials, 1e-10), 1.0 - 1e-10)
    return float(np.log(rate / (1.0 - rate)))
