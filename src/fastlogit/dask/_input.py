"""From a user's dask arrays or partitions to validated blocks persisted on the workers.

The driver checks what it can see without touching the data (shapes, chunk
alignment, chunking across columns); the workers validate the values of
their own blocks (``_blockwise.prepare_block``, the same checks as
``fastlogit.fit``). The blocks are computed from a task graph, not
scattered, so Dask can recompute a block whose worker died.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import dask
import dask.array as da
import numpy as np

from fastlogit.dask._blockwise import (
    block_linear_predictor,
    block_summary,
    block_where,
    prepare_block,
)
from fastlogit.dask._loss import BlockSet
from fastlogit.dask._partitions import Partitions, partition_linear_predictor, prepare_partition


def _chunks_text(chunks: tuple) -> str:
    if len(chunks) <= 6:
        return str(tuple(int(c) if not math.isnan(c) else c for c in chunks))
    head = ", ".join(str(int(c)) for c in chunks[:3])
    return f"({len(chunks)} chunks: {head}, ...)"


def check_design_array(X: Any) -> None:
    """X must be a 2-D dask array chunked by rows only, with known chunk sizes."""
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x features); got {X.ndim}-D shape {X.shape}")
    if any(math.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes (as after filtering, or from a dask "
                         "DataFrame); call X.compute_chunk_sizes() first, or build it with "
                         "df.to_dask_array(lengths=True)")
    if len(X.chunks[1]) != 1:
        raise ValueError(
            f"X is chunked across its columns (column chunks {_chunks_text(X.chunks[1])}); "
            "each block must hold whole rows: use X.rechunk({1: -1})"
        )


def row_parts(value: Any, name: str, X: Any, bounds: list) -> list:
    """``value`` cut like the rows of X: one entry per block (None or a scalar repeats)."""
    n_blocks = len(bounds) - 1
    if value is None or (not isinstance(value, da.Array) and np.ndim(value) == 0):
        return [value] * n_blocks
    if isinstance(value, da.Array):
        if value.ndim != 1:
            raise ValueError(f"{name} must be 1-D of length {X.shape[0]}; got shape "
                             f"{value.shape}")
        if any(math.isnan(c) for c in value.chunks[0]):
            raise ValueError(f"{name} has unknown chunk sizes; call "
                             f"{name}.compute_chunk_sizes() first")
        if value.shape[0] != X.shape[0]:
            raise ValueError(f"{name} has length {value.shape[0]} but X has {X.shape[0]} rows; "
                             "they must agree")
        if value.chunks[0] != X.chunks[0]:
            raise ValueError(
                f"{name} is chunked {_chunks_text(value.chunks[0])} but the rows of X "
                f"{_chunks_text(X.chunks[0])}; the chunks must be aligned: use "
                f"{name}.rechunk({{0: X.chunks[0]}})"
            )
        return list(value.to_delayed().ravel())
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != X.shape[0]:
        raise ValueError(f"{name} must be 1-D of length {X.shape[0]} (the rows of X); got "
                         f"shape {arr.shape}")
    return [arr[bounds[i]:bounds[i + 1]] for i in range(n_blocks)]


def array_tasks(X: Any, n: Any, k: Any, y: Any, sample_weight: Any, offset: Any,
                name: str) -> list:
    """The validated blocks of dask arrays (X, n, k, ...) as delayed tasks, one per row chunk.

    Shapes and chunks are checked here, before anything runs."""
    check_design_array(X)
    if X.shape[0] == 0:
        raise ValueError("X has no rows: there is nothing to fit")
    bounds = np.cumsum((0,) + X.chunks[0]).tolist()
    n_blocks = len(bounds) - 1
    vectors = [row_parts(v, label, X, bounds) for label, v in
               (("n", n), ("k", k), ("y", y), ("sample_weight", sample_weight),
                ("offset", offset))]
    xs = X.to_delayed().ravel()
    tasks = [
        dask.delayed(prepare_block, pure=False)(
            i, block_where(i, n_blocks, bounds[i], X.chunks[0][i]), bounds[i], xs[i],
            *(v[i] for v in vectors), dask_key_name=f"{name}-block{i}")
        for i in range(n_blocks)
    ]
    return tasks


def partition_blocks(client: Any, parts: Partitions, name: str, workers: list) -> list:
    """Futures of the validated blocks of partitions, each loaded by a worker.

    Consecutive partitions go to the same worker, the same number to each
    (a preference, not a rule: if that worker dies, any other may load it).
    Even shares keep the workers equally busy in every evaluation, and
    neighbours in the sum tree then mostly sit on the same worker.
    """
    B, W = len(parts), len(workers)
    return [client.submit(prepare_partition, i, B, parts.loader, src, key=f"{name}-block{i}",
                          workers=[workers[i * W // B]], allow_other_workers=True)
            for i, src in enumerate(parts.sources)]


@dataclass(frozen=True)
class DataInfo:
    n_rows: int
    n_features: int
    total_trials: float
    total_successes: float
    nbytes: int
    feature_names: Optional[tuple]
    hessian_work: float  # one Hessian's rows and one pass, summed over blocks (_polish.py)
    pass_cost: float


def summarise(blocks: BlockSet, fit_intercept: bool) -> DataInfo:
    """Wait for the blocks; raise the first bad block's error; check they fit together."""
    futures = [blocks.client.submit(block_summary, f, key=f"{blocks.name}-summary{i}")
               for i, f in enumerate(blocks.futures)]
    for future in futures:  # in block order, so the error reported is the first block's
        if future.exception() is not None:
            future.result()
    rows = blocks.client.gather(futures)
    first = rows[0]
    p, names = first["n_features"], first["feature_names"]
    for row in rows[1:]:
        if row["n_features"] != p:
            raise ValueError(f"{row['where']} has {row['n_features']} columns but "
                             f"{first['where']} has {p}; every block needs the same columns")
        if row["feature_names"] != names:
            raise ValueError(f"{row['where']} has other columns than {first['where']}: "
                             f"{row['feature_names']} against {names}")
    m = sum(row["n_rows"] for row in rows)
    if m == 0:
        raise ValueError("X has no rows: there is nothing to fit")
    if p == 0 and not fit_intercept:
        raise ValueError("X has no columns and fit_intercept=False: there is nothing to fit")
    total = 0.0
    total_k = 0.0
    for row in rows:  # block order: the same sum every run
        total += row["total_trials"]
        total_k += row["total_successes"]
    if not total > 0:
        raise ValueError("the rows carry no trials (sum of sample_weight * n is 0): "
                         "nothing to fit")
    hessian = sum(row["work"][0] for row in rows)
    pass_cost = sum(row["work"][1] for row in rows)
    return DataInfo(m, p, total, total_k, sum(row["nbytes"] for row in rows), names, hessian,
                    pass_cost)


