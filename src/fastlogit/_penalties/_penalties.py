"""Penalties and coefficient bounds: what they are, how they are checked, and their optimality.

    P(w) = lam * [ (1 - l1_ratio)/2 * sum_j c_j w_j^2  +  l1_ratio * sum_j c_j |w_j| ]
    lower_j <= w_j <= upper_j                     (c = penalty_factor; never on the intercept)

* ``ElasticNet`` is the penalty as a small object, in the manner of skglm: ``value(w)``;
  ``ridge``, its smooth part, an ``L2Penalty`` with ``value_grad(w)`` (all a smooth solver
  can use); ``l1_weights``, the per-feature weights a_j = lam * l1_ratio * c_j of its
  non-smooth part; ``is_smooth`` (no L1 term), which solvers that need a gradient
  everywhere check (they refuse l1_ratio > 0, see ``_solvers.require_support``).
* ``Box`` holds per-feature bounds.
* ``kkt_violation`` measures how far a point is from optimal: per feature, the distance
  from 0 of the subdifferential g_j + a_j d|w_j| + N_j(w_j) (g: gradient of the smooth
  part, N_j: the normal cone of [lower_j, upper_j]). It is 0 exactly at the minimiser.
* ``lam_max`` is the smallest lam at which every penalised coefficient is 0.

The input checks for ``l1_ratio``, ``penalty_factor`` and ``bounds`` live here too.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit.backend._objective import L2Penalty

# glmnet's convention for the default lam sequence of a pure ridge path: l1_ratio = 0 has no
# finite lam that zeroes the coefficients, so lam_max is taken at l1_ratio = 1e-3 instead.
RIDGE_L1_RATIO_FOR_LAM_MAX = 1e-3


@dataclass(frozen=True)
class ElasticNet:
    """P(w) = lam [(1 - l1_ratio)/2 sum d_j w_j^2 + l1_ratio sum c_j |w_j|].

    ``factor`` is c (None: all ones); ``l2_factor`` is d (None: d = c). They differ only
    for glmnet's standardised penalty (see ``standardized_factors``). The intercept is
    never penalised.
    """

    lam: float
    l1_ratio: float = 0.0
    factor: Optional[np.ndarray] = None
    l2_factor: Optional[np.ndarray] = None

    @property
    def ridge(self) -> L2Penalty:
        """The smooth part, lam (1 - l1_ratio)/2 sum d_j w_j^2."""
        d = self.factor if self.l2_factor is None else self.l2_factor
        return L2Penalty(self.lam * (1.0 - self.l1_ratio), d)

    def l1_weights(self, n_features: int) -> np.ndarray:
        """a_j = lam * l1_ratio * c_j, shape (n_features,)."""
        a = self.lam * self.l1_ratio
        if self.factor is None:
            return np.full(n_features, a)
        return a * self.factor

    @property
    def is_smooth(self) -> bool:
        """True when there is no L1 term (l1_ratio == 0, or lam == 0)."""
        return self.lam * self.l1_ratio == 0.0 or (
            self.factor is not None and not np.any(self.factor > 0))

    def value(self, w: np.ndarray) -> float:
        """P(w)."""
        c = 1.0 if self.factor is None else self.factor
        d = c if self.l2_factor is None else self.l2_factor
        ridge = 0.5 * (1.0 - self.l1_ratio) * float(np.sum(d * w * w))
        lasso = self.l1_ratio * float(np.sum(c * np.abs(w)))
        return self.lam * (ridge + lasso)


@dataclass(frozen=True)
class Box:
    """lower_j <= w_j <= upper_j; infinite entries are no bound."""

    lower: np.ndarray
    upper: np.ndarray

    def clip(self, w: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(w, self.lower), self.upper)

    def snap(self, w: np.ndarray) -> np.ndarray:
        """Clip, and put values within a few ulp of a bound exactly on it.

        The solver works on w * sd, and (bound * sd) / sd can miss the bound by an ulp;
        a coefficient at its bound is reported as exactly the bound.
        """
        w = self.clip(w)
        tol = 4 * np.finfo(np.float64).eps
        with np.errstate(invalid="ignore"):  # inf - inf for infinite bounds: no snapping
            near_lo = np.abs(w - self.lower) <= tol * np.abs(self.lower)
            near_hi = np.abs(w - self.upper) <= tol * np.abs(self.upper)
        near_lo &= np.isfinite(self.lower)
        near_hi &= np.isfinite(self.upper)
        return np.where(near_lo, self.lower, np.where(near_hi, self.upper, w))

    @property
    def zero_feasible(self) -> np.ndarray:
        """Per feature: lower <= 0 <= upper."""
        return (self.lower <= 0) & (self.upper >= 0)


def kkt_violation(grad: np.ndarray, w: np.ndarray, l1: Optional[np.ndarray],
                  box: Optional[Box]) -> np.ndarray:
    """Per feature, dist(0, grad_j + l1_j d|w_j| + N_[lower_j, upper_j](w_j)).

    ``grad`` is the gradient of the smooth part at w and ``l1`` the L1 weights, both in
    the same units (any positive per-feature rescaling of coordinates works, as long as
    grad and l1 are rescaled alike). ``w`` only supplies signs and bound activity.
    """
    lo_sub = hi_sub = grad
    if l1 is not None:
        # subdifferential of l1_j |w_j|: {l1 sign w_j}, or [-l1_j, l1_j] at w_j = 0
        lo_sub = grad + np.where(w > 0, l1, -l1)
        hi_sub = grad + np.where(w < 0, -l1, l1)
    if box is not None:
        # at a lower bound any amount can be subtracted, at an upper bound any added
        lo_sub = np.where(w <= box.lower, -np.inf, lo_sub)
        hi_sub = np.where(w >= box.upper, np.inf, hi_sub)
    return np.maximum(lo_sub, 0.0) + np.maximum(-hi_sub, 0.0)


def lam_max(grad: np.ndarray, l1_ratio: float, factor: Optional[np.ndarray],
            box: Optional[Box]) -> float:
    """The smallest lam at which w = 0 satisfies the KKT conditions for every penalised feature.

    ``grad`` is dF/dw of the unpenalised loss at the null model (penalised coefficients at
    0, the intercept and unpenalised coefficients fitted). Zero is optimal for feature j
    when lam l1_ratio c_j >= |grad_j| (only -grad_j counts when lower_j = 0, only grad_j
    when upper_j = 0). Features that are unpenalised, or whose bounds exclude 0 or fix
    them, take no part. For l1_ratio = 0 the value at l1_ratio = 1e-3 is used (glmnet's
    convention): no finite ridge penalty zeroes a coefficient.
    """
    need = np.abs(grad)
    eligible = np.ones(grad.shape[0], dtype=bool)
    if box is not None:
        need = np.where(box.lower == 0, np.maximum(-grad, 0.0), need)
        need = np.where(box.upper == 0, np.maximum(grad, 0.0), need)
        eligible &= box.zero_feasible & (box.lower < box.upper)
    c = np.ones_like(grad) if factor is None else factor
    eligible &= c > 0
    if not np.any(eligible):
        return 0.0
    ratio = max(l1_ratio, RIDGE_L1_RATIO_FOR_LAM_MAX)
    return float(np.max(need[eligible] / c[eligible])) / ratio


def standardized_factors(factor: Optional[np.ndarray], var: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(L1 factors c_j sd_j, L2 factors c_j sd_j^2): glmnet's ``standardize=TRUE``.

    glmnet penalises the coefficients of the standardised columns, v_j = sd_j w_j, so
    lam [(1 - a)/2 c_j v_j^2 + a c_j |v_j|] is, on the user's scale, an L1 factor c_j sd_j
    and an L2 factor c_j sd_j^2. ``var`` is each column's weighted variance (weights
    s_i n_i normalised to sum 1, divisor 1, about the weighted mean: glmnet's, with or
    without an intercept). A column of zero spread keeps its factor c_j (glmnet drops such
    a column; with an intercept its coefficient is 0 here too, its gradient being 0).
    """
    sd = np.where(var > 0, np.sqrt(np.maximum(var, 0.0)), 1.0)
    c = np.ones_like(sd) if factor is None else factor
    return c * sd, c * sd * sd


