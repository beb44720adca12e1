"""``fastlogit.path``: fit a regularisation path (the algorithm is in _path_engine.py)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

import numpy as np

from fastlogit._input._training import TrainingData
from fastlogit._input._validate import as_flag, as_positive_int
from fastlogit._models._fit import _feature_names, training_data
from fastlogit._models._pickling import VersionedPickle
from fastlogit._models._result import LogitResult
from fastlogit._models._separation import (
    SEPARATED_Z,
    warn_if_all_one_outcome,
    warn_separated,
    weak_penalty,
)
from fastlogit._selection._path_cd import make_engine
from fastlogit._selection._path_engine import (
    LamFit,
    PathEngine,
    as_lam_min_ratio,
    as_lams,
    make_spec,
    run_path,
)
from fastlogit._selection._path_stop import DEVMAX, FDEV, make_stop_rule, warn_pmax
from fastlogit._selection._progress import make_progress
from fastlogit._selection._relax import RelaxedFits, as_gamma, as_maxp, blend, relaxed_fits
from fastlogit._solvers._base import ConvergenceWarning
from fastlogit.backend._objective import linear_predictor


@dataclass(frozen=True, repr=False, eq=False)
class PathResult(VersionedPickle):
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
        glmnet's null deviance: that of the intercept-only model with the same offset and
        weights (of the offset alone without an intercept). With unpenalised features
        (penalty factor 0) this is not the deviance at lam_max, and dev_ratio there is
        above 0, as in glmnet.
    lam_max : float
        The smallest lam that zeroes every penalised coefficient (see ``path``).
    l1_ratio : float
    settings : dict
    n_rows, n_features : int
    feature_names : tuple of str or None
    stop_reason : str
        Why the path ended before the last lam asked for ("" when every lam was fitted):
        glmnet's dfmax / pmax / fdev / devmax rules (see ``path``).
    relaxed : RelaxedFits or None
        With ``relax=True``: the unpenalised refit on each lam's active set
        (``relaxed.intercept``, ``relaxed.coef``, ``relaxed.deviance``,
        ``relaxed.converged``; NaN where the set exceeds relax_maxp). See ``blend``.
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
    stop_reason: str = ""
    relaxed: Optional[RelaxedFits] = None

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

    def blend(self, gamma: float) -> tuple[np.ndarray, np.ndarray]:
        """(intercept, coef) of glmnet's relaxed blend at every lam, shapes (n_lams,) and
        (n_lams, n_features): gamma * penalised + (1 - gamma) * relaxed; gamma = 1 is the
        penalised path, gamma = 0 the relaxed fits (needs ``relax=True`` when gamma < 1).
        """
        g = float(as_gamma(gamma)[0]) if np.ndim(gamma) == 0 else None
        if g is None:
            raise TypeError(f"gamma must be a single number in [0, 1]; got {gamma!r}")
        return blend(g, (self.intercept, self.coef), self.relaxed)

    @cached_property
    def relaxed_dev_ratio(self) -> np.ndarray:
        """dev_ratio of the relaxed fits (glmnet's ``fit$relaxed$dev.ratio``)."""
        if self.relaxed is None:
            raise ValueError("no relaxed fits: fit the path with relax=True")
        if not self.null_deviance > 0:
            return np.zeros(len(self))
        return 1.0 - self.relaxed.deviance / self.null_deviance

    def result(self, index: int, gamma: float = 1.0) -> LogitResult:
        """The fit at ``lams[index]`` as a ``LogitResult`` (predictions, deviance, ...);
        with gamma < 1 the relaxed blend (see ``blend``; its ``objective`` and
        ``grad_norm`` are NaN: it minimises no single objective).

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
        b, w = self.blend(gamma)
        exact = gamma == 1.0
        if not exact:
            settings["gamma"] = float(gamma)
        return LogitResult(
            coef=np.array(w[i], dtype=np.float64), intercept=float(b[i]),
            objective=float(self.objective[i]) if exact else float("nan"),
            grad_norm=float(self.grad_norm[i]) if exact else float("nan"),
            n_iter=int(self.n_iter[i]), n_fev=int(self.n_fev[i]),
            converged=bool(self.converged[i]) if exact else bool(
                self.converged[i] and self.relaxed is not None and self.relaxed.converged[i]),
            message=self.messages[i] if self.messages else "",
            solver=str(self.settings.get("solver", "lbfgs")),
            settings=settings, n_rows=self.n_rows, n_features=self.n_features,
            feature_names=self.feature_names, _training=self._training,
        )


def make_path_result(engine: PathEngine, lams: np.ndarray, fits: list[LamFit], null: LamFit,
                     top: float, names: Optional[tuple], stop_reason: str = "",
                     relax_maxp: Optional[int] = None) -> PathResult:
    """The PathResult of fits (with the relaxed refits when relax_maxp is not None)."""
    sols = [f.solution for f in fits]
    d = engine.data.design
    settings = engine.spec.settings()
    if engine.spec.standardize_penalty:  # the L2 factors cov_params() needs
        settings["l2_penalty_factor"] = engine.factors[1]
    relaxed = None
    if relax_maxp is not None:
        coef = np.array([s.coef for s in sols]).reshape(len(sols), d.n_features)
        relaxed = relaxed_fits(engine, np.array([s.intercept for s in sols]), coef,
                               np.array([engine.deviance(s) for s in sols]), relax_maxp)
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
        null_deviance=engine.null_dev, lam_max=top,
        l1_ratio=engine.spec.l1_ratio, settings=settings,
        n_rows=d.n_rows, n_features=d.n_features, feature_names=names,
        messages=tuple(f.message for f in fits), _training=engine.data,
        stop_reason=stop_reason, relaxed=relaxed,
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
    standardize_penalty: bool = False,
    solver: str = "auto",
    dfmax: Optional[int] = None,
    pmax: Optional[int] = None,
    fdev: float = FDEV,
    devmax: float = DEVMAX,
    relax: bool = False,
    relax_maxp: Optional[int] = None,
) -> PathResult:
    """Fit a regularisation path: a decreasing sequence of lams, each warm-started.

    Solves the problem of ``fastlogit.fit`` at every lam::

        F(b, w) = sum_i s_i [n_i log(1 + exp(z_i)) - k_i z_i]
                  + lam [(1 - l1_ratio)/2 sum_j c_j w_j^2 + l1_ratio sum_j c_j |w_j|],

    largest lam first, each fit starting from the previous answer. With an L1 term a
    working set chosen by the sequential strong rule, checked against the KKT conditions
    after every fit, saves most of the work at large lams without changing any answer.

    Parameters
    ----------
    X, n, k, y, sample_weight, offset, fit_intercept, feature_names, standardize
        As in ``fastlogit.fit``.
    standardize_penalty : bool, default False
        glmnet's ``standardize=TRUE``: penalise the coefficients of the standardised
        columns x_j / sd_j (sd_j the population sd under weights s_i n_i normalised to sum
        1, about the weighted mean, with or without an intercept), i.e. L1 factors
        c_j sd_j and L2 factors c_j sd_j^2 (so not a penalty_factor: the two differ).
        Changes the answer, and lam_max with it; coefficients are reported on the
        original scale. Not to be confused with ``standardize``, which only changes the
        coordinates the solver works in, never the answer. glmnet's lambda is
        ``lam / sum(s * n)``; glmnet rescales penalty.factor to sum to n_features.
    lams : array_like of shape (n_lams,), optional
        The penalties (fitted and returned in decreasing order). Default: ``n_lams``
        values log-spaced from lam_max down to ``lam_min_ratio * lam_max``.
    n_lams : int, default 100
        Length of the default sequence.
    lam_min_ratio : float in (0, 1), optional
        Smallest default lam as a fraction of lam_max; default 1e-2 when X has fewer rows
        than features, else 1e-4 (glmnet's rule).
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
    solver : {"auto", "cd", "lbfgs"}, default "auto"
        "cd" (the default with an L1 term or bounds): proximal Newton with coordinate
        descent, glmnet's method, exact at every lam (see ``fastlogit.fit``); "lbfgs":
        L-BFGS-B in split variables (the default for ridge paths). ``factr`` applies to
        "lbfgs" only.

    dfmax, pmax : int, optional
        glmnet's limits. ``dfmax``: on a default sequence, the path ends at the first lam
        (from the 5th on) where more than dfmax coefficients are nonzero; that fit is
        kept. ``pmax``: on any sequence, the path ends before the first lam at which more
        than pmax features have ever been nonzero (a PathStopWarning says so). Default:
        no limit.
    fdev, devmax : float, default 1e-5 and 0.999
        glmnet's saturation stop (glmnet.control), on default sequences only, from the
        5th lam on: the path ends after the fit at which ``dev_ratio`` rose by less than
        ``fdev`` (an absolute change) or exceeds ``devmax``. ``fdev=0, devmax=1`` fit
        every lam. Off when a bound is 0 (as glmnet). ``stop_reason`` says what stopped
        a path and ``len(result)`` how many lams were fitted.
    relax : bool, default False
        glmnet's relaxed lasso: also refit each lam's active set (its nonzero features)
        without any penalty, same weights, offset and bounds (``result.relaxed``); blend
        with ``result.blend(gamma)`` or ``result.result(i, gamma=...)``. A separated
        refit warns (SeparationWarning) and keeps where it stopped.
    relax_maxp : int, optional
        Active sets larger than this get no relaxed fit (NaN); default n_rows - 3
        (glmnet's maxp).

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
                     standardize, threads, factr, pgtol, max_iter, screen, solver,
                     standardize_penalty)
    stop = make_stop_rule(dfmax, pmax, fdev, devmax)
    maxp = as_maxp(relax_maxp, data.design.n_rows) if as_flag(relax, "relax") else None
    lam_arr = None if lams is None else as_lams(lams)
    n_lams = as_positive_int(n_lams, "n_lams")
    ratio = as_lam_min_ratio(lam_min_ratio)
    total = n_lams if lam_arr is None else len(lam_arr)
    prog = make_progress(total, verbose, progress, "path")
    try:
        engine = make_engine(data, spec)
        lam_arr, fits, null, top, why = run_path(engine, lam_arr, n_lams, ratio, prog,
                                                 stop=stop)
    finally:
        prog.close()
    if not fits:
        raise ValueError(f"no lam can be kept: {why}; raise pmax")
    warn_pmax(why)
    result = make_path_result(engine, lam_arr, fits, null, top, names, why, maxp)
    warn_unconverged(result.converged, result.lams, "path")
    warn_if_separated_path(data, result, spec.threads)
    return result


def warn_if_separated_path(data: TrainingData, result: PathResult, threads: int) -> None:
    """fit's SeparationWarning for a path: at the first lam that is 0 or negligible (see
    weak_penalty) where fitted probabilities are numerically 0 or 1; and fit's warning for
    data with only one outcome."""
    s = data.sample_weight
    sn = data.n if s is None else s * data.n
    total = float(sn.sum())
    live = sn > 0
    fit_intercept = bool(result.settings.get("fit_intercept", True))
    for i, lam in enumerate(result.lams):
        if not weak_penalty(float(lam), total):
            continue
        z = linear_predictor(data.design, float(result.intercept[i]), result.coef[i],
                             data.offset, threads)
        rows = int(np.count_nonzero(live & (np.abs(z) > SEPARATED_Z)))
        if rows:
            warn_separated(rows, int(np.count_nonzero(live)), stacklevel=4,
                           where=f"path at lam={lam:g}: ")
            break
    k_total = float(np.sum(data.k if s is None else s * data.k))
    warn_if_all_one_outcome(k_total, total, fit_intercept, stacklevel=4)
