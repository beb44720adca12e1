"""The coordinate-descent engine along a path (``fastlogit.path`` / ``cv`` with solver="cd").

The same sequence, warm starts and strong rule as the L-BFGS-B engine (_path_engine.py),
in glmnet's form: at each lam the working set starts as the previous nonzero features plus
those the sequential strong rule keeps (|g_j| >= l1_ratio c_j (2 lam - lam_prev)), and
every Newton iteration's pass over X checks the KKT conditions of *all* features, adding
violators (see _cd.py). At lam >= lam_max the answer is the null model itself, with exact
zeros. The column copy of a CSR design (``ColumnAccess``) is made once per path and shared
by the folds of a cross-validation.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastlogit._input._training import TrainingData
from fastlogit._models._fit_cd import cd_problem
from fastlogit._models._penalty_scale import make_penalty
from fastlogit._selection._path_engine import LamFit, PathEngine, PathSpec
from fastlogit._solvers import _cd
from fastlogit._solvers._constrained import Solution
from fastlogit.backend._objective import pooled_log_odds


class CDPathEngine(PathEngine):
    """PathEngine whose fits run on the coordinate-descent engine."""

    def __init__(self, data: TrainingData, spec: PathSpec,
                 columns: Optional[_cd.ColumnAccess] = None) -> None:
        super().__init__(data, spec)
        self.problem = cd_problem(data, spec.fit_intercept, spec.threads, self.std, columns)
        self.options = _cd.CDOptions(pgtol=max(spec.options.pgtol, 1e-15),
                                     max_iter=spec.options.max_iter)
        self.top = np.inf
        # the last answer and the pass over X at it: the next lam starts there for free
        self._last: Optional[tuple[Solution, _cd.Pass]] = None

    def _penalty(self, lam: float) -> _cd.PenaltyVectors:
        return _cd.PenaltyVectors.make(make_penalty(lam, self.spec.l1_ratio, self.factors),
                                       self.spec.box, self.p)

    def _lam_fit(self, out: _cd.CDOutcome, passes_before: int) -> LamFit:
        if out.last_pass is not None:
            self._last = (out.solution, out.last_pass)
        return LamFit(out.solution, out.n_iter, self.problem.n_pass - passes_before,
                      out.converged, out.message, out.elapsed)

    def null_fit(self) -> LamFit:
        """Penalised coefficients at 0 (or the bound nearest 0), the rest fitted."""
        box = self.spec.box
        w0 = np.zeros(self.p) if box is None else box.clip(np.zeros(self.p))
        fixed_off_zero = ~self.screenable & (self.c > 0)
        allowed = ~self.screenable & ~fixed_off_zero
        b0 = 0.0
        if self.spec.fit_intercept:
            b0 = pooled_log_odds(float(self.problem.sk.sum()), self.problem.scale)
        pen = self._penalty(0.0)
        before = self.problem.n_pass
        out = _cd.solve(self.problem, pen, b0, w0, allowed.copy(), allowed, self.options)
        return self._lam_fit(out, before)

    def lam_max(self, null: Solution) -> float:
        self.top = super().lam_max(null)
        return self.top

    def fit(self, lam: float, prev: Solution, lam_prev: float,
            guess: Optional[Solution] = None) -> LamFit:
        # Warm start from the previous answer itself, not the extrapolated guess: the pass
        # over X made there is reused, and the Newton steps converge from it in a few.
        pen = self._penalty(lam)
        start = prev
        first = self._last[1] if self._last is not None and self._last[0] is prev else None
        grad = prev.grad
        threshold = None
        if self.spec.screen and grad is not None:
            threshold = self.spec.l1_ratio * self.c * (2.0 * lam - lam_prev)
        working = _cd.initial_working_set(self.problem, pen, start.coef, grad, threshold)
        if not self.spec.screen:
            working[:] = True
        # at or above lam_max the null model is the answer: kept with its exact zeros
        trusted = lam >= self.top and not np.any(prev.coef[self.screenable])
        before = self.problem.n_pass
        out = _cd.solve(self.problem, pen, start.intercept, start.coef, working,
                        np.ones(self.p, dtype=bool), self.options, trusted_start=trusted,
                        first_pass=first)
        return self._lam_fit(out, before)


def make_engine(data: TrainingData, spec: PathSpec, columns: Any = None) -> PathEngine:
    """The path engine of ``spec.solver``."""
    if spec.solver == "cd":
        return CDPathEngine(data, spec, columns)
    return PathEngine(data, spec)


def column_access(data: TrainingData, spec: PathSpec) -> Optional[_cd.ColumnAccess]:
    """The column copy shared by the folds of a cross-validation (None for L-BFGS-B)."""
    return _cd.ColumnAccess(data.design) if spec.solver == "cd" else None

