"""Aliased (linearly dependent) columns of a design, found as R's ``glm`` finds them.

R's QR with limited pivoting (LINPACK dqrdc2) keeps the columns in their
order and moves a column to the end when its norm, after projecting out the
columns kept before it, falls below 1e-11 of its original norm: the aliased
columns are those that are combinations of earlier ones, and their
coefficients are NA.

Here the same order-preserving test runs on the Gram matrix X~^T X~ of the
rows that carry trials (one pass of the Hessian kernel, Jacobi-scaled to a
unit diagonal): a Cholesky factorisation column by column, where column j is
aliased when its squared residual 1 - |L^{-1} g_j|^2 (the squared sine of its
angle to the span of the kept columns) is below ``ALIAS_TOL``. A Gram matrix
squares the condition number, so the threshold is on the squared sine, 1e-9:
a column is declared aliased when within ~3e-5 radians of the others.
Columns that are exactly zero on the rows carrying trials are found for any
size; the full test needs the dense (P x P) Gram and runs up to
``ALIAS_MAX_PARAMS`` parameters.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fastlogit._input._validate import Design
from fastlogit.backend._curvature import Factor, weighted_gram

ALIAS_TOL = 1e-9
ALIAS_MAX_PARAMS = 5000


def zero_columns(design: Design, live: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns with no non-zero value on the rows where ``live``."""
    X = design.matrix
    if sp.issparse(X):
        stored = X.data != 0  # one byte per stored value; no float temporaries
        if not live.all():
            stored &= np.repeat(live, np.diff(X.indptr))
        mass = np.bincount(X.indices[stored] if not stored.all() else X.indices,
                           minlength=design.n_features)
    else:
        mass = np.abs(X[live]).sum(axis=0) if X.shape[1] else np.zeros(0)
    return mass == 0


def aliased_columns(design: Design, sn: np.ndarray, intercept: bool, threads: int) -> np.ndarray:
    """Boolean mask (n_features,) of the columns that are combinations of earlier ones
    (the intercept counts as the first column)."""
    live = sn > 0
    p = design.n_features
    zero = zero_columns(design, live)
    if p + int(intercept) > ALIAS_MAX_PARAMS:
        return zero
    G = weighted_gram(design, live.astype(np.float64), intercept, threads)
    diag = np.diag(G).copy()
    scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    A = G * scale[:, None] * scale[None, :]
    if not zero.any():  # the common case: full rank, one Cholesky factorisation
        try:
            if Factor(G).rcond > 1e-6:
                return zero
        except np.linalg.LinAlgError:
            pass
    P = A.shape[0]
    keep: list = []
    L = np.zeros((P, P))  # rows/cols of kept columns, lower triangular in keep order
    dropped = np.zeros(P, dtype=bool)
    for j in range(P):
        if diag[j] == 0:
            dropped[j] = True
            continue
        q = len(keep)
        if q:
            from scipy.linalg import solve_triangular

            v = solve_triangular(L[:q, :q], A[keep, j], lower=True, check_finite=False)
            resid = 1.0 - float(v @ v)
        else:
            v, resid = np.zeros(0), 1.0
        if resid < ALIAS_TOL:
            dropped[j] = True
            continue
        L[q, :q] = v
        L[q, q] = np.sqrt(resid)
        keep.append(j)
    if intercept:
        if dropped[0]:  # pragma: no cover - a live row always has the intercept's 1
            raise ValueError("the intercept column is zero: no row carries trials")
        dropped = dropped[1:]
    return dropped | zero