# ---------------------------------------------------------------------------
# Input checks


def as_l1_ratio(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"l1_ratio must be a real number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(
            f"l1_ratio must be in [0, 1] (0 = ridge, 1 = lasso, between = elastic net); "
            f"got {value}"
        )
    return value


def _feature_vector(value: Any, name: str, n_features: int) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n_features:
        raise ValueError(
            f"{name} must have one entry per feature, shape ({n_features},); got shape "
            f"{arr.shape}"
        )
    return arr.astype(np.float64)


def as_penalty_factor(value: Any, n_features: int) -> Optional[np.ndarray]:
    """None, or a float64 copy of c: finite, >= 0, one per feature."""
    if value is None:
        return None
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
        raise ValueError(
            f"penalty_factor must have one entry per feature, shape ({n_features},); got a "
            "scalar. To scale the penalty of every feature alike, change lam instead."
        )
    c = _feature_vector(value, "penalty_factor", n_features)
    bad = np.flatnonzero(~np.isfinite(c) | (c < 0))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"penalty_factor must be finite and >= 0 (0 leaves a feature unpenalised); "
            f"feature {j} has {c[j]}. To keep a feature out of the model, give it "
            "bounds (0, 0) instead."
        )
    return c


def _bound_vector(value: Any, name: str, default: float, n_features: int) -> np.ndarray:
    if value is None:
        return np.full(n_features, default)
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real number or an array, got {arr.dtype}")
        return np.full(n_features, float(arr))
    return _feature_vector(value, name, n_features)


