"""Seeded synthetic binomial problems, for the demo, the benchmarks and the tests.

The sparse generator mimics one-hot click data: each row has ``nnz_per_row``
categorical fields, each field owning ``n_features // nnz_per_row`` columns,
and the row sets exactly one column per field to 1.0. Columns within a row
are therefore distinct and sorted (canonical CSR). Levels are drawn
uniformly, or with Zipf popularity (``zipf=a``) as real categorical data has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from fastlogit._core import _special


@dataclass(frozen=True)
class BinomialProblem:
    """A synthetic problem and the truth it was drawn from."""

    X: Any  # ndarray or csr_matrix, shape (n_rows, n_features)
    n: np.ndarray  # trials, float64
    k: np.ndarray  # successes, float64
    coef: np.ndarray  # true w
    intercept: float  # true b

    @property
    def nbytes(self) -> int:
        X = self.X
        own = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes
        return int(own + self.n.nbytes + self.k.nbytes)


def _draw_counts(rng: np.random.Generator, z: np.ndarray, mean_trials: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    m = z.shape[0]
    n = np.ones(m)
    if mean_trials > 1:
        n += rng.poisson(mean_trials - 1.0, size=m)
    k = rng.binomial(n.astype(np.int64), _special.sigmoid(z)).astype(np.float64)
    return n, k


def make_sparse_binomial(
    n_rows: int = 1_000_000,
    n_features: int = 100_000,
    nnz_per_row: int = 32,
    *,
    zipf: Optional[float] = None,
    mean_trials: float = 10.0,
    coef_scale: float = 0.3,
    intercept: float = -1.0,
    dtype: Any = np.float64,
    index_dtype: Any = np.int32,
    seed: int = 0,
) -> BinomialProblem:
    """A one-hot CSR design with binomial counts n_i = 1 + Poisson(mean_trials - 1).

    Parameters
    ----------
    n_rows, n_features, nnz_per_row : int
        Shape and nonzeros per row (the number of categorical fields).
    zipf : float, optional
        Zipf exponent a > 1 for level popularity within each field (None: uniform).
    mean_trials : float
        Mean of n_i (1 gives 0/1 rows).
    coef_scale : float
        Standard deviation of the true coefficients.
    intercept : float
        True intercept.
    dtype, index_dtype
        float32/float64 values; int32/int64 indices.
    seed : int

    Returns
    -------
    BinomialProblem

    Examples
    --------
    >>> prob = make_sparse_binomial(1000, 200, 8, seed=1)
    >>> prob.X.shape, prob.X.nnz
    ((1000, 200), 8000)
    """
    if nnz_per_row < 1 or n_features < nnz_per_row:
        raise ValueError("need 1 <= nnz_per_row <= n_features")
    rng = np.random.default_rng(seed)
    levels = n_features // nnz_per_row
    if zipf is None:
        level = rng.integers(0, levels, size=(n_rows, nnz_per_row), dtype=np.int64)
    else:
        if zipf <= 1:
            raise ValueError("zipf must be > 1")
        cdf = np.cumsum(1.0 / np.arange(1, levels + 1) ** zipf)
        cdf /= cdf[-1]
        level = np.searchsorted(cdf, rng.random((n_rows, nnz_per_row)), side="right")
        np.minimum(level, levels - 1, out=level)
        # popular levels are scattered over each field's columns, not the first ones
        level = rng.permutation(levels)[level]
    indices = (level + np.arange(nnz_per_row) * levels).astype(index_dtype).reshape(-1)
    indptr = np.arange(0, n_rows * nnz_per_row + 1, nnz_per_row, dtype=index_dtype)
    data = np.ones(n_rows * nnz_per_row, dtype=dtype)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))
    coef = rng.normal(0.0, coef_scale, size=n_features)
    z = X @ coef + intercept
    n, k = _draw_counts(rng, z, mean_trials)
    return BinomialProblem(X, n, k, coef, intercept)


def make_dense_binomial(
    n_rows: int = 200_000,
    n_features: int = 100,
    *,
    mean_trials: float = 10.0,
    coef_scale: Optional[float] = None,
    intercept: float = -0.5,
    dtype: Any = np.float64,
    order: str = "C",
    seed: int = 0,
) -> BinomialProblem:
    """A dense N(0, 1) design with binomial counts.

    ``coef_scale`` defaults to 1 / sqrt(n_features), so that z has unit spread.

    Examples
    --------
    >>> prob = make_dense_binomial(100, 5, seed=1)
    >>> prob.X.shape
    (100, 5)
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float64)
    X = np.asarray(X, dtype=dtype, order="F" if order == "F" else "C")
    scale = 1.0 / np.sqrt(max(n_features, 1)) if coef_scale is None else coef_scale
    coef = rng.normal(0.0, scale, size=n_features)
    z = X @ coef + intercept
    n, k = _draw_counts(rng, z, mean_trials)
    return BinomialProblem(X, n, k, coef, intercept)
