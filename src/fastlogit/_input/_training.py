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
