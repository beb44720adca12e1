"""Second-order information of F: Hessian weights, Hessian-vector products and the
full Hessian, through the compiled kernels of _hessian.pyx.

    H(b, w) = X~^T D X~ + lam * diag(0, c),   D_ii = s_i n_i sigmoid(z_i)(1 - sigmoid(z_i))

with X~ = [1, X] (the intercept first) and c the penalty factors. ``Curvature``
works in the user's parametrisation (b, w); ``hessp_theta`` maps a product to
the standardised coordinates theta = (b', v) of _objective.py (w = v / sd,
b = b' - mu . w): with J = d(b, w)/d theta, H_theta = J^T H J, and J^T is the
same map as ``Standardization.grad_from_user``.

Memory. A dense (P x P) float64 Hessian, P = n_features + 1, needs 8 P^2
bytes; inverting it (standard errors) or factorising it (Newton) needs as
much again. ``MAX_HESSIAN_BYTES`` (1 GiB: P up to 11,585) is the largest
matrix fastlogit will form; beyond it every caller raises a ValueError that
names the size. The kernel keeps one such buffer per thread; the threads are
reduced so that the extra buffers stay within ``THREAD_BUFFER_BYTES``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastlogit._core import _hessian
from fastlogit._core._threads import single_threaded_blas
from fastlogit._input._validate import LAYOUT_CSR, Design
from fastlogit.backend._objective import L2Penalty

MAX_HESSIAN_BYTES = 1 << 30
THREAD_BUFFER_BYTES = 1 << 29
# CSR rows holding at least this fraction of the columns are densified in blocks
# and handed to dsyrk; sparser rows use the pairwise update (O(nnz_i^2) per row).
_DENSE_BLOCK_DENSITY = 0.1


def hessian_nbytes(n_params: int) -> int:
    """Bytes of one dense float64 (n_params x n_params) matrix."""
    return 8 * n_params * n_params


def _format_bytes(nbytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    raise AssertionError  # pragma: no cover


def check_hessian_size(n_params: int, purpose: str, advice: str) -> None:
    """Raise a ValueError naming the memory the dense Hessian would need, if above the limit."""
    need = hessian_nbytes(n_params)
    if need > MAX_HESSIAN_BYTES:
        raise ValueError(
            f"{purpose} needs the dense {n_params} x {n_params} Hessian of the parameters: "
            f"{_format_bytes(need)}, and as much again to factorise it, above fastlogit's "
            f"limit of {_format_bytes(MAX_HESSIAN_BYTES)} (fastlogit.backend._curvature."
            f"MAX_HESSIAN_BYTES). {advice}"
        )


def gram_pairs(design: Design) -> bool:
    """Whether the Hessian kernel should use pairwise sparse updates (sparse CSR) rather than
    densified blocks and dsyrk (dense X, or CSR rows holding >= 10 % of the columns)."""
    if design.layout != LAYOUT_CSR or not design.n_rows or not design.n_features:
        return True
    return design.values.shape[0] / (design.n_rows * design.n_features) < _DENSE_BLOCK_DENSITY


def gram_threads(P: int, threads: int) -> int:
    """Threads for a P x P Gram pass: every thread but the first keeps a private P x P
    buffer, so their number is capped to keep those within THREAD_BUFFER_BYTES."""
    return max(1, min(threads, 1 + THREAD_BUFFER_BYTES // max(hessian_nbytes(P), 1)))


def weighted_gram(design: Design, d: np.ndarray, intercept: bool, threads: int) -> np.ndarray:
    """X~^T diag(d) X~ for non-negative row weights d, one pass over X.

    The intercept's row and column come first when ``intercept``, otherwise they are
    dropped. The Gram kernel of the Hessian, with other weights: the robust "meat", the
    aliasing check and each block of the softmax Hessian.
    """
    P = design.n_features + 1
    G = np.empty((P, P), dtype=np.float64)
    with single_threaded_blas():  # dsyrk runs inside our threads
        _hessian.weighted_gram(*design.kernel_args, np.ascontiguousarray(d, dtype=np.float64),
                               G, gram_threads(P, threads), gram_pairs(design))
    return G if intercept else G[1:, 1:].copy()


def penalty_diagonal(penalty: Any, n_features: int, solver: Optional[str] = None) -> np.ndarray:
    """lam * c_j: the (diagonal) Hessian of an L2 penalty; anything else is refused."""
    l1 = float(getattr(penalty, "l1_ratio", 0.0) or 0.0)
    if not isinstance(penalty, L2Penalty) or l1 > 0:
        who = f"solver {solver!r}" if solver else "this computation"
        raise ValueError(
            f"{who} needs a twice-differentiable penalty: it supports the L2 (ridge) penalty "
            f"only, not l1_ratio > 0. Use solver='lbfgs' for L1/elastic-net penalties."
        )
    factor = getattr(penalty, "factor", None)
    diag = np.full(n_features, float(penalty.lam))
    if factor is not None:
        diag = diag * np.asarray(factor, dtype=np.float64)
    return diag


class Curvature:
    """Hessian weights, products and the full Hessian of F in the user's (b, w).

    Parameters
    ----------
    design : Design
    sn : ndarray of shape (n_rows,)
        s_i n_i (sample weights folded into the trials).
    offset : ndarray of shape (n_rows,) or None
    threads : int
    fit_intercept : bool
        Whether b is a parameter: the full Hessian then has the intercept row
        and column first, otherwise they are dropped.
    penalty_diag : ndarray of shape (n_features,)
        The penalty's Hessian lam * c_j (zeros for an unpenalised fit).
    """

    def __init__(self, design: Design, sn: np.ndarray, offset: Optional[np.ndarray],
                 threads: int, fit_intercept: bool, penalty_diag: np.ndarray) -> None:
        self.design = design
        self.sn = sn
        self.offset = offset
        self.threads = threads
        self.fit_intercept = fit_intercept
        self.penalty_diag = penalty_diag
        self._hv = np.empty(design.n_features, dtype=np.float64)

    @classmethod
    def from_objective(cls, objective: Any, solver: Optional[str] = None) -> Any:
        """The curvature of an objective's loss: a Curvature for a local BinomialLoss, a
        SummedCurvature for a loss that sums its own Hessian (fastlogit.dask)."""
        loss = objective.loss
        diag = penalty_diagonal(objective.penalty, objective.n_features, solver)
        if not hasattr(loss, "design"):
            return SummedCurvature(loss, objective.fit_intercept, diag)
        return cls(loss.design, loss.sn, loss.offset, loss.threads, objective.fit_intercept,
                   diag)

    @property
    def n_params(self) -> int:
        return self.design.n_features + int(self.fit_intercept)

    def weights(self, b: float, w: np.ndarray) -> np.ndarray:
        """D_ii = s_i n_i sigmoid(z_i)(1 - sigmoid(z_i)) at (b, w): one pass, shape (n_rows,)."""
        d = np.empty(self.design.n_rows, dtype=np.float64)
        _hessian.binomial_hessian_weights(*self.design.kernel_args, self.sn, self.offset,
                                          np.ascontiguousarray(w, dtype=np.float64), float(b),
                                          d, self.threads)
        return d

    def hessp(self, d: np.ndarray, vb: float, vw: np.ndarray) -> tuple[float, np.ndarray]:
        """(H v) for v = (vb, vw) with loss weights d: one pass. The returned array is reused."""
        hb = _hessian.weighted_hessp(*self.design.kernel_args, d,
                                     np.ascontiguousarray(vw, dtype=np.float64), float(vb),
                                     self._hv, self.threads)
        return hb, self._hv + self.penalty_diag * vw

    def hessp_theta(self, objective: Any, d: np.ndarray, v: np.ndarray) -> np.ndarray:
        """H_theta v / S in the standardised coordinates of ``objective``."""
        std = objective.std
        if self.fit_intercept:
            vw = v[1:] / std.sd
            vb = float(v[0]) - float(np.add.reduce(std.mu * vw))
        else:
            vw, vb = v / std.sd, 0.0
        hb, hw = self.hessp(d, vb, vw)
        out = std.grad_from_user(hb if self.fit_intercept else 0.0, hw)
        if self.fit_intercept:
            out = np.concatenate(([hb], out))
        return out / objective.scale

    def hessian(self, b: float, w: np.ndarray, purpose: str = "the Hessian",
                advice: str = "") -> np.ndarray:
        """The penalised Hessian at (b, w), shape (n_params, n_params), intercept first.

        Raises
        ------
        ValueError
            When the matrix would exceed ``MAX_HESSIAN_BYTES``.
        """
        design = self.design
        P = design.n_features + 1
        check_hessian_size(self.n_params, purpose, advice)
        H = np.empty((P, P), dtype=np.float64)
        with single_threaded_blas():  # dsyrk runs inside our threads
            _hessian.binomial_hessian(*design.kernel_args, self.sn, self.offset,
                                      np.ascontiguousarray(w, dtype=np.float64), float(b), H,
                                      gram_threads(P, self.threads), gram_pairs(design))
        idx = np.arange(1, P)
        H[idx, idx] += self.penalty_diag
        return H if self.fit_intercept else H[1:, 1:].copy()


class SummedCurvature:
    """The full Hessian from a loss that adds it up over its own blocks (its ``hessian(b,
    w)`` is X~^T D X~ with the intercept first); all Newton's method needs."""

    def __init__(self, loss: Any, fit_intercept: bool, penalty_diag: np.ndarray) -> None:
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.penalty_diag = penalty_diag

    @property
    def n_params(self) -> int:
        return self.penalty_diag.shape[0] + int(self.fit_intercept)

    def hessian(self, b: float, w: np.ndarray, purpose: str = "the Hessian",
                advice: str = "") -> np.ndarray:
        check_hessian_size(self.n_params, purpose, advice)
        H = np.array(self.loss.hessian(b, w), dtype=np.float64)
        idx = np.arange(1, H.shape[0])
        H[idx, idx] += self.penalty_diag
        return H if self.fit_intercept else H[1:, 1:].copy()


