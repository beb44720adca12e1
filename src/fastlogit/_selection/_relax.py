"""The relaxed lasso along a path (``fastlogit.path(..., relax=True)``, glmnet's ``relax``).

For every lam, the features nonzero in its answer (its *active set*) are refitted without
any penalty -- an unpenalised logistic regression on those columns alone, with the same
weights, offset, intercept and bounds -- as glmnet's ``relax.glmnet`` does (it refits with
lambda = 0, the other features excluded). Each distinct active set is fitted once. A lam
whose active set is empty keeps its own answer (the null model); one whose active set has
more than ``maxp`` features (glmnet's default n_rows - 3) gets no relaxed fit (NaN), as
glmnet leaves it out.

glmnet's blend with ``gamma`` in [0, 1] is

    coef(gamma) = gamma * penalised + (1 - gamma) * relaxed,

so gamma = 1 is the penalised path and gamma = 0 the relaxed fits (``PathResult.blend``).

An unpenalised refit on a small active set can be separated (its maximum-likelihood
estimate is infinite): the refit then stops (at its iteration limit, or where the gradient
has vanished) with probabilities numerically 0 or 1; one SeparationWarning names the lams
concerned, and the answers returned are the (large, finite) coefficients where the refit
stopped, as glmnet's are.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit._models._fit_cd import fit_cd
from fastlogit._models._inference import SeparationWarning
from fastlogit._models._separation import SEPARATED_Z
from fastlogit._penalties._penalties import Box, ElasticNet
from fastlogit._selection._path_engine import PathEngine
from fastlogit.backend._objective import linear_predictor


@dataclass(frozen=True)
class RelaxedFits:
    """Unpenalised refits on the active set of every lam (NaN where none was made)."""

    intercept: np.ndarray  # (n_lams,)
    coef: np.ndarray  # (n_lams, n_features)
    deviance: np.ndarray  # (n_lams,)
    converged: np.ndarray  # (n_lams,) bool


def as_gamma(value: Any) -> np.ndarray:
    """gamma: a number or a 1-D sequence of numbers in [0, 1] -> float64 array."""
    if isinstance(value, (str, bytes, bool)):
        raise TypeError(f"gamma must be a number in [0, 1] or a sequence of them, got {value!r}")
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind not in "iuf" or arr.ndim != 1 or arr.shape[0] == 0:
        raise TypeError(f"gamma must be a number in [0, 1] or a non-empty 1-D sequence of "
                        f"them; got {value!r}")
    arr = arr.astype(np.float64)
    if not np.all((arr >= 0) & (arr <= 1)):  # also refuses NaN
        raise ValueError(f"gamma must lie in [0, 1] (1: penalised, 0: relaxed); got {value!r}")
    return arr


def as_maxp(value: Any, n_rows: int) -> int:
    if value is None:
        return max(n_rows - 3, 0)  # glmnet's relax.glmnet default
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"relax_maxp must be a non-negative integer or None; got {value!r}")
    return int(value)


def relaxed_fits(engine: PathEngine, intercept: np.ndarray, coef: np.ndarray,
                 deviance: np.ndarray, maxp: int) -> RelaxedFits:
    """The relaxed fit of every point (intercept[i], coef[i]) of a path."""
    spec = engine.spec
    L, p = coef.shape
    out_b, out_w = np.full(L, np.nan), np.full((L, p), np.nan)
    out_dev, out_ok = np.full(L, np.nan), np.zeros(L, dtype=bool)
    lower = np.full(p, -np.inf) if spec.box is None else spec.box.lower
    upper = np.full(p, np.inf) if spec.box is None else spec.box.upper
    patterns, which = np.unique(coef != 0, axis=0, return_inverse=True)
    which = np.asarray(which).reshape(-1)
    trouble: list[float] = []
    s = engine.data.sample_weight
    live = (engine.data.n if s is None else s * engine.data.n) > 0
    for j, active in enumerate(patterns):
        rows = np.flatnonzero(which == j)
        first = int(rows[0])
        if not np.any(active):  # the null model: nothing to relax
            out_b[rows], out_w[rows] = intercept[first], coef[first]
            out_dev[rows] = deviance[first]
            out_ok[rows] = True
            continue
        if int(np.count_nonzero(active)) > maxp:
            continue
        box = Box(np.where(active, lower, 0.0), np.where(active, upper, 0.0))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sol, outcome = fit_cd(engine.data, ElasticNet(0.0), box, spec.fit_intercept,
                                  spec.threads, (float(intercept[first]), coef[first].copy()),
                                  spec.options.pgtol, spec.options.max_iter, None, False,
                                  getattr(engine, "problem", None))
        z = linear_predictor(engine.data.design, float(sol.intercept), sol.coef,
                             engine.data.offset, spec.threads)
        separated = bool(np.any(live & (np.abs(z) > SEPARATED_Z)))
        if caught or not outcome.converged or separated:
            trouble.extend(float(v) for v in rows)
        out_b[rows] = sol.intercept
        out_w[rows] = box.snap(sol.coef)
        out_dev[rows] = engine.deviance(sol)
        out_ok[rows] = outcome.converged
    if trouble:
        warnings.warn(
            f"relax: the unpenalised refits at {len(trouble)} of {L} lams did not converge "
            f"or are separated (path positions {sorted(int(t) for t in trouble)[:10]}): "
            "their coefficients diverge and are where the refit stopped; prefer a gamma > 0 "
            "or the penalised fits there.", SeparationWarning, stacklevel=4)
    return RelaxedFits(out_b, out_w, out_dev, out_ok)


def blend(gamma: float, penalised: tuple[Any, Any], relaxed: Optional[RelaxedFits]
          ) -> tuple[Any, Any]:
    """gamma * penalised + (1 - gamma) * relaxed, for (intercept, coef)."""
    if gamma == 1.0:
        return penalised
    if relaxed is None:
        raise ValueError("gamma < 1 needs the relaxed fits: fit the path with relax=True")
    b, w = penalised
    return (gamma * b + (1 - gamma) * relaxed.intercept,
            gamma * w + (1 - gamma) * relaxed.coef)
