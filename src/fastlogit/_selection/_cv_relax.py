"""Cross-validation of the relaxed lasso (``fastlogit.cv(..., relax=True)``, cv.glmnet's
``relax = TRUE``).

Every fold's path is also refitted without penalty on each lam's active set (_relax.py), and
each (gamma, lam) scores the held-out rows with the blend of glmnet's ``relax.glmnet``:

    z(gamma) = gamma * z_penalised + (1 - gamma) * z_relaxed,

the linear predictor of the blended intercept and coefficients (offset included once: the
blend is linear). The curve of every gamma follows the fold weighting of the gamma-free
curve (see _cv.py). The pair chosen is glmnet's (``getOptcv.relaxed``): (gamma_min, lam_min)
has the least cv_mean over all pairs, ties going to the larger lam and then the larger
gamma; (gamma_1se, lam_1se) is the pair of largest lam, then largest gamma, whose cv_mean is
within one standard error (that of the minimising pair) of the minimum.

glmnet evaluates gamma = 0 as gamma = 1e-5 (``blend.relaxed``'s epsilon) and, where an
active set is too large for a relaxed fit (maxp), blends in the relaxed fit of the last lam
that has one; here gamma = 0 is the relaxed fit itself and such pairs are NaN, never chosen.
"""

from __future__ import annotations

import numpy as np

from fastlogit._input._training import TrainingData
from fastlogit._selection._cv_measures import held_out_total
from fastlogit._selection._relax import RelaxedFits
from fastlogit.backend._objective import linear_predictor


def held_out_links(data: TrainingData, idx: np.ndarray, coef: np.ndarray,
                   intercept: np.ndarray, threads: int) -> np.ndarray:
    """The linear predictors of rows idx at every point of a path, shape (n_lams, len(idx));
    NaN where the point is NaN (a relaxed fit not made)."""
    out = np.full((coef.shape[0], idx.shape[0]), np.nan)
    for j in range(coef.shape[0]):
        if np.isfinite(intercept[j]) and np.all(np.isfinite(coef[j])):
            out[j] = linear_predictor(data.design, float(intercept[j]), coef[j], data.offset,
                                      threads)[idx]
    return out


def score_links(data: TrainingData, idx: np.ndarray, z: np.ndarray,
                measure: str) -> np.ndarray:
    """The measure of rows idx summed over their trials, for every row of z, shape
    (n_lams,); NaN where z is."""
    n, k = data.n[idx], data.k[idx]
    s = np.ones(idx.shape[0]) if data.sample_weight is None else data.sample_weight[idx]
    out = np.full(z.shape[0], np.nan)
    for j in range(z.shape[0]):
        if np.all(np.isfinite(z[j])):
            out[j] = held_out_total(measure, z[j], n, k, s)
    return out


def relaxed_fold_scores(data: TrainingData, idx: np.ndarray, gammas: np.ndarray,
                        z_penalised: np.ndarray, relaxed: RelaxedFits, threads: int,
                        measure: str) -> np.ndarray:
    """The held-out measure of one fold at every (gamma, lam), shape (n_gamma, n_lams)."""
    z_relaxed = held_out_links(data, idx, relaxed.coef, relaxed.intercept, threads)
    out = np.empty((gammas.shape[0], z_penalised.shape[0]))
    for g, gamma in enumerate(gammas):
        z = z_penalised if gamma == 1.0 else gamma * z_penalised + (1 - gamma) * z_relaxed
        out[g] = score_links(data, idx, z, measure)
    return out


def curves(totals: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """(per-trial fold values, cv_mean, cv_se) of fold totals of shape (n_folds, ...)."""
    K = weight.shape[0]
    w = weight.reshape((K,) + (1,) * (totals.ndim - 1))
    per_trial = totals / w
    cv_mean = totals.sum(axis=0) / weight.sum()
    var = np.sum(w * (per_trial - cv_mean) ** 2, axis=0) / weight.sum()
    return per_trial, cv_mean, np.sqrt(var / (K - 1))


def choose_pair(cv_mean: np.ndarray, cv_se: np.ndarray, gammas: np.ndarray
                ) -> tuple[tuple[int, int], tuple[int, int]]:
    """glmnet's joint choice on curves of shape (n_gamma, n_lams) (lams decreasing, smaller
    is better): ((gamma index, lam index) of the minimum, the same of the one-SE pair).
    Ties go to the larger lam, then to the larger gamma; NaN pairs are never chosen."""
    if not np.any(np.isfinite(cv_mean)):
        raise ValueError("no (gamma, lam) pair could be scored: every relaxed fit is "
                         "missing; raise relax_maxp")
    finite = np.where(np.isfinite(cv_mean), cv_mean, np.inf)
    best = float(finite.min())
    g_min, i_min = _largest(finite <= best, gammas)
    bound = best + float(cv_se[g_min, i_min])
    g_1se, i_1se = _largest(finite <= bound, gammas)
    return (g_min, i_min), (g_1se, i_1se)


def _largest(candidates: np.ndarray, gammas: np.ndarray) -> tuple[int, int]:
    """The candidate of largest lam (smallest lam index), then of largest gamma."""
    i = int(np.flatnonzero(candidates.any(axis=0))[0])
    rows = np.flatnonzero(candidates[:, i])
    return int(rows[np.argmax(gammas[rows])]), i
