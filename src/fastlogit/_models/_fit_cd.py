"""``fastlogit.fit`` with solver="cd": the coordinate-descent engine (see _solvers/_cd.py).

The default for every non-smooth problem (l1_ratio > 0 with lam > 0, bounds): exact by
default, with exact zeros and coefficients exactly on their bounds.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Callable, Optional

import numpy as np

from fastlogit._input._training import TrainingData
from fastlogit._penalties._penalties import Box, ElasticNet
from fastlogit._solvers import _cd
from fastlogit._solvers._base import ConvergenceWarning, IterationInfo, SolverOutcome
from fastlogit.backend._objective import Standardization, pooled_log_odds


def cd_problem(data: TrainingData, fit_intercept: bool, threads: int,
               std: Optional[Standardization] = None,
               columns: Optional[_cd.ColumnAccess] = None) -> _cd.CDProblem:
    """The engine's view of a data set; ``std`` (the standardisation that defines the units
    of the KKT residual) is computed when not given: two passes over X."""
    s = data.sample_weight
    sn, sk = (data.n, data.k) if s is None else (s * data.n, s * data.k)
    if std is None:
        std = Standardization.from_data(data.design, sn, fit_intercept, threads)
    return _cd.CDProblem(data.design, sn, sk, data.offset, fit_intercept, threads, std,
                         columns)


def print_iteration(it: int, F: float, kkt: float, elapsed: float) -> None:
    """One line of a coordinate-descent fit's ``verbose`` output (a header first)."""
    if it == 0:
        print(f"{'iter':>6} {'objective':>16} {'KKT':>11} {'time':>9}", file=sys.stdout)
    print(f"{it:6d} {F:16.9e} {kkt:11.3e} {elapsed:8.2f}s", flush=True)


def reporter(callback: Optional[Callable[[IterationInfo], Any]], verbose: bool,
             ) -> Optional[Callable[[int, _cd.Pass, float, float], bool]]:
    """Per Newton iteration: a verbose line and the user callback (True stops)."""
    if callback is None and not verbose:
        return None
    start = time.perf_counter()

    def report(it: int, ps: _cd.Pass, F: float, kkt: float) -> bool:
        info = IterationInfo(iteration=it, objective=F, grad_norm=kkt,
                             elapsed=time.perf_counter() - start, intercept=ps.b,
                             coef=ps.w.copy())
        if verbose:
            print_iteration(it, F, kkt, info.elapsed)
        return bool(callback is not None and callback(info) is True)

    return report


def fit_cd(data: TrainingData, penalty: ElasticNet, box: Optional[Box], fit_intercept: bool,
           threads: int, start: Optional[tuple[float, np.ndarray]], pgtol: float,
           max_iter: int, callback: Optional[Callable[[IterationInfo], Any]],
           verbose: bool, problem: Optional[_cd.CDProblem] = None
           ) -> tuple[Any, SolverOutcome]:
    """(Solution, SolverOutcome) of one fit by the coordinate-descent engine; ``problem``:
    the engine's view of ``data`` when the caller has one (its standardisation and column
    copy are then reused, not made again)."""
    prob = cd_problem(data, fit_intercept, threads) if problem is None else problem
    p = data.design.n_features
    pen = _cd.PenaltyVectors.make(penalty, box, p)
    if start is None:
        w0 = np.zeros(p) if box is None else box.clip(np.zeros(p))
        b0 = 0.0
        if fit_intercept:
            b0 = pooled_log_odds(float(prob.sk.sum()), prob.scale)
    else:
        b0, w0 = start
    working = _cd.initial_working_set(prob, pen, np.asarray(w0), None, None)
    options = _cd.CDOptions(pgtol=max(pgtol, 1e-15), max_iter=max_iter)
    out = _cd.solve(prob, pen, b0, w0, working, np.ones(p, dtype=bool), options,
                    reporter(callback, verbose))
    sol = out.solution
    outcome = SolverOutcome(theta=np.r_[sol.intercept, sol.coef], fun=sol.objective / prob.scale,
                            grad=np.zeros(0), n_iter=out.n_iter, n_fev=out.n_pass,
                            converged=out.converged,
                            stopped_by_callback=out.message.startswith("stopped"),
                            message=out.message)
    if not out.converged and not outcome.stopped_by_callback:
        advice = (f"Raise max_iter (now {max_iter})" if out.n_iter >= max_iter
                  else "Check the data for separation or columns on extreme scales")
        warnings.warn(f"cd did not converge: {out.message} (KKT residual "
                      f"{sol.grad_norm:.3g}, target {pgtol:.3g}). {advice}.",
                      ConvergenceWarning, stacklevel=3)
    return sol, outcome
