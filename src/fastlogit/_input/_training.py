"""Validated training data: the arrays a fit, a path or a backend objective works on.

The checks and their messages are those of every entry point: a design
(dense or CSR, never copied), the binomial targets (n, k) or labels y, and
the optional sample weights and offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit._input._validate import (
    Design,
    as_binomial_targets,
    as_design,
    as_row_vector,
    as_sample_weight,
)
from fastlogit._input._validate_multi import ClassTargets, as_class_targets, as_real_matrix


@dataclass(frozen=True)
class TrainingData:
    """The validated training inputs (views of the caller's arrays, never copies of X)."""

    design: Design
    n: np.ndarray
    k: np.ndarray
    sample_weight: Optional[np.ndarray]
    offset: Optional[np.ndarray]


def training_data(X: Any, n: Any, k: Any, y: Any, sample_weight: Any, offset: Any,
                  fit_intercept: bool) -> TrainingData:
    """The validated (X, n, k, s, o) of a fit, or a clear error."""
    design = as_design(X, "X")
    m, p = design.n_rows, design.n_features
    if m == 0:
        raise ValueError("X has no rows: there is nothing to fit")
    if p == 0 and not fit_intercept:
        raise ValueError("X has no columns and fit_intercept=False: there is nothing to fit")
    n_arr, k_arr = as_binomial_targets(n, k, y, m)
    s = as_sample_weight(sample_weight, m)
    off = as_row_vector(offset, "offset", m)
    sn = n_arr if s is None else s * n_arr
    check_total_trials(float(sn.sum()))
    return TrainingData(design, n_arr, k_arr, s, off)


#: The range of sum(sample_weight * n) a fit accepts. The solvers divide the objective by
#: this total S and the ridge by S times a variance: outside it those quotients underflow
#: to subnormals or overflow (weights of 1e-315 gave NaN coefficients marked converged).
TOTAL_TRIALS_RANGE = (1e-150, 1e150)


def check_total_trials(total: float) -> None:
    """Refuse a total weight sum(sample_weight * n) of 0 or outside TOTAL_TRIALS_RANGE."""
    if not total > 0:
        raise ValueError("the rows carry no trials (sum of sample_weight * n is 0): nothing to fit")
    lo, hi = TOTAL_TRIALS_RANGE
    if not lo <= total <= hi:
        raise ValueError(
            f"sample_weight * n sums to {total:.3g}, outside [{lo:g}, {hi:g}] where the "
            "objective's scaling stays in float64's normal range; multiply sample_weight by "
            "a constant (the answer is unchanged when lam is multiplied by the same constant)")


@dataclass(frozen=True)
class MultinomialTrainingData:
    """The validated training inputs (views of the caller's arrays where possible)."""

    design: Design
    counts: Optional[np.ndarray]  # (n_rows, K) or None when labels were given
    labels: Optional[np.ndarray]  # (n_rows,) class indices, or None
    sample_weight: Optional[np.ndarray]
    offset: Optional[np.ndarray]  # (n_rows, K) or None

    def row_totals(self) -> np.ndarray:
        """s_i N_i: each row's weighted number of trials."""
        return row_totals(self.counts, self.sample_weight, self.design.n_rows)


def multinomial_training_data(X: Any, y: Any, counts: Any, sample_weight: Any, offset: Any,
                              fit_intercept: bool
                              ) -> tuple[MultinomialTrainingData, ClassTargets]:
    """The validated (X, targets, s, o) of a multinomial fit, or a clear error."""
    design = as_design(X, "X")
    m, p = design.n_rows, design.n_features
    if m == 0:
        raise ValueError("X has no rows: there is nothing to fit")
    targets = as_class_targets(y, counts, m)
    K = targets.n_classes
    s = as_sample_weight(sample_weight, m)
    off = None if offset is None else as_real_matrix(offset, "offset", (m, K))
    if p == 0 and not fit_intercept:
        raise ValueError("X has no columns and fit_intercept=False: there is nothing to fit")
    data = MultinomialTrainingData(design, targets.counts, targets.labels, s, off)
    if not float(data.row_totals().sum()) > 0:
        raise ValueError("the rows carry no counts (sum of sample_weight * N is 0): "
                         "nothing to fit")
    check_total_trials(float(data.row_totals().sum()))
    return data, targets


def row_totals(counts: Optional[np.ndarray], weights: Optional[np.ndarray],
               n_rows: int) -> np.ndarray:
    """s_i N_i, each row's weighted number of trials (N_i = 1 for one label per row)."""
    if counts is not None:
        total = counts.sum(axis=1)
        return total if weights is None else total * weights
    return np.ones(n_rows) if weights is None else weights