# -- predictions over blocks ------------------------------------------------------------


def lazy_array(X: Any, coef: np.ndarray, intercept: float, offset: Any,
               threads: Optional[int]) -> Any:
    """z = offset + intercept + X coef as a lazy dask array, one task per row chunk of X."""
    check_design_array(X)
    if X.shape[1] != coef.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features but the model was fitted on "
                         f"{coef.shape[0]}")
    bounds = np.cumsum((0,) + X.chunks[0]).tolist()
    offsets = row_parts(offset, "offset", X, bounds)
    coef_node = dask.delayed(coef, name=f"fastlogit-coef-{dask.base.tokenize(coef)}")
    parts = []
    for i, xb in enumerate(X.to_delayed().ravel()):
        rows = X.chunks[0][i]
        where = block_where(i, len(X.chunks[0]), bounds[i], rows)
        z = dask.delayed(block_linear_predictor, pure=True)(
            xb, coef_node, intercept, offsets[i], where, bounds[i],
            1 if threads is None else threads)
        parts.append(da.from_delayed(z, shape=(rows,), dtype=np.float64))
    return da.concatenate(parts)


def lazy_partitions(parts: Partitions, coef: np.ndarray, intercept: float,
                    threads: Optional[int]) -> Any:
    """z for the rows of partitions, each loaded and predicted on a worker (lazy)."""
    coef_node = dask.delayed(coef, name=f"fastlogit-coef-{dask.base.tokenize(coef)}")
    return da.concatenate([
        da.from_delayed(
            dask.delayed(partition_linear_predictor, pure=True)(
                i, len(parts), parts.loader, src, coef_node, intercept,
                1 if threads is None else threads),
            shape=(np.nan,), dtype=np.float64)
        for i, src in enumerate(parts.sources)
    ])