def as_bounds(value: Any, n_features: int) -> Optional[Box]:
    """(lower, upper) -> Box, each a scalar, None (no bound) or one entry per feature.

    Returns None when no coefficient is bounded.
    """
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 2:
        raise ValueError(
            "bounds must be a pair (lower, upper), each a scalar or an array of shape "
            f"({n_features},); got an array of shape {value.shape}. For per-feature pairs "
            "pass bounds=(pairs[:, 0], pairs[:, 1])."
        )
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(
            "bounds must be a pair (lower, upper), each a scalar, None or an array with one "
            f"entry per feature, e.g. bounds=(0, None) for non-negative coefficients; got "
            f"{value!r}"
        )
    lower = _bound_vector(value[0], "bounds lower", -np.inf, n_features)
    upper = _bound_vector(value[1], "bounds upper", np.inf, n_features)
    for arr, name in ((lower, "lower"), (upper, "upper")):
        if np.any(np.isnan(arr)):
            j = int(np.flatnonzero(np.isnan(arr))[0])
            raise ValueError(f"bounds {name} is NaN for feature {j}; use None or inf for none")
    if np.any(lower == np.inf) or np.any(upper == -np.inf):
        raise ValueError("bounds: a lower bound of +inf or an upper bound of -inf admits "
                         "no coefficient")
    if np.any(lower > upper):
        j = int(np.flatnonzero(lower > upper)[0])
        raise ValueError(
            f"bounds need lower <= upper; feature {j} has lower {lower[j]:g} > upper "
            f"{upper[j]:g}"
        )
    if np.all(lower == -np.inf) and np.all(upper == np.inf):
        return None
    return Box(lower, upper)


def check_start_in_box(w: np.ndarray, box: Optional[Box]) -> None:
    """A start outside the bounds is a user error, not something to clip silently."""
    if box is None:
        return
    bad = np.flatnonzero((w < box.lower) | (w > box.upper))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"x0 is outside the bounds: coefficient {j} is {w[j]:g}, bounds "
            f"[{box.lower[j]:g}, {box.upper[j]:g}]. Clip it first, e.g. "
            "np.clip(coef, lower, upper)."
        )
