"""Covariances beyond the model's own: quasi-binomial scaling, heteroskedasticity-consistent
(HC0-HC3) and cluster-robust sandwiches, leverages and per-row quadratic forms.

All work on a fitted ``LogitResult`` (arrays; the formula layer calls the same
functions). With B = cov_params() (the inverse Hessian) and the score of row i
u_i = r_i x~_i, r_i = s_i (k_i - n_i p_i), the sandwiches are R's
``sandwich::vcovHC`` and ``vcovCL``:

    HC0:  B (sum_i r_i^2 x~_i x~_i^T) B
    HC1:  HC0 * m / (m - P)                 (m rows with trials, P parameters)
    HC2:  r_i^2 / (1 - h_i)                 (h_i the leverage, ``leverages``)
    HC3:  r_i^2 / (1 - h_i)^2
    cluster (vcovCL's default for a glm: type "HC0" with the cluster adjustment
          G / (G - 1), the CR1 correction):  G / (G - 1) * B (sum_g u_g u_g^T) B,
          u_g = sum_{i in g} u_i over the G clusters.

Rows without trials (s_i n_i = 0) neither count in m nor as clusters: the result is
the one of the data without them. (sandwich counts them in its n and so shrinks
the covariance by (m / rows)^2; R's own answer is reproduced by dropping those rows.)

The "meat" sum_i r_i^2 x~_i x~_i^T is the Hessian kernel's weighted Gram
X~^T diag(r^2) X~: one pass over the rows, nothing of size n x n. Cluster
sums are one sparse product G x n by n x P. Leverages h_i = d_i x~_i^T B x~_i
(d_i the working weight s_i n_i p_i (1 - p_i)) come from ``row_quadratic``,
which reads X in blocks of rows and keeps O(block x P) scratch.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import Design
from fastlogit.backend._curvature import weighted_gram

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")
_BLOCK_BYTES = 32 << 20


def check_cov_type(cov_type: str, groups: Any) -> str:
    """The validated cov_type; "cluster" needs groups, the others refuse them."""
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}; got {cov_type!r}")
    if cov_type == "cluster" and groups is None:
        raise ValueError("cov_type='cluster' needs groups= (one cluster label per row)")
    if cov_type != "cluster" and groups is not None:
        raise ValueError(f"groups= is only used with cov_type='cluster', not {cov_type!r}")
    return cov_type


def row_quadratic(design: Design, C: np.ndarray, intercept: bool) -> np.ndarray:
    """q_i = x~_i^T C x~_i for every row (x~_i = [1, x_i] with an intercept), shape (n_rows,).

    C is symmetric (P x P). Rows are read in blocks; the scratch is one
    block x P dense array.
    """
    X = design.matrix
    m = design.n_rows
    P = C.shape[0]
    out = np.empty(m, dtype=np.float64)
    s = int(intercept)
    Cw = C[s:, s:]
    cb = C[s:, 0] if intercept else None
    block = max(1, _BLOCK_BYTES // (8 * max(P, 1)))
    for i0 in range(0, m, block):
        Xb = X[i0:i0 + block]
        M = np.asarray(Xb @ Cw)
        if sp.issparse(Xb):
            q = np.asarray(Xb.multiply(M).sum(axis=1)).ravel()
        else:
            q = np.einsum("ij,ij->i", Xb, M)
        if intercept:
            q = q + C[0, 0] + 2.0 * np.asarray(Xb @ cb).ravel()
        out[i0:i0 + block] = q
    return out


def _train_arrays(res: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    t = res._train()
    s = res._row_weights()
    return t, s * t.n, s * t.k, res.fitted_proba


def score_residuals(res: Any) -> np.ndarray:
    """r_i = s_i (k_i - n_i p_i): row i's score is r_i x~_i, shape (n_rows,)."""
    _, sn, sk, p = _train_arrays(res)
    return sk - sn * p


def working_weights(res: Any) -> np.ndarray:
    """d_i = s_i n_i p_i (1 - p_i), the IRLS weights at the fit, shape (n_rows,)."""
    _, sn, _, p = _train_arrays(res)
    return sn * p * (1.0 - p)


