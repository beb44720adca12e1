"""The distributed loss: BinomialLoss summed over row blocks held by Dask workers.

    L(b, w) = sum_blocks L_block(b, w)        dL/dw = sum_blocks X_block^T r_block

The blocks are validated once and persisted on the workers (a ``BlockSet``
of futures, computed from a task graph, so a block lost with its worker is
recomputed from its lineage). One evaluation is

    1. one task graph goes to the scheduler, with the parameters (b, w);
    2. every block runs the compiled kernel on its rows (``block_loss_grad``),
       on the worker that holds it: (loss, sum r, X^T r), unnormalised and
       penalty-free;
    3. the block results are added in a fixed tree over the block indices
       (fan-in ``split_every``, each node adding its children left to right),
       and the driver fetches the root: one float pair and one n_features
       vector.

The tree's shape and order depend only on the number of blocks, never on
which worker ran what or when, so a fit is bitwise reproducible for a fixed
chunking (and a fixed ``threads``). ``DaskBinomialLoss`` has the interface of
BinomialLoss, so the local ``Objective`` (scaling, penalty, standardised
coordinates) and the local L-BFGS-B driver run unchanged on top of it.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Optional

import numpy as np

from fastlogit.backend._objective import Standardization
from fastlogit.dask._blockwise import (
    add_parts,
    block_hessian,
    block_loss_grad,
    block_moments,
    identity,
)

# Parameters up to this size travel inside each block task (4 MiB: 524,288 features).
INLINE_BYTES = 4 << 20


def _nbytes(arg: Any) -> int:
    items = arg if isinstance(arg, tuple) else (arg,)
    return sum(getattr(x, "nbytes", 8) for x in items)


def tree_reduce(parts: list, split_every: int, tag: str) -> Any:
    """A delayed sum of ``parts``, added in a fixed tree of fan-in split_every."""
    import dask

    level = 0
    while len(parts) > 1:
        parts = [
            dask.delayed(add_parts, pure=False)(
                *parts[i:i + split_every], dask_key_name=f"{tag}-sum{level}-{i // split_every}")
            for i in range(0, len(parts), split_every)
        ]
        level += 1
    return parts[0]


class BlockSet:
    """Validated row blocks persisted on the workers, and map-reduce over them."""

    def __init__(self, client: Any, futures: list, split_every: int, name: str) -> None:
        self.client = client
        self.futures = list(futures)
        self.split_every = split_every
        self.name = name
        self._count = itertools.count()

    @property
    def n_blocks(self) -> int:
        return len(self.futures)

    def map_reduce(self, func: Callable[..., tuple], arg: Any, *extra: Any) -> tuple:
        """sum over blocks of func(block, arg, *extra), reduced in the fixed tree.

        The whole evaluation goes to the scheduler as one graph, in one
        message. ``arg`` (the parameters: one vector of n_features) travels
        inside every block task when it is small (up to INLINE_BYTES), so a
        block task depends on its block alone and Dask runs it where the
        block lives; a larger ``arg`` becomes one task of its own that the
        block tasks depend on (workers then copy it from each other, but a
        task depending on it may also be placed away from its block).
        Either way it is part of the graph, never scattered, so it can be
        recomputed.
        """
        import dask

        tag = f"{self.name}-{func.__name__}-{next(self._count)}"
        if _nbytes(arg) > INLINE_BYTES:
            arg = dask.delayed(identity, pure=False)(arg, dask_key_name=f"{tag}-arg")
        parts = [dask.delayed(func, pure=False)(block, arg, *extra,
                                                dask_key_name=f"{tag}-block{i}")
                 for i, block in enumerate(self.futures)]
        root = tree_reduce(parts, self.split_every, tag)
        return self.client.compute(root, optimize_graph=False).result()

    def release(self) -> None:
        """Let the workers drop the blocks."""
        for future in self.futures:
            future.release()
        self.futures = []


class DaskBinomialLoss:
    """L(b, w) and its gradient summed over the blocks of a BlockSet.

    The same interface as ``BinomialLoss`` (value_grad, n_features,
    total_trials, total_successes), so ``Objective`` takes either.
    """

    def __init__(self, blocks: BlockSet, threads: Optional[int], n_features: int,
                 total_trials: float, total_successes: float, n_rows: int) -> None:
        self.blocks = blocks
        self.threads = threads
        self.n_features = n_features
        self.n_rows = n_rows
        self.total_trials = total_trials
        self.total_successes = total_successes

    def value_grad(self, b: float, w: np.ndarray) -> tuple[float, float, np.ndarray]:
        """(L, dL/db, dL/dw) over all blocks."""
        params = (float(b), np.ascontiguousarray(w, dtype=np.float64))
        loss, grad_b, grad_w = self.blocks.map_reduce(block_loss_grad, params, self.threads)
        return float(loss), float(grad_b), grad_w

    def hessian(self, b: float, w: np.ndarray) -> np.ndarray:
        """X~^T D X~ summed over the blocks (intercept first, no penalty): for the polish."""
        params = (float(b), np.ascontiguousarray(w, dtype=np.float64))
        (H,) = self.blocks.map_reduce(block_hessian, params, self.threads)
        return np.asarray(H, dtype=np.float64)


def standardization(blocks: BlockSet, threads: Optional[int], total: float, n_features: int,
                    center: bool) -> Standardization:
    """The local Standardization, from column moments summed over the blocks."""
    return Standardization.from_moments(
        lambda c: blocks.map_reduce(block_moments, np.ascontiguousarray(c, dtype=np.float64),
                                    threads),
        total, n_features, center,
    )


# -- is fastlogit on every worker? ----------------------------------------------------------


def _make_probe() -> Callable[[], tuple]:
    # A nested function is pickled by value (cloudpickle), so a worker can run
    # it even when it cannot import fastlogit: it then says why instead of
    # failing to unpickle a task.
    def probe() -> tuple:
        try:
            import fastlogit.dask._blockwise  # noqa: F401 - the worker side and the compiled kernels
            from fastlogit._version import __version__ as version
        except Exception as exc:  # noqa: BLE001 - reported back to the driver
            return None, f"{type(exc).__name__}: {exc}"
        return version, ""

    return probe


def check_workers(client: Any) -> list:
    """Raise unless every worker imports the same fastlogit as this process; their addresses."""
    from fastlogit._version import __version__

    answers = client.run(_make_probe(), on_error="return")
    if not answers:
        raise RuntimeError("the Dask cluster has no workers; start some (or wait for them "
                           "with client.wait_for_workers(n)) and fit again")
    missing, other = [], []
    for address, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            missing.append(f"{address} ({type(answer).__name__}: {answer})")
        elif answer[0] is None:
            missing.append(f"{address} ({answer[1]})")
        elif answer[0] != __version__:
            other.append(f"{address} has {answer[0]}")
    if missing:
        raise RuntimeError(
            f"fastlogit cannot be imported on {len(missing)} of {len(answers)} Dask workers: "
            f"{'; '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}. Install "
            f"fastlogit {__version__} on every worker (e.g. in the workers' image or "
            "environment) and fit again."
        )
    if other:
        raise RuntimeError(
            f"the Dask workers run another fastlogit than this process ({__version__}): "
            f"{'; '.join(other[:3])}. Install the same version everywhere."
        )
    return sorted(answers)
