"""The penalty of a fit as glmnet's ``standardize=TRUE`` defines it (``standardize_penalty``).

glmnet penalises the coefficients of the standardised columns: each column divided by its
weighted population standard deviation, the weights s_i n_i normalised to sum 1 (the
divisor is 1, not 1 - 1/N), about the weighted mean whether or not there is an intercept.
On the user's scale that is an L1 factor c_j sd_j and an L2 factor c_j sd_j^2 (see
``standardized_factors``); the coefficients are reported on the user's scale, as glmnet
reports them. The spreads come from the rows the fit sees: a cross-validation fold's
training rows (held-out rows have weight 0), as glmnet's folds standardise their own rows.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from fastlogit._input._training import TrainingData
from fastlogit._penalties._penalties import ElasticNet, standardized_factors
from fastlogit.backend._objective import Standardization


def penalty_factors(data: TrainingData, factor: Optional[np.ndarray], standardize_penalty: bool,
                    threads: int, centred: Optional[Standardization] = None
                    ) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """(L1 factors, L2 factors) of a fit: ``(factor, None)`` unless standardize_penalty
    (None for the L2 factors means "the same as the L1 factors"). ``centred``: the data's
    centred standardisation when the caller has it (two passes over X saved)."""
    if not standardize_penalty:
        return factor, None
    std = centred
    if std is None:
        s = data.sample_weight
        sn = data.n if s is None else s * data.n
        std = Standardization.from_data(data.design, sn, True, threads)
    assert std.var is not None
    return standardized_factors(factor, std.var)


def make_penalty(lam: float, l1_ratio: float, factors: tuple[Optional[np.ndarray],
                 Optional[np.ndarray]]) -> ElasticNet:
    return ElasticNet(lam, l1_ratio, factors[0], factors[1])