def leverages(res: Any, cov_unscaled: Optional[np.ndarray] = None) -> np.ndarray:
    """Diagonal of the weighted hat matrix, h_i = d_i x~_i^T (X~^T D X~)^{-1} x~_i (R's
    ``hatvalues`` of a glm), shape (n_rows,)."""
    B = res.cov_params() if cov_unscaled is None else cov_unscaled
    return working_weights(res) * row_quadratic(res._train().design, B, res._fit_intercept)


def _sandwich(B: np.ndarray, meat: np.ndarray) -> np.ndarray:
    V = B @ meat @ B
    return 0.5 * (V + V.T)


def robust_cov(res: Any, cov_type: str, groups: Any = None,
               cov_unscaled: Optional[np.ndarray] = None) -> np.ndarray:
    """The sandwich covariance of ``res.params`` (see the module docstring).

    Parameters
    ----------
    res : LogitResult
        A fit holding its training data.
    cov_type : {"HC0", "HC1", "HC2", "HC3", "cluster"}
    groups : array_like of shape (n_rows,), optional
        Cluster labels (any hashable values) for "cluster".
    cov_unscaled : ndarray of shape (P, P), optional
        The inverse Hessian, when already at hand.

    Returns
    -------
    ndarray of shape (P, P)

    Raises
    ------
    ValueError
        For another cov_type, missing or misshapen groups, a single cluster, or a
        row with leverage 1 (HC2/HC3).

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> from fastlogit._models._robust import robust_cov
    >>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10],
    ...                     [2, 4, 5, 8], lam=0.0, solver="newton")
    >>> robust_cov(res, "HC0").shape
    (2, 2)
    """
    check_cov_type(cov_type, groups)
    if cov_type == "nonrobust":
        raise ValueError("robust_cov computes sandwiches; the model's own covariance is "
                         "cov_params()")
    B = res.cov_params() if cov_unscaled is None else cov_unscaled
    t = res._train()
    design = t.design
    intercept = res._fit_intercept
    r = score_residuals(res)
    live = res._row_weights() * t.n > 0
    m, P = int(np.count_nonzero(live)), B.shape[0]
    threads = resolve_threads(res.settings.get("threads"))
    if cov_type == "cluster":
        codes = _cluster_codes(groups, design.n_rows)
        G = int(np.unique(codes[live]).size)
        if G < 2:
            raise ValueError("cov_type='cluster' needs at least two clusters in groups")
        n_codes = int(codes.max()) + 1
        S = sp.csr_matrix((r, (codes, np.arange(design.n_rows))), shape=(n_codes, design.n_rows))
        U = S @ design.matrix
        U = U.toarray() if sp.issparse(U) else np.asarray(U)
        if intercept:
            U = np.column_stack([np.bincount(codes, weights=r, minlength=n_codes), U])
        adjust = G / (G - 1.0)
        return adjust * _sandwich(B, U.T @ U)
    weight = r * r
    if cov_type in ("HC2", "HC3"):
        h = working_weights(res) * row_quadratic(design, B, intercept)
        if np.any(h >= 1.0 - 1e-10):
            i = int(np.flatnonzero(h >= 1.0 - 1e-10)[0])
            raise ValueError(f"row {i} has leverage 1 (it alone determines a parameter): "
                             f"{cov_type} is undefined; use HC0 or HC1")
        weight = weight / ((1.0 - h) if cov_type == "HC2" else (1.0 - h) ** 2)
    V = _sandwich(B, weighted_gram(design, weight, intercept, threads))
    if cov_type == "HC1":
        V *= m / (m - P)
    return V


def _cluster_codes(groups: Any, m: int) -> np.ndarray:
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.shape[0] != m:
        raise ValueError(f"groups must have one label per row ({m}); got shape {arr.shape}")
    try:
        _, codes = np.unique(arr, return_inverse=True)
    except TypeError:  # mixed types: compare as strings
        _, codes = np.unique(arr.astype(str), return_inverse=True)
    return codes.astype(np.int64)
