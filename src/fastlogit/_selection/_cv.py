"""``fastlogit.cv``: k-fold cross-validation over a regularisation path.

Folds split *rows*. A binomial row (n_i trials, k_i successes) is one observation of its
covariate pattern, and all of its trials go to the same fold: splitting its trials would put
copies of one pattern on both sides of a split.

A fold's training fit gives the held-out rows weight 0, which is exactly the fit without
them (the standardisation, too, sees only the training rows) and copies nothing: each pass
over X still reads the held-out rows, about K/(K-1) the work of a copied subset.

With D_f(lam) the held-out deviance of fold f (R's residual deviance on its rows) and W_f its
trials sum s_i n_i, the curve is the deviance per trial

    cv_mean = sum_f D_f / sum_f W_f,
    cv_se   = sqrt( sum_f W_f (D_f / W_f - cv_mean)^2 / sum_f W_f / (K - 1) ),

the weighting of glmnet's cv.glmnet. lam_min minimises cv_mean; lam_1se is the largest lam
whose cv_mean is within one standard error of that minimum (the one-standard-error rule).
With relax=True the relaxed lasso is cross-validated over gamma too (_cv_relax.py).
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from fastlogit._input._training import TrainingData
from fastlogit._input._validate import as_flag, as_positive_int
from fastlogit._models._fit import _feature_names, training_data
from fastlogit._models._result import LogitResult
from fastlogit._selection._cv_measures import as_measure, larger_is_better
from fastlogit._selection._cv_relax import (
    choose_pair,
    curves,
    held_out_links,
    relaxed_fold_scores,
    score_links,
)
from fastlogit._selection._path import PathResult, make_path_result, warn_unconverged
from fastlogit._selection._path_cd import column_access, make_engine
from fastlogit._selection._path_engine import (
    as_lam_min_ratio,
    as_lams,
    make_spec,
    run_path,
)
from fastlogit._selection._path_stop import (
    DEVMAX,
    FDEV,
    StopRule,
    make_stop_rule,
    warn_pmax,
)
from fastlogit._selection._progress import make_progress
from fastlogit._selection._relax import as_gamma, as_maxp, relaxed_fits

GAMMA = (0.0, 0.25, 0.5, 0.75, 1.0)  # cv.glmnet's default


@dataclass(frozen=True, repr=False, eq=False)
class CVResult:
    """Cross-validated regularisation path (see ``fastlogit.cv``).

    Attributes
    ----------
    lams : ndarray of shape (n_lams,)
        The penalties, decreasing (from the full data's lam_max unless given).
    cv_mean, cv_se : ndarray of shape (n_lams,)
        Held-out deviance per trial (or the ``measure`` chosen), and its standard error
        across folds.
    fold_deviance : ndarray of shape (n_folds, n_lams)
        Held-out deviance per trial of each fold.
    fold_weight : ndarray of shape (n_folds,)
        Held-out trials sum s_i n_i of each fold.
    folds : ndarray of int of shape (n_rows,)
        The fold of every row.
    index_min, index_1se : int
        Positions in ``lams`` of lam_min and lam_1se.
    lam_min, lam_1se : float
        The lam of least cv_mean (largest for measure="auc"), and the largest lam within
        one standard error of it. With ``relax=True``, the lams of the (gamma, lam) pairs
        chosen jointly (see ``gamma_min``).
    rule : {"min", "1se"}
        Which of the two ``lam``, ``result`` use.
    fold_converged : ndarray of bool of shape (n_folds, n_lams)
    result : LogitResult or None
        The refit on all rows at ``lam`` (None when refit=False); with ``relax=True`` the
        relaxed blend at (``gamma``, ``lam``).
    gammas : ndarray of shape (n_gamma,) or None
        With ``relax=True``: the gammas cross-validated, increasing (None otherwise).
    gamma_cv_mean, gamma_cv_se : ndarray of shape (n_gamma, n_lams) or None
        With ``relax=True``: the curve and its standard error of every gamma, the held-out
        measure of gamma * penalised + (1 - gamma) * relaxed (NaN where a relaxed fit
        exceeds relax_maxp). ``cv_mean`` and ``cv_se`` stay the penalised (gamma = 1)
        curve, as glmnet's cvm.
    gamma_fold_deviance : ndarray of shape (n_folds, n_gamma, n_lams) or None
        With ``relax=True``: the per-trial measure of each fold at every (gamma, lam).
    index_gamma_min, index_gamma_1se : int or None
        Positions in ``gammas`` of gamma_min and gamma_1se.
    gamma_min, gamma_1se : float
        glmnet's joint choice: (gamma_min, lam_min) minimises gamma_cv_mean over all
        pairs (ties to the larger lam, then the larger gamma); (gamma_1se, lam_1se) is the
        pair of largest lam, then largest gamma, within one standard error of that
        minimum. 1.0 without ``relax``.
    path : PathResult or None
        The all-rows path from lams[0] down to lam_min (warm starts; fitted first, as
        cv.glmnet does, down to the last lam), of which ``result``
        is one point: ``path.result(index_1se)`` and ``path.result(index_min)`` both exist.
    l1_ratio : float
    settings : dict
    """

    lams: np.ndarray
    cv_mean: np.ndarray
    cv_se: np.ndarray
    fold_deviance: np.ndarray
    fold_weight: np.ndarray
    folds: np.ndarray
    index_min: int
    index_1se: int
    lam_min: float
    lam_1se: float
    rule: str
    fold_converged: np.ndarray
    result: Optional[LogitResult]
    path: Optional[PathResult]
    l1_ratio: float
    settings: dict
    gammas: Optional[np.ndarray] = None
    gamma_cv_mean: Optional[np.ndarray] = None
    gamma_cv_se: Optional[np.ndarray] = None
    gamma_fold_deviance: Optional[np.ndarray] = None
    index_gamma_min: Optional[int] = None
    index_gamma_1se: Optional[int] = None
    gamma_min: float = 1.0
    gamma_1se: float = 1.0

    @property
    def lam(self) -> float:
        """The chosen lam (lam_min or lam_1se, by ``rule``)."""
        return self.lam_min if self.rule == "min" else self.lam_1se

    @property
    def gamma(self) -> float:
        """The chosen gamma (gamma_min or gamma_1se, by ``rule``; 1.0 without relax)."""
        return self.gamma_min if self.rule == "min" else self.gamma_1se

    @property
    def n_folds(self) -> int:
        return int(self.fold_deviance.shape[0])

    def __repr__(self) -> str:
        relaxed = "" if self.gammas is None else (
            f", gamma_min={self.gamma_min:.5g}, gamma_1se={self.gamma_1se:.5g}")
        return (f"CVResult({self.n_folds} folds x {len(self.lams)} lams, l1_ratio="
                f"{self.l1_ratio}, lam_min={self.lam_min:.5g}, lam_1se={self.lam_1se:.5g}"
                f"{relaxed}, rule={self.rule!r})")


def make_folds(n_rows: int, n_folds: Any, folds: Any, seed: Any) -> np.ndarray:
    """The fold (0 .. K-1) of every row: given, or a seeded balanced random split."""
    if folds is not None:
        arr = np.asarray(folds)
        if arr.dtype.kind not in "iu" or arr.shape != (n_rows,):
            raise ValueError(
                f"folds must be integer fold labels, one per row of X, shape ({n_rows},); "
                f"got dtype {arr.dtype}, shape {arr.shape}"
            )
        labels, ids = np.unique(arr, return_inverse=True)
        if labels.shape[0] < 2:
            raise ValueError("folds must name at least 2 distinct folds")
        return ids.astype(np.intp)
    if isinstance(n_folds, bool) or not isinstance(n_folds, numbers.Integral):
        raise TypeError(f"n_folds must be an integer, got {type(n_folds).__name__}")
    K = int(n_folds)
    if not 2 <= K <= n_rows:
        raise ValueError(f"n_folds must be between 2 and the number of rows ({n_rows}); "
                         f"got {K}")
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, numbers.Integral)
                                      or isinstance(seed, np.random.Generator)):
        raise TypeError(f"seed must be an integer, None or a numpy Generator; got {seed!r}")
    rng = np.random.default_rng(seed if isinstance(seed, np.random.Generator) or seed is None
                                else int(seed))
    out = np.empty(n_rows, dtype=np.intp)
    out[rng.permutation(n_rows)] = np.arange(n_rows) % K
    return out


def _fold_data(data: TrainingData, held_out: np.ndarray) -> TrainingData:
    """The training rows of a fold: the held-out rows get weight 0 (no copy of X)."""
    s = np.ones(data.n.shape[0]) if data.sample_weight is None else data.sample_weight.copy()
    s[held_out] = 0.0
    return replace(data, sample_weight=s)


def choose(cv_mean: np.ndarray, cv_se: np.ndarray) -> tuple[int, int]:
    """(index of the minimum, index of the largest lam within one SE of it); lams decrease,
    so ties go to the larger lam."""
    i_min = int(np.argmin(cv_mean))
    within = np.flatnonzero(cv_mean <= cv_mean[i_min] + cv_se[i_min])
    return i_min, int(within[0])


def cv(
    X: Any,
    n: Any = None,
    k: Any = None,
    *,
    y: Any = None,
    n_folds: int = 5,
    folds: Any = None,
    seed: Any = 0,
    lams: Any = None,
    n_lams: int = 100,
    lam_min_ratio: Optional[float] = None,
    l1_ratio: float = 1.0,
    penalty_factor: Any = None,
    bounds: Any = None,
    rule: str = "min",
    refit: bool = True,
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
    measure: str = "deviance",
    dfmax: Optional[int] = None,
    pmax: Optional[int] = None,
    fdev: float = FDEV,
    devmax: float = DEVMAX,
    relax: bool = False,
    gamma: Any = None,
    relax_maxp: Optional[int] = None,
) -> CVResult:
    """Choose lam by k-fold cross-validation of the held-out deviance along a path.

    Every fold fits the path (``fastlogit.path``, warm starts) on the other folds' rows and
    scores each lam by the deviance of its own rows. Folds split rows, so the trials of a
    binomial row always stay together. lam_min minimises the mean held-out deviance per
    trial; lam_1se is the largest lam within one standard error of it.

    Parameters
    ----------
    X, n, k, y, sample_weight, offset, fit_intercept, feature_names, standardize
        As in ``fastlogit.fit``.
    n_folds : int, default 5
        Number of folds for the random split.
    folds : array_like of int of shape (n_rows,), optional
        The fold of every row instead (any integer labels; glmnet's foldid).
    seed : int, numpy Generator or None, default 0
        Seed of the random split: the same seed gives the same folds.
    lams, n_lams, lam_min_ratio, l1_ratio, penalty_factor, bounds, screen, solver
        As in ``fastlogit.path``; the default sequence comes from all rows.
    standardize_penalty
        As in ``fastlogit.path`` (each fold standardises its own training rows, as
        glmnet's folds do).
    dfmax, pmax, fdev, devmax
        As in ``fastlogit.path``, as cv.glmnet applies them: the path on all rows is fitted
        first and its stopping rules fix the lams; the folds follow those lams, with only
        ``pmax`` applying to them (a fold stopped by it predicts with its last fit).
    rule : {"min", "1se"}, default "min"
        Which lam ``result`` is refitted at.
    refit : bool, default True
        Keep the all-rows fits down to lam_min, giving ``result`` and ``path``.
    factr, pgtol, max_iter, threads
        As in ``fastlogit.fit``, for every fit.
    measure : {"deviance", "class", "auc", "mse", "mae"}, default "deviance"
        What the held-out rows score (glmnet's type.measure): deviance per trial,
        misclassified share of trials, area under the ROC curve (larger is better: lam_min
        maximises it), squared or absolute error of p per trial (glmnet's binomial mse and
        mae add both classes' errors: twice these).
    verbose : bool, default False
        One line per fit (fold and lam).
    progress : bool, default False
        A tqdm progress bar over all fits (``pip install fastlogit[progress]``).
    relax : bool, default False
        cv.glmnet's ``relax = TRUE``: every fold also refits each lam's active set without
        penalty (as ``fastlogit.path(..., relax=True)``), and every (gamma, lam) pair is
        scored on the held-out rows with gamma * penalised + (1 - gamma) * relaxed
        (intercept and coefficients alike). gamma and lam are chosen jointly
        (``gamma_min``, ``lam_min``, ``gamma_1se``, ``lam_1se``) and ``result`` is the
        all-rows blend at the chosen pair. glmnet evaluates gamma = 0 as 1e-5; here it is
        the relaxed fit itself.
    gamma : float or sequence of float in [0, 1], default (0, 0.25, 0.5, 0.75, 1)
        The gammas cross-validated with ``relax=True`` (cv.glmnet's default; sorted,
        duplicates dropped). Only with ``relax=True``.
    relax_maxp : int, optional
        Active sets larger than this get no relaxed fit, and their pairs with gamma < 1
        are NaN (never chosen); default the fit's training rows minus 3 (glmnet's maxp).

    Returns
    -------
    CVResult
        lams, cv_mean, cv_se, fold_deviance, lam_min, lam_1se, the fold of every row, and
        the refit ``result`` at the chosen lam; with ``relax=True`` also gammas,
        gamma_cv_mean, gamma_cv_se (n_gamma x n_lams), gamma_min and gamma_1se.

    Raises
    ------
    ValueError, TypeError
        For malformed input (as ``path``), bad n_folds / folds / seed / rule / gamma
        (empty, outside [0, 1], or given without relax=True), or a fold without any trials
        (held out or for training).

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 8))
    >>> k = rng.binomial(6, 1 / (1 + np.exp(-X @ [1.0, -0.5, 0.3, 0, 0, 0, 0, 0])))
    >>> res = fastlogit.cv(X, 6, k, n_lams=20, n_folds=4, seed=1)
    >>> bool(res.lam_1se >= res.lam_min), res.cv_mean.shape, res.fold_deviance.shape
    (True, (15,), (4, 15))
    >>> res.path.stop_reason[:4]  # 15 of the 20 lams: glmnet's saturation stop
    'fdev'

    >>> bool(res.result.settings["lam"] == res.lam_min)
    True

    The relaxed lasso, gamma and lam chosen together:

    >>> rr = fastlogit.cv(X, 6, k, n_lams=8, n_folds=3, relax=True, gamma=[0, 0.5, 1])
    >>> rr.gamma_cv_mean.shape  # 7 of the 8 lams: the saturation stop
    (3, 7)
    >>> bool(rr.gamma_min in (0.0, 0.5, 1.0))
    True
    >>> bool(rr.result.settings["lam"] == rr.lam_min)
    True
    """
    names = _feature_names(X, feature_names)
    data = training_data(X, n, k, y, sample_weight, offset, fit_intercept)
    m, p = data.design.n_rows, data.design.n_features
    spec = make_spec(p, l1_ratio, penalty_factor, bounds, fit_intercept, standardize, threads,
                     factr, pgtol, max_iter, screen, solver, standardize_penalty)
    measure = as_measure(measure)
    if rule not in ("min", "1se"):
        raise ValueError(f"rule must be 'min' or '1se'; got {rule!r}")
    stop = make_stop_rule(dfmax, pmax, fdev, devmax)
    relax = as_flag(relax, "relax")
    if gamma is not None and not relax:
        raise ValueError("gamma is cross-validated only with relax=True; pass relax=True "
                         "or leave gamma out")
    gammas = np.unique(as_gamma(GAMMA if gamma is None else gamma)) if relax else None
    if relax:
        as_maxp(relax_maxp, m)  # refuse a bad relax_maxp before any fit
    lam_arr = None if lams is None else as_lams(lams)
    n_lams = as_positive_int(n_lams, "n_lams")
    ratio = as_lam_min_ratio(lam_min_ratio)
    fold_of = make_folds(m, n_folds, folds, seed)
    K = int(fold_of.max()) + 1
    s_all = np.ones(m) if data.sample_weight is None else data.sample_weight
    trials = s_all * data.n
    weight = np.bincount(fold_of, weights=trials, minlength=K)
    total = float(trials.sum())
    for f in range(K):
        if not weight[f] > 0 or not total - weight[f] > 0:
            side = "held-out" if not weight[f] > 0 else "training"
            raise ValueError(f"fold {f} has no {side} trials (sum of sample_weight * n is 0); "
                             "use fewer folds or other fold labels")

    columns = column_access(data, spec)  # one column copy (solver "cd") for every fold
    full = make_engine(data, spec, columns)
    full_prog = make_progress(n_lams if lam_arr is None else len(lam_arr), verbose, progress,
                              "cv")
    try:  # all rows first: glmnet's stopping rules fix the sequence the folds follow
        lam_arr, full_fits, null, top, why = run_path(full, lam_arr, n_lams, ratio, full_prog,
                                                      prefix="[all] ", stop=stop)
    finally:
        full_prog.close()
    if not full_fits:
        raise ValueError(f"no lam can be kept: {why}; raise pmax")
    warn_pmax(why, "the all-rows path")
    L = lam_arr.shape[0]
    prog = make_progress(K * L, verbose, progress, "cv")
    deviance = np.empty((K, L))
    converged = np.empty((K, L), dtype=bool)
    relaxed_totals = None if gammas is None else np.empty((K, gammas.shape[0], L))
    fold_stop = None if stop.pmax is None else StopRule(pmax=stop.pmax)
    try:
        for f in range(K):
            t0 = time.perf_counter()
            idx = np.flatnonzero(fold_of == f)
            engine = make_engine(_fold_data(data, idx), spec, columns)
            _, fits, fnull, _, _ = run_path(engine, lam_arr, L, ratio, prog,
                                            prefix=f"[{f + 1}/{K}] ", stop=fold_stop)
            # a fold that pmax stopped early predicts with its last fit beyond it (glmnet)
            last = fits[-1] if fits else fnull
            fits = fits + [last] * (L - len(fits))
            coef = np.array([ft.solution.coef for ft in fits]).reshape(L, p)
            intercept = np.array([ft.solution.intercept for ft in fits])
            z = held_out_links(data, idx, coef, intercept, spec.threads)
            deviance[f] = score_links(data, idx, z, measure)
            converged[f] = [ft.converged for ft in fits]
            if gammas is not None and relaxed_totals is not None:
                dev = np.array([engine.deviance(ft.solution) for ft in fits])
                refits = relaxed_fits(engine, intercept, coef, dev,
                                      as_maxp(relax_maxp, m - idx.shape[0]))
                relaxed_totals[f] = relaxed_fold_scores(data, idx, gammas, z, refits,
                                                        spec.threads, measure)
            prog.note(f"fold {f + 1}/{K}: {L} lams in {time.perf_counter() - t0:.2f}s")
        per_trial, cv_mean, cv_se = curves(deviance, weight)
        sign = -1.0 if larger_is_better(measure) else 1.0
        i_min, i_1se = choose(sign * cv_mean, cv_se)
        g_min = g_1se = None
        gamma_curves: tuple[Any, Any, Any] = (None, None, None)
        if gammas is not None and relaxed_totals is not None:
            gamma_curves = curves(relaxed_totals, weight)
            (g_min, i_min), (g_1se, i_1se) = choose_pair(sign * gamma_curves[1],
                                                         gamma_curves[2], gammas)
        result = path_result = None
        if refit:
            path_result = make_path_result(full, lam_arr[:i_min + 1], full_fits[:i_min + 1],
                                           null, top, names, why,
                                           None if gammas is None else as_maxp(relax_maxp, m))
            g_pick = g_min if rule == "min" else g_1se
            result = path_result.result(i_min if rule == "min" else i_1se,
                                        gamma=1.0 if g_pick is None or gammas is None
                                        else float(gammas[g_pick]))
    finally:
        prog.close()
    warn_unconverged(np.asarray(converged.all(axis=0)), lam_arr, "cross-validation")
    if path_result is not None:
        warn_unconverged(path_result.converged, path_result.lams, "refit")
    settings = dict(spec.settings(), n_folds=K, seed=seed if folds is None else None,
                    measure=measure)
    if gammas is not None:
        settings.update(relax=True, gamma=gammas.tolist(), relax_maxp=relax_maxp)
    return CVResult(
        lams=lam_arr, cv_mean=cv_mean, cv_se=cv_se, fold_deviance=per_trial,
        fold_weight=weight, folds=fold_of, index_min=i_min, index_1se=i_1se,
        lam_min=float(lam_arr[i_min]), lam_1se=float(lam_arr[i_1se]), rule=rule,
        fold_converged=converged, result=result, path=path_result,
        l1_ratio=spec.l1_ratio, settings=settings, gammas=gammas,
        gamma_cv_mean=gamma_curves[1], gamma_cv_se=gamma_curves[2],
        gamma_fold_deviance=gamma_curves[0], index_gamma_min=g_min, index_gamma_1se=g_1se,
        gamma_min=1.0 if g_min is None or gammas is None else float(gammas[g_min]),
        gamma_1se=1.0 if g_1se is None or gammas is None else float(gammas[g_1se]),
    )
