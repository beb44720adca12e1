"""The per-block work of a distributed fit, run on the Dask workers.

A distributed fit is the local fit cut into row blocks. Each block goes
through the same validation (_validate.py) and the same objective pieces
(``BinomialLoss``, ``column_moments`` from _objective.py) as ``fastlogit.fit``
and returns unnormalised, penalty-free sums; the driver adds the blocks' sums
in a fixed order (``add_parts``, arranged in a tree by _dask_loss.py) and
does the rest (scaling, penalty, standardisation, L-BFGS-B) exactly as the
local fit does. Nothing here imports dask: these are plain functions on
numpy/scipy objects, so a worker only needs fastlogit itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import (
    Design,
    as_binomial_targets,
    as_design,
    as_row_vector,
    as_sample_weight,
)
from fastlogit._solvers._polish import hessian_work
from fastlogit.backend._curvature import Curvature
from fastlogit.backend._objective import BinomialLoss, column_moments, linear_predictor


@dataclass(frozen=True)
class Block:
    """One validated row block, as it lives on a worker for the whole fit."""

    index: int
    where: str  # "X block 3 of 8 (rows 3000 to 3999)", for messages
    design: Design
    sn: np.ndarray  # s * n
    sk: np.ndarray  # s * k
    offset: Optional[np.ndarray]
    feature_names: Optional[tuple] = None


# -- errors that say where ------------------------------------------------------

_ROW = re.compile(r"\brow (\d+)")


def locate(message: str, where: str, row0: Optional[int]) -> str:
    """Prefix a validation message with the block, and make its row numbers global.

    _validate.py numbers rows from 0 within what it was given ("row 17 has
    k=5"); with the block's first row ``row0`` known, that becomes the row of
    the whole (concatenated) data.
    """
    if row0:
        message = _ROW.sub(lambda m: f"row {row0 + int(m.group(1))}", message)
    return f"{where}: {message}"


def reraise(exc: BaseException, message: str) -> None:
    """Raise ``exc`` again with a new message, keeping its type when it can."""
    try:
        new = type(exc)(message)
    except Exception:  # noqa: BLE001 - exception types with unusual constructors
        new = RuntimeError(message)
    raise new from exc


def block_where(index: int, n_blocks: int, row0: int, n_rows: int) -> str:
    return f"X block {index} of {n_blocks} (rows {row0} to {row0 + n_rows - 1})"


# -- building blocks ------------------------------------------------------------


def prepare_block(index: int, where: str, row0: Optional[int], X: Any, n: Any = None,
                  k: Any = None, y: Any = None, sample_weight: Any = None,
                  offset: Any = None, feature_names: Optional[tuple] = None) -> Block:
    """Validate one block exactly as ``fastlogit.fit`` validates its input.

    Errors carry the block (``where``) and, when ``row0`` is known, global
    row numbers.
    """
    try:
        design = as_design(X, "X")
        m = design.n_rows
        n_arr, k_arr = as_binomial_targets(n, k, y, m)
        s = as_sample_weight(sample_weight, m)
        off = as_row_vector(offset, "offset", m)
    except (ValueError, TypeError) as exc:
        reraise(exc, locate(str(exc), where, row0))
    sn, sk = (n_arr, k_arr) if s is None else (s * n_arr, s * k_arr)
    return Block(index, where, design, sn, sk, off, feature_names)


def block_summary(block: Block) -> dict:
    """What the driver checks and needs before fitting (a few numbers per block)."""
    return {
        "index": block.index,
        "where": block.where,
        "n_rows": block.design.n_rows,
        "n_features": block.design.n_features,
        "total_trials": float(block.sn.sum()),
        "total_successes": float(block.sk.sum()),
        "sparse": block.design.is_sparse,
        "nbytes": block.design.nbytes,
        "feature_names": block.feature_names,
        "work": hessian_work(block.design),  # (one Hessian, one pass) for the polish plan
    }


# -- the map and the reduce -------------------------------------------------------


def block_loss_grad(block: Block, params: tuple[float, np.ndarray], threads: Optional[int]
                    ) -> tuple[float, float, np.ndarray]:
    """(L, dL/db, dL/dw) of one block: the local loss object on this block's rows.

    A new BinomialLoss per call, so the gradient is a buffer of this call
    alone (the task's result stays in worker memory until it is reduced).
    """
    b, w = params
    return BinomialLoss(block.design, block.sn, block.sk, block.offset,
                        resolve_threads(threads)).value_grad(b, w)


def block_hessian(block: Block, params: tuple[float, np.ndarray], threads: Optional[int]
                  ) -> tuple[np.ndarray]:
    """(X~^T D X~,) of one block: the unpenalised Hessian with the intercept first."""
    b, w = params
    curvature = Curvature(block.design, block.sn, block.offset, resolve_threads(threads),
                          fit_intercept=True, penalty_diag=np.zeros(block.design.n_features))
    return (curvature.hessian(b, w),)


def block_moments(block: Block, center: np.ndarray, threads: Optional[int]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted column sums about ``center`` of one block (weights s_i n_i)."""
    return column_moments(block.design, block.sn, center, resolve_threads(threads))


def add_parts(*parts: tuple) -> tuple:
    """Element-wise sum of tuples of floats/arrays, strictly left to right.

    The order of the additions is the order of the arguments, so a fixed
    tree over the block indices gives bitwise the same result on every run.
    The inputs are never modified (they are other tasks' stored results).
    """
    total = [np.array(x, dtype=np.float64, copy=True) for x in parts[0]]
    for part in parts[1:]:
        for acc, x in zip(total, part):
            acc += x
    return tuple(float(a) if a.ndim == 0 else a for a in total)


def identity(value: Any) -> Any:
    """A task that holds a small driver value (the parameters) on the cluster.

    Submitted as a task rather than scattered, it can be recomputed from its
    specification if the worker holding it dies.
    """
    return value


# -- predictions ---------------------------------------------------------------------


def block_linear_predictor(X: Any, coef: np.ndarray, intercept: float, offset: Any,
                           where: str, row0: Optional[int], threads: Optional[int]
                           ) -> np.ndarray:
    """z = offset + intercept + X coef for one block of new rows."""
    try:
        design = as_design(X, "X", coef.shape[0])
        off = as_row_vector(offset, "offset", design.n_rows)
    except (ValueError, TypeError) as exc:
        reraise(exc, locate(str(exc), where, row0))
    return linear_predictor(design, intercept, coef, off, resolve_threads(threads))
