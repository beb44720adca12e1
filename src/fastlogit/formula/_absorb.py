"""Covariances of models with a many-level factor, without the dense Hessian.

With a factor of L levels the Hessian is (L + a) x (L + a): 80 GB for
L = 100,000. But one-hot columns of one factor never share a row, so their
block H_BB of the Hessian is diagonal, and the Schur complement gives the
rest exactly:

    H = [[H_AA, H_AB], [H_BA, H_BB]],  H_BB = diag(hb),   C = H_BB^{-1} H_BA  (L x a)
    S = H_AA - H_AB C;   (H^{-1})_AA = S^{-1};
    diag (H^{-1})_BB = 1 / hb + diag(C S^{-1} C^T).

For the sandwiches, row i's score r_i x~_i projected on the A block is
r_i (x~_A,i - v_i C[g_i]) (g_i its level, v_i its value in the factor's
column): the "within-level" centred row. The A block of every sandwich is
S^{-1} (sum over rows or clusters of those projected scores' outer products)
S^{-1}, and a row's leverage is d_i (x~t_i^T S^{-1} x~t_i + v_i^2 / hb[g_i]).
One pass over the rows for H_AA and H_BA, one for the meat; memory
O(rows x a + L x a). Standard errors of the factor's own levels are given for
the model's own covariance; under a sandwich they are NaN (only the A block is
computed).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import as_design
from fastlogit._models._robust import (
    _cluster_codes,
    score_residuals,
    working_weights,
)
from fastlogit.backend._curvature import weighted_gram


def one_hot_codes(X: Any, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(level position within cols, value) per row of the CSR X; -1 and 0 where the row
    has no entry there. Raises when a row has two entries among cols."""
    sub = X[:, cols].tocsr()
    counts = np.diff(sub.indptr)
    if counts.max(initial=0) > 1:
        raise ValueError("the factor's columns share rows: not a one-hot block")
    code = np.full(X.shape[0], -1, dtype=np.int64)
    val = np.zeros(X.shape[0])
    rows = np.flatnonzero(counts)
    code[rows] = sub.indices
    val[rows] = sub.data
    return code, val


def absorbed_bse(res: Any, block: np.ndarray, cov_type: str, groups: Any,
                 dispersion: float) -> np.ndarray:
    """Standard errors of res.params with the one-hot columns ``block`` (indices into
    res.coef) absorbed; see the module docstring. Shape (n_params,)."""
    t = res._train()
    X = sp.csr_matrix(t.design.matrix)
    intercept = res._fit_intercept
    p = X.shape[1]
    in_block = np.zeros(p, dtype=bool)
    in_block[block] = True
    a_cols = np.flatnonzero(~in_block)
    code, val = one_hot_codes(X, block)
    d = working_weights(res)
    threads = resolve_threads(res.settings.get("threads"))
    XA = X[:, a_cols].tocsr()
    design_A = as_design(XA, "X")
    H_AA = weighted_gram(design_A, d, intercept, threads)
    L = block.size
    live = code >= 0
    hb = np.bincount(code[live], weights=(d * val * val)[live], minlength=L)
    lam = float(res.settings.get("lam", 0.0) or 0.0)
    if lam > 0:  # the ridge's Hessian lam c_j, as cov_params() includes it
        factor = res.settings.get("l2_penalty_factor")  # set by standardize_penalty
        factor = res.settings.get("penalty_factor") if factor is None else factor
        pen = lam * (np.ones(p) if factor is None else np.asarray(factor, dtype=np.float64))
        H_AA[np.arange(int(intercept), H_AA.shape[0]), np.arange(int(intercept), H_AA.shape[0])] \
            += pen[a_cols]
        hb = hb + pen[block]
    S_op = sp.csr_matrix(((d * val)[live], (code[live], np.flatnonzero(live))),
                         shape=(L, X.shape[0]))
    H_BA = np.asarray((S_op @ XA).todense())
    if intercept:
        H_BA = np.column_stack([np.asarray(S_op.sum(axis=1)).ravel(), H_BA])
    with np.errstate(divide="ignore", invalid="ignore"):
        C = np.where(hb[:, None] > 0, H_BA / hb[:, None], 0.0)
    S = H_AA - H_BA.T @ C
    S_inv = np.linalg.inv(S)
    a = S.shape[0]
    P = a + L
    bse = np.full(P, np.nan)
    a_pos = (np.concatenate(([0], 1 + a_cols)) if intercept else a_cols).astype(np.intp)
    b_pos = (1 + block if intercept else block).astype(np.intp)
    if cov_type == "nonrobust":
        V_A = S_inv * dispersion
        with np.errstate(divide="ignore"):
            var_b = (1.0 / hb + np.einsum("ij,jk,ik->i", C, S_inv, C)) * dispersion
        bse[b_pos] = np.sqrt(var_b)
        bse[a_pos] = np.sqrt(np.diag(V_A))
        return bse
    # projected A rows: x~_A,i - v_i C[g_i]
    Xt = XA.toarray()
    if intercept:
        Xt = np.column_stack([np.ones(X.shape[0]), Xt])
    Xt[live] -= val[live, None] * C[code[live]]
    r = score_residuals(res)
    m = int(np.count_nonzero(res._row_weights() * t.n > 0))
    if cov_type == "cluster":
        g = _cluster_codes(groups, X.shape[0])
        U = np.zeros((int(g.max()) + 1, a))
        np.add.at(U, g, r[:, None] * Xt)
        G = int(np.unique(g[res._row_weights() * t.n > 0]).size)
        meat = U.T @ U * (G / (G - 1.0))
    else:
        w = r * r
        if cov_type in ("HC2", "HC3"):
            q = np.einsum("ij,jk,ik->i", Xt, S_inv, Xt)
            with np.errstate(divide="ignore", invalid="ignore"):
                q_b = np.where(live, val * val / np.where(live, hb[np.maximum(code, 0)], 1.0), 0)
            h = d * (q + q_b)
            w = w / ((1.0 - h) if cov_type == "HC2" else (1.0 - h) ** 2)
        meat = weighted_gram(as_design(np.ascontiguousarray(Xt), "X"), w, False, threads)
        if cov_type == "HC1":
            meat *= m / (m - P)
    V_A = S_inv @ meat @ S_inv
    bse[a_pos] = np.sqrt(np.diag(V_A))
    return bse


def absorbable_block(model: Any) -> Optional[np.ndarray]:
    """The reduced-column indices of the model's largest many-level factor, or None."""
    enc = model.frame.encoding
    if not enc.big_factors:
        return None
    keep = np.flatnonzero(~model.removed)
    position = np.full(model.removed.shape[0], -1)
    position[keep] = np.arange(keep.size)
    best = None
    for label, cols, _ in enc.terms:
        if label in {f.column for f in enc.big_factors}:
            idx = position[np.array(cols, dtype=np.intp)]
            idx = idx[idx >= 0]
            if best is None or idx.size > best.size:
                best = idx
    return best
