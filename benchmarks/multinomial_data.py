"""Seeded problems for the multinomial and aggregation benchmarks.

The designs come from fastlogit.datasets (one-hot CSR, dense N(0, 1)); the
labels are drawn from a true softmax model by the Gumbel-max trick.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fastlogit.datasets import make_dense_binomial, make_sparse_binomial


def _labels(Z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(Z + rng.gumbel(size=Z.shape), axis=1)


def sparse_multinomial(n_rows=200_000, n_features=1_000, nnz_per_row=20, n_classes=10, seed=0):
    """(X one-hot CSR with nnz_per_row ones per row, labels in 0..K-1)."""
    X = make_sparse_binomial(n_rows, n_features, nnz_per_row, mean_trials=1, seed=seed).X
    rng = np.random.default_rng(seed + 1)
    W = rng.normal(0.0, 0.3, size=(n_features, n_classes))
    return X, _labels(X @ W, rng)


def dense_multinomial(n_rows=200_000, n_features=100, n_classes=10, seed=0):
    """(X dense N(0, 1), labels in 0..K-1) with scores of unit spread."""
    X = make_dense_binomial(n_rows, n_features, mean_trials=1, seed=seed).X
    rng = np.random.default_rng(seed + 1)
    W = rng.normal(0.0, 1.0 / np.sqrt(n_features), size=(n_features, n_classes))
    return X, _labels(X @ W, rng)


def duplicated_binary(n_rows=10_000_000, n_distinct=1_000_000, n_features=1_000,
                      nnz_per_row=10, seed=0):
    """0/1 CSR rows drawn from a pool of n_distinct rows (each repeats n_rows / n_distinct
    times on average), with 0/1 labels from a true logistic model."""
    rng = np.random.default_rng(seed)
    pool = make_sparse_binomial(n_distinct, n_features, nnz_per_row, mean_trials=1,
                                seed=seed).X
    pick = rng.integers(0, n_distinct, size=n_rows)
    X = pool[pick]
    X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=X.shape)
    w = rng.normal(0.0, 0.3, size=n_features)
    z = X @ w - 0.5
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y
