"""Held-out measures of ``fastlogit.cv`` besides the deviance (glmnet's type.measure).

Each is a sum over the held-out rows' trials (weights s_i), so that the cross-validation
curve is sum_f M_f / sum_f W_f as for the deviance; ``auc``, which does not add up over
rows, is computed per fold and entered as AUC_f * W_f (the fold-weighted mean of the
folds' AUCs, glmnet's weighting).

* ``deviance``: R's binomial deviance.
* ``class``: misclassified trials (a trial is predicted a success when p > 1/2).
* ``auc``: area under the ROC curve, each row carrying s_i k_i successes and
  s_i (n_i - k_i) failures at its score (ties count one half). Larger is better.
* ``mse``, ``mae``: squared and absolute error of p against each trial's 0/1 outcome.
  glmnet's binomial figures add the errors of both classes: twice these.
"""

from __future__ import annotations

import numpy as np

from fastlogit._core import _special

MEASURES = ("deviance", "class", "auc", "mse", "mae")


def as_measure(value: object) -> str:
    if not isinstance(value, str) or value not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES} (glmnet's type.measure); "
                         f"got {value!r}")
    return value


def larger_is_better(measure: str) -> bool:
    return measure == "auc"


def held_out_total(measure: str, z: np.ndarray, n: np.ndarray, k: np.ndarray,
                   s: np.ndarray) -> float:
    """The measure summed over the trials of these rows (AUC: times their weight)."""
    if measure == "deviance":
        return float(_special.unit_deviances(n, k, s, z).sum())
    p = _special.sigmoid(z)
    if measure == "class":
        return float(np.sum(s * np.where(z > 0, n - k, k)))
    if measure == "mse":
        return float(np.sum(s * (k * (1 - p) ** 2 + (n - k) * p ** 2)))
    if measure == "mae":
        return float(np.sum(s * (k * (1 - p) + (n - k) * p)))
    return auc(z, s * k, s * (n - k)) * float(np.sum(s * n))


def auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Weighted AUC: P(score of a success > score of a failure) + P(tie) / 2."""
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if not (total_pos > 0 and total_neg > 0):
        return float("nan")
    order = np.argsort(score, kind="stable")
    z, wp, wn = score[order], pos[order], neg[order]
    _, start = np.unique(z, return_index=True)
    gp, gn = np.add.reduceat(wp, start), np.add.reduceat(wn, start)
    below = np.cumsum(gn) - gn
    return float(np.sum(gp * (below + 0.5 * gn)) / (total_pos * total_neg))
