"""``fastlogit.path``: a decreasing sequence of penalties, each fit warm-started from the last.

Default sequence: ``n_lams`` values log-spaced from lam_max, the smallest lam at which every
penalised coefficient is 0 (from the gradient at the null model: penalised coefficients at
0, intercept and unpenalised coefficients fitted), down to ``lam_min_ratio * lam_max``
(glmnet's defaults: 1e-4 when there are more rows than features, else 1e-2). For a ridge
path (l1_ratio = 0), where no finite lam zeroes a coefficient, lam_max is that of
l1_ratio = 1e-3 (glmnet's convention): the ridge coefficients there are close to 0.

With an L1 term the sequential strong rule (Tibshirani et al. 2012, "Strong rules for
discarding predictors in lasso-type problems", JRSS-B 74:245) picks a working set: feature j
is held at 0 when |g_j| < l1_ratio c_j (2 lam - lam_prev), g the gradient of the smooth part
at the previous solution, unless it was nonzero there. The fit runs on the working set, then
the KKT conditions of every held-out feature are checked at its answer; violators join the
working set and the fit resumes. The answers are those of independent full fits; the rule
only saves work, and is used only where it leaves out at least half of the features.

Each fit starts from the previous solutions extrapolated in log(lam) (see ``extrapolate``),
with every nonzero coefficient in its orthant (see _constrained.py).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Optional

import numpy as np
from scipy.special import xlogy

from fastlogit._constrained import Solution, make_objective, solve_and_finish, solver_bounds
from fastlogit._fit import _feature_names, base_objective, kkt_target, training_data
from fastlogit._lbfgs import LbfgsOptions
from fastlogit._lbfgs import solve as lbfgs_solve
from fastlogit._objective import Standardization
from fastlogit._penalties import (
    Box,
    ElasticNet,
    as_bounds,
    as_l1_ratio,
    as_penalty_factor,
    lam_max,
)
from fastlogit._progress import Progress, make_progress
from fastlogit._result import LogitResult, TrainingData
from fastlogit._solvers import ConvergenceWarning, Monitor
from fastlogit._threads import resolve_threads
from fastlogit._validate import as_nonnegative_scalar, as_positive_int

# The working set is used only when it leaves out at least half of the features. Each
# violation of the strong rule restarts L-BFGS-B without its curvature memory; at small lams,
# where most features are in the set anyway and violations are common, those restarts cost
# more passes than the smaller problem saves (measured on sub-100k, elastic net: 815 passes
# over 20 lams with the rule at every lam, 577 without it).
_SCREEN_MAX_SHARE = 0.5


@dataclass(frozen=True)
class PathSpec:
    """What stays fixed along a path (and across the folds of a cross-validation)."""

    l1_ratio: float
    factor: Optional[np.ndarray]
    box: Optional[Box]
    fit_intercept: bool
    standardize: bool
    threads: int
    options: LbfgsOptions
    screen: bool

    def settings(self) -> dict:
        o = self.options
        return dict(l1_ratio=self.l1_ratio, penalty_factor=self.factor, bounds=self.box,
                    fit_intercept=self.fit_intercept, solver="lbfgs", factr=o.factr,
                    pgtol=o.pgtol, max_iter=o.max_iter, threads=self.threads,
                    standardize=self.standardize, screen=self.screen)


def make_spec(p: int, l1_ratio: Any, penalty_factor: Any, bounds: Any, fit_intercept: bool,
              standardize: bool, threads: Optional[int], factr: Any, pgtol: Any,
              max_iter: Any, screen: bool) -> PathSpec:
    """Validate the settings shared by path and cv."""
    options = LbfgsOptions(factr=as_nonnegative_scalar(factr, "factr"),
                           pgtol=as_nonnegative_scalar(pgtol, "pgtol"),
                           max_iter=as_positive_int(max_iter, "max_iter"))
    return PathSpec(as_l1_ratio(l1_ratio), as_penalty_factor(penalty_factor, p),
                    as_bounds(bounds, p), bool(fit_intercept), bool(standardize),
                    resolve_threads(threads), options, bool(screen))


def as_lams(lams: Any) -> np.ndarray:
    """User lams -> a float64 array in decreasing order (a copy)."""
    arr = np.asarray(lams)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"lams must hold real numbers; got dtype {arr.dtype}")
    arr = np.atleast_1d(arr).astype(np.float64)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"lams must be a non-empty 1-D sequence; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        j = int(np.flatnonzero(~np.isfinite(arr) | (arr < 0))[0])
        raise ValueError(f"lams must be finite and >= 0; lams[{j}] is {arr[j]}")
    return np.sort(arr)[::-1].copy()


def default_lams(lam_top: float, n_lams: int, lam_min_ratio: Optional[float], n_rows: int,
                 n_features: int) -> np.ndarray:
    """n_lams values log-spaced from lam_top down to lam_min_ratio * lam_top."""
    if not lam_top > 0:
        raise ValueError(
            "cannot build a default lam sequence: no penalised feature has a nonzero gradient "
            "at the null model (every penalty_factor is 0, the bounds fix every penalised "
            "coefficient, or X is constant); pass lams= explicitly."
        )
    if lam_min_ratio is None:
        lam_min_ratio = 1e-4 if n_rows > n_features else 1e-2
    if n_lams == 1:
        return np.array([lam_top])
    return lam_top * np.geomspace(1.0, lam_min_ratio, n_lams)


def as_lam_min_ratio(value: Any) -> Optional[float]:
    if value is None:
        return None
    value = as_nonnegative_scalar(value, "lam_min_ratio")
    if not 0 < value < 1:
        raise ValueError(f"lam_min_ratio must be in (0, 1); got {value}")
    return value


@dataclass(frozen=True)
class LamFit:
    """One point of a path."""

    solution: Solution
    n_iter: int
    n_fev: int
    converged: bool
    message: str
    elapsed: float


class PathEngine:
    """Fits one data set (all rows, or a fold's training rows) at a sequence of lams."""

    def __init__(self, data: TrainingData, spec: PathSpec) -> None:
        self.data = data
        self.spec = spec
        self.p = data.design.n_features
        s = data.sample_weight
        sn = data.n if s is None else s * data.n
        self.std = (Standardization.from_data(data.design, sn, spec.fit_intercept, spec.threads)
                    if spec.standardize else Standardization.identity(self.p))
        sat = xlogy(data.k, data.k) + xlogy(data.n - data.k, data.n - data.k) \
            - xlogy(data.n, data.n)
        self.saturated = float(np.sum(sat if s is None else s * sat))
        c = np.ones(self.p) if spec.factor is None else spec.factor
        zero_ok = np.ones(self.p, dtype=bool) if spec.box is None else spec.box.zero_feasible
        # features that a lam can hold at 0 (and that the strong rule may leave out)
        self.screenable = (c > 0) & zero_ok
        self.c = c

    def deviance(self, sol: Solution) -> float:
        """2 (loss + saturated log-likelihood), as R's glm reports it."""
        return 2.0 * (sol.loss + self.saturated)

    def _base(self, lam: float) -> Any:
        penalty = ElasticNet(lam, self.spec.l1_ratio, self.spec.factor)
        return base_objective(self.data, penalty, self.spec.fit_intercept,
                              self.spec.standardize, self.spec.threads, std=self.std), penalty

    def _run(self, objective: Any, start: Optional[Solution]) -> tuple[Solution, Any]:
        options = replace(self.spec.options, bounds=solver_bounds(objective))
        theta0 = (objective.initial_theta() if start is None
                  else objective.join(start.intercept, start.coef))
        out, sol = solve_and_finish(lbfgs_solve, objective, theta0, options,
                                    Monitor(objective, None, False),
                                    lambda o: kkt_target(o, options))
        return sol, out

    def null_fit(self) -> LamFit:
        """Penalised coefficients at 0 (or the bound nearest 0), the rest fitted."""
        t0 = time.perf_counter()
        box = self.spec.box
        fixed_off_zero = ~self.screenable & (self.c > 0)
        if box is not None and np.any(fixed_off_zero):
            at = box.clip(np.zeros(self.p))
            box = Box(np.where(fixed_off_zero, at, box.lower),
                      np.where(fixed_off_zero, at, box.upper))
        base, _ = self._base(0.0)
        objective = make_objective(base, None, box, np.flatnonzero(~self.screenable))
        sol, out = self._run(objective, None)
        return LamFit(sol, out.n_iter, base.n_fev, out.converged, out.message,
                      time.perf_counter() - t0)

    def lam_max(self, null: Solution) -> float:
        assert null.grad is not None
        return lam_max(null.grad, self.spec.l1_ratio, self.spec.factor, self.spec.box)

    def fit(self, lam: float, prev: Solution, lam_prev: float,
            guess: Optional[Solution] = None) -> LamFit:
        """The fit at lam from the solution at lam_prev >= lam (or from ``guess``)."""
        t0 = time.perf_counter()
        base, penalty = self._base(lam)
        l1 = penalty.l1_weights(self.p)
        active = self._strong_set(lam, prev, lam_prev) if not penalty.is_smooth else None
        start = prev if guess is None else guess
        n_iter, rounds = 0, 0
        while True:
            rounds += 1
            objective = make_objective(base, l1, self.spec.box, active, start.coef)
            sol, out = self._run(objective, start)
            n_iter += out.n_iter
            if active is None or sol.violation is None:
                break
            outside = np.ones(self.p, dtype=bool)
            outside[active] = False
            missed = outside & (sol.violation > kkt_target(out, self.spec.options))
            if not np.any(missed):
                break
            active = np.flatnonzero(~outside | missed)
            if active.shape[0] == self.p:
                active = None
            start = sol
        message = out.message + (f" ({rounds} working-set rounds)" if rounds > 1 else "")
        return LamFit(sol, n_iter, base.n_fev, out.converged, message,
                      time.perf_counter() - t0)

    def _strong_set(self, lam: float, prev: Solution, lam_prev: float) -> Optional[np.ndarray]:
        if not self.spec.screen or prev.grad is None:
            return None
        g = prev.grad
        need = np.abs(g)
        box = self.spec.box
        if box is not None:  # at a bound of 0 only one direction can leave 0
            need = np.where(box.lower == 0, np.maximum(-g, 0.0), need)
            need = np.where(box.upper == 0, np.maximum(g, 0.0), need)
        threshold = self.spec.l1_ratio * self.c * (2.0 * lam - lam_prev)
        keep = ~self.screenable | (prev.coef != 0) | (need >= threshold)
        if np.count_nonzero(keep) > _SCREEN_MAX_SHARE * self.p:
            return None
        return np.flatnonzero(keep)


def run_path(engine: PathEngine, lams: Optional[np.ndarray], n_lams: int,
             lam_min_ratio: Optional[float], progress: Progress, prefix: str = "",
             null: Optional[LamFit] = None) -> tuple[np.ndarray, list[LamFit], LamFit, float]:
    """(lams, fits, null fit, lam_max): the null model (unless given), then every lam in
    decreasing order, each fit warm-started from the previous ones (see extrapolate)."""
    if null is None:
        null = engine.null_fit()
    top = engine.lam_max(null.solution)
    if lams is None:
        d = engine.data.design
        lams = default_lams(top, n_lams, lam_min_ratio, d.n_rows, d.n_features)
    null_dev = engine.deviance(null.solution)
    fits: list[LamFit] = []
    prev, lam_prev = null.solution, max(top, float(lams[0]))
    older: Optional[Solution] = None
    lam_older = 0.0
    for i, lam in enumerate(lams):
        guess = None
        if older is not None and lam_older > lam_prev > lam > 0:
            guess = extrapolate(older, prev, lam_older, lam_prev, float(lam), engine.spec.box)
        older, lam_older = prev, lam_prev
        fit = engine.fit(float(lam), prev, lam_prev, guess)
        fits.append(fit)
        sol = fit.solution
        dev_ratio = 1.0 - engine.deviance(sol) / null_dev if null_dev > 0 else 0.0
        progress.lam_done(i, float(lam), int(np.count_nonzero(sol.coef)), dev_ratio,
                          fit.n_iter, fit.n_fev, sol.grad_norm, fit.elapsed, fit.converged,
                          prefix)
        prev, lam_prev = sol, float(lam)
    return lams, fits, null, top


def extrapolate(older: Solution, prev: Solution, lam_older: float, lam_prev: float,
                lam: float, box: Optional[Box]) -> Solution:
    """A start for lam: the last two solutions extrapolated linearly in log(lam).

    Only coefficients nonzero at lam_prev move, and none across 0 (entering and sign
    changes are left to the solver, so the start keeps the previous orthants). Measured on
    sub-100k, elastic net, 20 lams: 509 passes over X instead of 556 from the previous
    solution itself.
    """
    t = np.log(lam / lam_prev) / np.log(lam_prev / lam_older)
    w = prev.coef + t * (prev.coef - older.coef)
    w = np.where(prev.coef == 0, 0.0, w)
    w = np.where(np.sign(w) != np.sign(prev.coef), 0.0, w)
    if box is not None:
        w = box.clip(w)
    b = prev.intercept + t * (prev.intercept - older.intercept)
    return replace(prev, intercept=float(b), coef=w)


@dataclass(frozen=True, repr=False, eq=False)
class PathResult:
    """Fits along a decreasing sequence of penalties (see ``fastlogit.path``).

    Attributes
    ----------
    lams : ndarray of shape (n_lams,)
        The penalties, in decreasing order.
    coef : ndarray of shape (n_lams, n_features)
        Coefficients at each lam (exact zeros where the L1 term removes a feature).
    intercept, objective, deviance, grad_norm, elapsed : ndarray of shape (n_lams,)
        Intercepts; penalised objectives F; deviances (R's residual deviance); KKT residuals
        (as ``LogitResult.grad_norm``); seconds per fit.
    n_iter, n_fev : ndarray of int of shape (n_lams,)
        Iterations and passes over X per lam.
    converged : ndarray of bool of shape (n_lams,)
    null_deviance : float
        Deviance of the null model (penalised coefficients at 0).
    lam_max : float
        The smallest lam that zeroes every penalised coefficient (see ``path``).
    l1_ratio : float
    settings : dict
    n_rows, n_features : int
    feature_names : tuple of str or None
    """

    lams: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    objective: np.ndarray
    deviance: np.ndarray
    grad_norm: np.ndarray
    n_iter: np.ndarray
    n_fev: np.ndarray
    converged: np.ndarray
    elapsed: np.ndarray
    null_deviance: float
    lam_max: float
    l1_ratio: float
    settings: dict
    n_rows: int
    n_features: int
    feature_names: Optional[tuple] = None
    messages: tuple = ()
    _training: Optional[TrainingData] = None

    def __len__(self) -> int:
        return int(self.lams.shape[0])

    def __repr__(self) -> str:
        state = "all converged" if np.all(self.converged) else \
            f"{int(np.sum(~self.converged))} NOT converged"
        return (f"PathResult({len(self)} lams from {self.lams[0]:.4g} to {self.lams[-1]:.4g}, "
                f"l1_ratio={self.l1_ratio}, {self.n_rows} rows x {self.n_features} features, "
                f"{int(self.n_fev.sum())} evaluations, {state})")

    @cached_property
    def n_nonzero(self) -> np.ndarray:
        """Nonzero coefficients per lam, shape (n_lams,)."""
        return np.count_nonzero(self.coef, axis=1)

    @cached_property
    def dev_ratio(self) -> np.ndarray:
        """Fraction of the null deviance explained, 1 - deviance / null_deviance (glmnet's)."""
        if not self.null_deviance > 0:
            return np.zeros(len(self))
        return 1.0 - self.deviance / self.null_deviance

    def result(self, index: int) -> LogitResult:
        """The fit at ``lams[index]`` as a ``LogitResult`` (predictions, deviance, ...).

        Examples
        --------
        >>> import numpy as np, fastlogit
        >>> X = np.random.default_rng(0).normal(size=(100, 3))
        >>> fp = fastlogit.path(X, 5, np.arange(100) % 6 // 1.2, n_lams=5)
        >>> last = fp.result(-1)
        >>> bool(last.settings["lam"] == fp.lams[-1]), last.predict_proba(X[:2]).shape
        (True, (2,))
        """
        i = int(np.arange(len(self))[index])
        settings = dict(self.settings, lam=float(self.lams[i]))
        return LogitResult(
            coef=self.coef[i].copy(), intercept=float(self.intercept[i]),
            objective=float(self.objective[i]), grad_norm=float(self.grad_norm[i]),
            n_iter=int(self.n_iter[i]), n_fev=int(self.n_fev[i]),
            converged=bool(self.converged[i]),
            message=self.messages[i] if self.messages else "", solver="lbfgs",
            settings=settings, n_rows=self.n_rows, n_features=self.n_features,
            feature_names=self.feature_names, _training=self._training,
        )


def make_path_result(engine: PathEngine, lams: np.ndarray, fits: list[LamFit], null: LamFit,
                     top: float, names: Optional[tuple]) -> PathResult:
    sols = [f.solution for f in fits]
    d = engine.data.design
    result = PathResult(
        lams=np.asarray(lams, dtype=np.float64),
        coef=np.array([s.coef for s in sols]).reshape(len(sols), d.n_features),
        intercept=np.array([s.intercept for s in sols]),
        objective=np.array([s.objective for s in sols]),
        deviance=np.array([engine.deviance(s) for s in sols]),
        grad_norm=np.array([s.grad_norm for s in sols]),
        n_iter=np.array([f.n_iter for f in fits], dtype=np.int64),
        n_fev=np.array([f.n_fev for f in fits], dtype=np.int64),
        converged=np.array([f.converged for f in fits], dtype=bool),
        elapsed=np.array([f.elapsed for f in fits]),
        null_deviance=engine.deviance(null.solution), lam_max=top,
        l1_ratio=engine.spec.l1_ratio, settings=engine.spec.settings(),
        n_rows=d.n_rows, n_features=d.n_features, feature_names=names,
        messages=tuple(f.message for f in fits), _training=engine.data,
    )
    return result


def warn_unconverged(converged: np.ndarray, lams: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(~converged)
    if bad.size:
        shown = ", ".join(f"{lams[i]:.4g}" for i in bad[:5])
        warnings.warn(
            f"{bad.size} of {len(lams)} {what} fits did not converge (lam = {shown}"
            f"{', ...' if bad.size > 5 else ''}); raise max_iter or loosen factr/pgtol.",
            ConvergenceWarning, stacklevel=3,
        )


def path(
    X: Any,
    n: Any = None,
    k: Any = None,
    *,
    y: Any = None,
    lams: Any = None,
    n_lams: int = 100,
    lam_min_ratio: Optional[float] = None,
    l1_ratio: float = 1.0,
    penalty_factor: Any = None,
    bounds: Any = None,
    fit_intercept: bool = True,
    sample_weight: Any = None,
    offset: Any = None,
    factr: float = 1e3,
    pgtol: float = 1e-8,
    max_iter: int = 1000,
    threads: Optional[int] = None,
    screen: bool = True,
    verbose: bool = False,
    progress: bool = False,
    feature_names: Any = None,
    standardize: bool = True,
) -> PathResult:
    """Fit a regularisation path: a decreasing sequence of lams, each warm-started.

    Solves the problem of ``fastlogit.fit`` at every lam,

        F(b, w) = sum_i s_i [n_i log(1 + exp(z_i)) - k_i z_i]
                  + lam [(1 - l1_ratio)/2 sum_j c_j w_j^2 + l1_ratio sum_j c_j |w_j|],

    largest lam first, each fit starting from the previous answer. With an L1 term a
    working set chosen by the sequential strong rule, checked against the KKT conditions
    after every fit, saves most of the work at large lams without changing any answer.

    Parameters
    ----------
    X, n, k, y, sample_weight, offset, fit_intercept, feature_names, standardize
        As in ``fastlogit.fit``.
    lams : array_like of shape (n_lams,), optional
        The penalties (fitted and returned in decreasing order). Default: ``n_lams``
        values log-spaced from lam_max down to ``lam_min_ratio * lam_max``.
    n_lams : int, default 100
        Length of the default sequence.
    lam_min_ratio : float in (0, 1), optional
        Smallest default lam as a fraction of lam_max; default 1e-4 when X has more rows
        than features, else 1e-2 (glmnet's defaults).
    l1_ratio : float in [0, 1], default 1.0
        1 = lasso (glmnet's default), 0 = ridge; lam_max of a ridge path is taken at
        l1_ratio = 1e-3 (glmnet's convention), as no finite lam zeroes ridge coefficients.
    penalty_factor, bounds
        As in ``fastlogit.fit``.
    factr, pgtol, max_iter, threads
        As in ``fastlogit.fit``, for every lam.
    screen : bool, default True
        Use the strong-rule working set (never changes the answers, only the work).
    verbose : bool, default False
        Print one line per lam: nonzeros, fraction of deviance explained, iterations,
        passes over X, KKT residual, time.
    progress : bool, default False
        Show a tqdm progress bar (needs tqdm: ``pip install fastlogit[progress]``).

    Returns
    -------
    PathResult
        lams, coef (n_lams x n_features), intercept, objective, deviance, dev_ratio,
        n_nonzero, n_iter, n_fev, grad_norm (KKT residual), converged per lam;
        ``result(i)`` gives the ``LogitResult`` at lams[i].

    Raises
    ------
    ValueError, TypeError
        For malformed input (as ``fit``), bad lams / n_lams / lam_min_ratio, or when no
        default sequence exists (no penalised feature moves away from 0).

    Warns
    -----
    ConvergenceWarning
        When a fit along the path stops before converging.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 6))
    >>> k = rng.binomial(8, 1 / (1 + np.exp(-X @ [1.0, -0.5, 0.25, 0, 0, 0])))
    >>> fp = fastlogit.path(X, 8, k, n_lams=6)
    >>> round(fp.lam_max, 2), round(float(fp.lams[-1] / fp.lams[0]), 6)  # down to 1e-4
    (798.96, 0.0001)
    >>> fp.n_nonzero
    array([0, 3, 3, 5, 6, 6])
    >>> fp.result(3).coef.round(3)
    array([ 1.026, -0.463,  0.246,  0.   , -0.002,  0.002])
    >>> bool(fp.converged.all() and fp.grad_norm.max() < 1e-6)
    True
    """
    names = _feature_names(X, feature_names)
    data = training_data(X, n, k, y, sample_weight, offset, fit_intercept)
    spec = make_spec(data.design.n_features, l1_ratio, penalty_factor, bounds, fit_intercept,
                     standardize, threads, factr, pgtol, max_iter, screen)
    lam_arr = None if lams is None else as_lams(lams)
    n_lams = as_positive_int(n_lams, "n_lams")
    ratio = as_lam_min_ratio(lam_min_ratio)
    total = n_lams if lam_arr is None else len(lam_arr)
    prog = make_progress(total, verbose, progress, "path")
    try:
        engine = PathEngine(data, spec)
        lam_arr, fits, null, top = run_path(engine, lam_arr, n_lams, ratio, prog)
    finally:
        prog.close()
    result = make_path_result(engine, lam_arr, fits, null, top, names)
    warn_unconverged(result.converged, result.lams, "path")
    return result
