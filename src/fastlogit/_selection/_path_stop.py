"""When a path stops before its last lam: glmnet's rules, and glmnet's null deviance.

glmnet (``glmnet.control`` and its path loop) stops a path early in two ways:

* on a *default* sequence only (not on lams the user gives), and only once at least
  ``MIN_LAMS`` (glmnet's mnlam, 5) lams are fitted, after the fit at lam_m, when

  - more than ``dfmax`` coefficients are nonzero at lam_m, or
  - the fraction of deviance explained rose by less than ``fdev`` since the previous lam
    (an absolute change, dev_ratio_m - dev_ratio_{m-1}, with dev_ratio_{-1} = 0), or
  - it exceeds ``devmax``;

  the fit at lam_m is kept and the path ends there. glmnet switches the ``fdev`` rule off
  when a bound is 0 (nothing may move for a while on such a path), and so does fastlogit;

* on any sequence, when more than ``pmax`` features have ever been nonzero: the fit at
  which that happens is dropped, the path ends at the lam before, and a warning says so.
  glmnet counts the features that ever entered its active set, which can include one
  that entered during the iterations at a lam and left again before its answer; fastlogit
  counts the features nonzero in an answer. The two agree unless such a transient occurs.

The fraction of deviance explained is glmnet's: 1 - deviance / null deviance, the null
deviance that of the intercept-only model with the same offset and weights (without an
intercept, of the offset alone) -- not of the model at lam_max, which differs when some
features are unpenalised (penalty factor 0).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit._core._special import unit_deviances
from fastlogit._input._training import TrainingData
from fastlogit._models._inference import null_linear_predictor

# glmnet.control's mnlam: the rules apply only once this many lams are fitted
MIN_LAMS = 5
FDEV = 1e-5
DEVMAX = 0.999


class PathStopWarning(UserWarning):
    """A path ended before its last lam because ``pmax`` features were nonzero."""


@dataclass(frozen=True)
class StopRule:
    """glmnet's path-stopping settings (see the module docstring); None: no limit."""

    dfmax: Optional[int] = None
    pmax: Optional[int] = None
    fdev: float = FDEV
    devmax: float = DEVMAX

    def settings(self) -> dict:
        return dict(dfmax=self.dfmax, pmax=self.pmax, fdev=self.fdev, devmax=self.devmax)


def _as_limit(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer or None, got "
                        f"{type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (a number of features), got {value}")
    return int(value)


def _as_fraction(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not low <= value <= high:  # also refuses NaN
        raise ValueError(f"{name} must be in [{low:g}, {high:g}]; got {value}")
    return value


def make_stop_rule(dfmax: Any, pmax: Any, fdev: Any, devmax: Any) -> StopRule:
    """Validate the stopping settings shared by path and cv."""
    return StopRule(_as_limit(dfmax, "dfmax"), _as_limit(pmax, "pmax"),
                    _as_fraction(fdev, "fdev", 0.0, 1.0),
                    _as_fraction(devmax, "devmax", 0.0, 1.0))


def null_deviance(data: TrainingData, fit_intercept: bool) -> float:
    """glmnet's null deviance: the intercept-only model's (the offset alone without an
    intercept), fitted with the same offset and weights; 0 when it fits every row."""
    s = np.ones(data.n.shape[0]) if data.sample_weight is None else data.sample_weight
    z = null_linear_predictor(data.n, data.k, s, data.offset, fit_intercept)
    if not np.all(np.isfinite(z)):
        return 0.0
    return float(unit_deviances(data.n, data.k, s, z).sum())


class PathStop:
    """Tracks one path and says when it ends (``check`` after each fit)."""

    def __init__(self, rule: Optional[StopRule], default_sequence: bool,
                 zero_bound: bool) -> None:
        self.rule = rule
        self.default_sequence = default_sequence
        self.fdev = 0.0 if rule is None or zero_bound else rule.fdev
        self.ever: Optional[np.ndarray] = None
        self.prev_ratio = 0.0
        self.reason = ""

    def check(self, index: int, lam: float, coef: np.ndarray, dev_ratio: float
              ) -> tuple[bool, bool]:
        """(keep this fit, stop after it)."""
        rule = self.rule
        if rule is None:
            return True, False
        nonzero = coef != 0
        self.ever = nonzero if self.ever is None else self.ever | nonzero
        if rule.pmax is not None and int(np.count_nonzero(self.ever)) > rule.pmax:
            self.reason = (f"pmax: more than {rule.pmax} features ever nonzero at lam "
                           f"{lam:.6g} (lams[{index}]); the path ends at the lam before")
            return False, True
        prev, self.prev_ratio = self.prev_ratio, dev_ratio
        if not self.default_sequence or index + 1 < MIN_LAMS:
            return True, False
        n_nonzero = int(np.count_nonzero(nonzero))
        if rule.dfmax is not None and n_nonzero > rule.dfmax:
            self.reason = f"dfmax: {n_nonzero} > {rule.dfmax} nonzero coefficients"
        elif dev_ratio - prev < self.fdev:
            self.reason = (f"fdev: the deviance ratio rose by {dev_ratio - prev:.3g} < "
                           f"{self.fdev:g}")
        elif dev_ratio > rule.devmax:
            self.reason = f"devmax: the deviance ratio {dev_ratio:.6g} > {rule.devmax:g}"
        else:
            return True, False
        self.reason += f" at lam {lam:.6g} (lams[{index}]), the last lam fitted"
        return True, True


def warn_pmax(reason: str, what: str = "path") -> None:
    if reason.startswith("pmax"):
        warnings.warn(f"{what} stopped early: {reason}.", PathStopWarning, stacklevel=4)
