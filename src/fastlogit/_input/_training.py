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
    if not float(sn.sum()) > 0:
        raise ValueError("the rows carry no trials (sum of sample_weight * n is 0): nothing to fit")
    return TrainingData(design, n_arr, k_arr, s, off)


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
        if self.counts is not None:
            total = self.counts.sum(axis=1)
            return total if self.sample_weight is None else total * self.sample_weight
        if self.sample_weight is None:
            return np.ones(self.design.n_rows)
        return self.sample_weight


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
    return data, targets