# ---------------------------------------------------------------------------
# Factorising the Hessian
#
# Columns on very different scales make H badly conditioned for no good
# reason, so the Cholesky factorisation is of the Jacobi-scaled S H S,
# S = diag(1/sqrt(H_jj)) (a unit diagonal: the condition number is then the
# one of the correlation structure, not of the units). A zero diagonal (a
# column of zeros in an unpenalised fit) keeps scale 1.


class Factor:
    """Cholesky factor of S H S (+ ridge I), with solves and the inverse of H."""

    def __init__(self, H: np.ndarray, ridge: float = 0.0, overwrite: bool = False) -> None:
        """Factor H (+ ridge). ``overwrite=True``: H (C-contiguous float64) is scaled and
        factored in place, so no second matrix of H's size is ever allocated."""
        from scipy.linalg import cho_factor, lapack

        diag = np.diag(H).copy()
        self.scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
        A = H if overwrite and H.flags.c_contiguous and H.dtype == np.float64 else H.copy()
        A *= self.scale[:, None]  # in place: no temporary of H's size
        A *= self.scale[None, :]
        if ridge:
            A[np.diag_indices_from(A)] += ridge
        anorm = _one_norm(A)
        # raises numpy.linalg.LinAlgError when A is not (numerically) positive definite
        self.chol = cho_factor(A, lower=False, overwrite_a=True, check_finite=False)
        self.ridge = ridge
        rcond, info = lapack.dpocon(self.chol[0], anorm, uplo="U")
        self.rcond = float(rcond) if info == 0 else 0.0

    def solve(self, g: np.ndarray) -> np.ndarray:
        """H^{-1} g."""
        from scipy.linalg import cho_solve

        return self.scale * cho_solve(self.chol, self.scale * g, check_finite=False)

    def inverse(self) -> np.ndarray:
        """H^{-1}, symmetric."""
        from scipy.linalg import lapack

        inv, info = lapack.dpotri(self.chol[0], lower=0)
        if info != 0:  # pragma: no cover - dpotri fails only when dpotrf did
            raise np.linalg.LinAlgError(f"dpotri failed (info={info})")
        # mirror the upper triangle and scale, in place: the factor and the inverse are
        # the only two matrices of H's size alive (np.triu and friends made three more)
        n = inv.shape[0]
        for i in range(n - 1):
            inv[i + 1:, i] = inv[i, i + 1:]
        inv *= self.scale[:, None]
        inv *= self.scale[None, :]
        return inv


def _one_norm(A: np.ndarray, block: int = 256) -> float:
    """max_j sum_i |A_ij|, by blocks of columns (no temporary of A's size)."""
    best = 0.0
    for j in range(0, A.shape[1], block):
        best = max(best, float(np.abs(A[:, j:j + block]).sum(axis=0).max(initial=0.0)))
    return best


# Below this reciprocal condition number (of the scaled Hessian) a Newton step
# is taken with a small ridge instead: the plain step would be dominated by
# rounding along nearly flat directions (collinear columns, separation).
_RCOND_MIN = 1e-13


def regularised_factor(H: np.ndarray) -> Factor:
    """Factor of H, adding the smallest ridge (1e-12, 1e-10, ... relative) that makes it
    safely positive definite: the step along flat directions then stays bounded."""
    ridge = 0.0
    while True:
        try:
            factor = Factor(H, ridge)
            if factor.rcond >= _RCOND_MIN or ridge >= 1.0:
                return factor
        except np.linalg.LinAlgError:
            if ridge >= 1.0:
                raise
        ridge = 1e-12 if ridge == 0.0 else ridge * 100.0
