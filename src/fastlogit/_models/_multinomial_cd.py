"""``fastlogit.fit_multinomial`` with an L1 part: the coordinate-descent engine.

The route of every multinomial fit whose penalty has an L1 term (l1_ratio > 0 and
lam > 0), ungrouped or grouped (_solvers/_cd_multinomial.py): exact by default, with
exact zeros. The result is reported as ``fit_multinomial`` reports any fit: coef
(K, p), intercepts summing to zero; the coefficients are not centred (with an L1
term the penalty itself picks the representative, which need not sum to zero).
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Optional

import numpy as np

from fastlogit._input._training import MultinomialTrainingData
from fastlogit._input._validate_multi import ClassTargets
from fastlogit._models._fit_cd import print_iteration
from fastlogit._solvers import _cd_multinomial as engine
from fastlogit._solvers._base import ConvergenceWarning, IterationInfo
from fastlogit._solvers._cd import CDOptions
from fastlogit.backend._objective import Standardization
from fastlogit.backend._softmax_objective import MultinomialLoss

TYPES = ("ungrouped", "grouped")


def as_type_multinomial(value: Any) -> bool:
    """type_multinomial -> grouped (bool), or a ValueError naming the argument."""
    if not isinstance(value, str) or value not in TYPES:
        raise ValueError(f"type_multinomial must be 'ungrouped' or 'grouped' (glmnet's "
                         f"type.multinomial); got {value!r}")
    return value == "grouped"


def _reporter(callback: Optional[Callable[[IterationInfo], Any]], verbose: bool):
    if callback is None and not verbose:
        return None
    start = time.perf_counter()

    def report(it: int, b: np.ndarray, W: np.ndarray, F: float, kkt: float) -> bool:
        info = IterationInfo(iteration=it, objective=F, grad_norm=kkt,
                             elapsed=time.perf_counter() - start,
                             intercept=b.copy(),  # type: ignore[arg-type]
                             coef=np.ascontiguousarray(W.T))
        if verbose:
            print_iteration(it, F, kkt, info.elapsed)
        return bool(callback is not None and callback(info) is True)

    return report


def fit_multinomial_cd(data: MultinomialTrainingData, targets: ClassTargets, lam: float,
                       l1_ratio: float, factor: Optional[np.ndarray], grouped: bool,
                       fit_intercept: bool, threads: int, start: Optional[tuple],
                       pgtol: float, max_iter: int,
                       callback: Optional[Callable[[IterationInfo], Any]], verbose: bool
                       ) -> tuple[np.ndarray, np.ndarray, engine.MultiOutcome, float]:
    """(intercept (K,), coef (K, p), outcome, scale) of one fit by the engine."""
    design = data.design
    K, p = targets.n_classes, design.n_features
    loss = MultinomialLoss(design, K, counts=targets.counts, labels=targets.labels,
                           weights=data.sample_weight, offset=data.offset, threads=threads)
    std = Standardization.from_data(design, loss.row_totals(), fit_intercept, threads)
    prob = engine.MultinomialCDProblem(loss, fit_intercept, std)
    c = np.ones(p) if factor is None else factor
    pen = engine.MultiPenalty(lam * l1_ratio * c, lam * (1.0 - l1_ratio) * c, grouped)
    if start is None:
        b0 = np.zeros(K)
        if fit_intercept:
            freq = np.maximum(loss.class_totals() / prob.scale, 1e-10)
            b0 = np.log(freq) - np.log(freq).mean()
        W0 = np.zeros((p, K))
    else:
        b0, W0 = start
    options = CDOptions(pgtol=max(pgtol, 1e-15), max_iter=max_iter)
    out = engine.solve(prob, pen, b0, W0, options, _reporter(callback, verbose))
    if not out.converged and not out.message.startswith("stopped"):
        advice = (f"Raise max_iter (now {max_iter})" if out.n_iter >= max_iter
                  else "Check the data for separation or columns on extreme scales")
        warnings.warn(f"cd did not converge: {out.message} (KKT residual {out.kkt:.3g}, "
                      f"target {pgtol:.3g}). {advice}.", ConvergenceWarning, stacklevel=3)
    b = out.intercept - out.intercept.mean() if fit_intercept else np.zeros(K)
    return b, np.ascontiguousarray(out.coef.T), out, prob.scale
