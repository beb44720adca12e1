"""scikit-learn's LogisticRegression parameters, read the way the installed release reads them.

The rules, as scikit-learn >= 1.8 states them:

- ``l1_ratio`` (default 0.0) chooses the penalty: 0 ridge, 1 lasso, in between the
  elastic net; ``C=np.inf`` means no penalty. ``l1_ratio=None`` is deprecated (a
  FutureWarning) and reads as 0.
- ``penalty`` is deprecated (default ``"deprecated"``); an explicit value is still obeyed
  and wins over ``l1_ratio`` ("l2" is a ridge fit whatever l1_ratio says, "l1" a lasso,
  "elasticnet" takes l1_ratio, None means no penalty and ignores C), with scikit-learn's
  FutureWarning and its UserWarnings about inconsistent pairs.

Solver names (every one of scikit-learn's is accepted) do not restrict the penalty:
fastlogit fits every penalty with its one engine. ``dual=True`` is refused;
``intercept_scaling`` and ``random_state`` are accepted and have no effect.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")


def constraints() -> dict:
    """scikit-learn's parameter constraints of LogisticRegression, plus fastlogit's own
    (``lam``, ``aggregate``); ``BaseEstimator._validate_params`` enforces them."""
    from sklearn.utils._param_validation import Hidden, Interval, StrOptions

    return {
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None,
                    Hidden(StrOptions({"deprecated"}))],
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions(set(SOLVERS))],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, numbers.Integral],
        "lam": [Interval(numbers.Real, 0, None, closed="left"), None],
        "aggregate": ["boolean"],
    }


def validate_params(estimator: Any) -> None:
    """scikit-learn's own parameter validation (InvalidParameterError, a ValueError,
    naming the parameter) where the installed release has it."""
    check = getattr(estimator, "_validate_params", None)
    if check is not None:
        check()


@dataclass(frozen=True)
class Penalty:
    """The penalty a fit uses: lam on the summed loss (0: none) and the L1 share."""

    lam: float
    l1_ratio: float


_PENALTY_DEPRECATED = (
    "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this "
    "warning, leave 'penalty' set to its default value and use 'l1_ratio' or 'C' instead. "
    "Use l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of penalty='l1', l1_ratio "
    "set to a float between 0 and 1 instead of penalty='elasticnet', and C=np.inf instead "
    "of penalty=None."
)


def resolve_penalty(penalty: Any, C: Any, l1_ratio: Any, lam: Optional[float] = None
                    ) -> Penalty:
    """(penalty, C, l1_ratio[, lam]) -> the fit's Penalty, with scikit-learn's warnings.

    ``lam`` (fastlogit's own) replaces C when given: lam = 1 / C.
    """
    _check_C(C)
    if lam is not None and C != 1.0:
        raise ValueError(f"give C or lam, not both (C={C}, lam={lam}); lam = 1 / C")
    if penalty == "deprecated":
        if l1_ratio is None:
            warnings.warn("'l1_ratio=None' was deprecated in version 1.8 and will trigger an "
                          "error in 1.10. Use 0<=l1_ratio<=1 instead.", FutureWarning,
                          stacklevel=3)
        ratio = 0.0 if l1_ratio is None else _check_ratio(l1_ratio)
        return Penalty(_lam(C, lam), ratio)
    if penalty not in ("l1", "l2", "elasticnet", None):
        raise ValueError(f"penalty must be 'l1', 'l2', 'elasticnet' or None (deprecated: "
                         f"prefer l1_ratio and C); got {penalty!r}")
    warnings.warn(_PENALTY_DEPRECATED, FutureWarning, stacklevel=3)
    if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
        warnings.warn(f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                      f"(penalty={penalty})", UserWarning, stacklevel=3)
    if (penalty == "l2" and l1_ratio != 0) or (penalty == "l1" and l1_ratio != 1):
        warnings.warn(f"Inconsistent values: penalty={penalty} with l1_ratio={l1_ratio}. "
                      "penalty is deprecated. Please use l1_ratio only.", UserWarning,
                      stacklevel=3)
    if penalty == "elasticnet":
        if l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        return Penalty(_lam(C, lam), _check_ratio(l1_ratio))
    if penalty is None:
        if C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                          UserWarning, stacklevel=3)
        return Penalty(0.0, 0.0)
    return Penalty(_lam(C, lam), 1.0 if penalty == "l1" else 0.0)


def _check_C(C: Any) -> None:
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or not C > 0:
        raise ValueError(f"C must be a positive number (np.inf for no penalty); got {C!r}")


def _check_ratio(l1_ratio: Any) -> float:
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real) or \
            not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be a number in [0, 1]; got {l1_ratio!r}")
    return float(l1_ratio)


def _lam(C: float, lam: Optional[float]) -> float:
    if lam is not None:
        return float(lam)
    return 0.0 if np.isinf(C) else 1.0 / float(C)


def check_solver_options(estimator: Any) -> None:
    """Options fastlogit cannot honour raise, naming the parameter; the rest is accepted.

    Every solver name maps to fastlogit's engine (L-BFGS-B in standardised coordinates,
    split variables with exact zeros for an L1 part, Newton steps to finish where the
    Hessian is cheap): the name never changes the answer, only scikit-learn's own
    restrictions tied to it are lifted.
    """
    if estimator.solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}; got {estimator.solver!r}")
    if estimator.dual:
        raise ValueError("dual=True (liblinear's dual formulation) is not available: "
                         "fastlogit solves the primal problem; use dual=False (the answer "
                         "is the same)")
