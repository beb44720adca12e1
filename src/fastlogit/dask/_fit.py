"""The Dask fit and its result (the package docstring says how it works)."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

try:
    import dask.array as da
    import distributed
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "fastlogit.dask needs dask and distributed: pip install 'fastlogit[dask]' "
        "(or pip install 'dask[array]' distributed)"
    ) from _exc

from fastlogit._core import _special
from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import as_nonnegative_scalar, as_positive_int
from fastlogit._models._fit import _start, check_gradient
from fastlogit._models._result import LogitResult
from fastlogit._solvers._base import IterationInfo, Monitor
from fastlogit._solvers._lbfgs import LbfgsOptions, gradient_floor
from fastlogit._solvers._lbfgs import solve as lbfgs_solve
from fastlogit._solvers._newton import BinomialView
from fastlogit._solvers._polish import PolishPlan, polish
from fastlogit.backend._objective import L2Penalty, Objective, Standardization
from fastlogit.dask._input import (
    array_tasks,
    lazy_array,
    lazy_partitions,
    partition_blocks,
    summarise,
)
from fastlogit.dask._loss import BlockSet, DaskBinomialLoss, check_workers, standardization
from fastlogit.dask._partitions import NpzLoader, ParquetLoader, Partitions, _paths, save_npz

__all__ = ["DaskLogitResult", "Partitions", "fit", "from_loader", "from_npz", "from_parquet",
           "save_npz"]


@dataclass(frozen=True, repr=False, eq=False)
class DaskLogitResult(LogitResult):
    """The result of ``fastlogit.dask.fit``: a ``LogitResult`` without training data.

    The coefficients, objective and convergence report are those of
    ``LogitResult``. Predictions on dask arrays (or on ``Partitions``) map over
    the blocks and return lazy dask arrays; numpy/scipy input is predicted
    in memory as ``LogitResult`` does. Statistics on the training rows
    (loglik, deviance, fitted values) need the data on the driver and are not
    available.
    """

    def __repr__(self) -> str:
        return "Dask" + super().__repr__()

    def _train(self) -> Any:
        raise ValueError(
            "a distributed fit keeps no training data on the driver, so statistics on the "
            "training rows (fitted values, loglik, deviance) are not available; predict "
            "on the blocks instead: res.predict_proba(X) maps over a dask X."
        )

    def decision_function(self, X: Any, offset: Any = None, threads: Optional[int] = None
                          ) -> Any:
        """Linear predictor z = offset + intercept + X @ coef of new rows.

        Parameters
        ----------
        X : {dask.array.Array, Partitions, ndarray, csr_matrix} of shape (n_rows, n_features)
            A dask array chunked by rows (dense or CSR blocks), partitions on
            disk, or in-memory data.
        offset : array_like or dask array of shape (n_rows,), optional
            For dask X: chunked like its rows (or in memory, sliced here).
            Partitions take the offset their loader returns.
        threads : int, optional
            Kernel threads per block (default: 1 for dask input).

        Returns
        -------
        dask.array.Array or ndarray of shape (n_rows,)
            Lazy (call ``.compute()``) for dask/partition input.

        Raises
        ------
        ValueError, TypeError
            For malformed input (raised when the blocks are computed, naming the block).

        Examples
        --------
        >>> import numpy as np, dask.array as da
        >>> from fastlogit.dask import DaskLogitResult
        >>> res = DaskLogitResult(np.array([1.0, -1.0]), 0.5, 0.0, 0.0, 1, 1, True, "", "lbfgs",
        ...                       {}, 2, 2)
        >>> res.decision_function(da.from_array(np.eye(2), chunks=(1, 2))).compute()
        array([ 1.5, -0.5])
        """
        if isinstance(X, Partitions):
            if offset is not None:
                raise TypeError("with Partitions the offset comes from the loader; "
                                "leave offset=None")
            return lazy_partitions(X, self.coef, self.intercept, threads)
        if isinstance(X, da.Array):
            return lazy_array(X, self.coef, self.intercept, offset, threads)
        return super().decision_function(X, offset, threads)

    def predict_proba(self, X: Any, offset: Any = None, threads: Optional[int] = None
                      ) -> Any:
        """Success probability sigmoid(z) of each new row.

        Parameters
        ----------
        X, offset, threads
            As in ``decision_function``.

        Returns
        -------
        dask.array.Array or ndarray of shape (n_rows,)
            Lazy (call ``.compute()``) for dask/partition input.

        Raises
        ------
        ValueError, TypeError
            As ``decision_function``.

        Examples
        --------
        >>> import numpy as np, dask.array as da
        >>> from fastlogit.dask import DaskLogitResult
        >>> res = DaskLogitResult(np.array([1.0, -1.0]), 0.0, 0.0, 0.0, 1, 1, True, "", "lbfgs",
        ...                       {}, 2, 2)
        >>> res.predict_proba(da.from_array(np.eye(2), chunks=(1, 2))).compute().round(3)
        array([0.731, 0.269])
        """
        z = self.decision_function(X, offset, threads)
        if isinstance(z, da.Array):
            return da.map_blocks(_special.sigmoid, z, dtype=np.float64)
        return _special.sigmoid(z)


def fit(
    X: Any,
    n: Any = None,
    k: Any = None,
    *,
    y: Any = None,
    client: Any = None,
    lam: float = 1.0,
    fit_intercept: bool = True,
    sample_weight: Any = None,
    offset: Any = None,
    solver: str = "lbfgs",
    factr: float = 1e3,
    pgtol: float = 1e-8,
    max_iter: int = 1000,
    threads: Optional[int] = 1,
    x0: Any = None,
    callback: Optional[Callable[[IterationInfo], Any]] = None,
    verbose: bool = False,
    feature_names: Any = None,
    standardize: bool = True,
    split_every: int = 8,
) -> DaskLogitResult:
    """Fit L2-regularised logistic regression to binomial rows held by a Dask cluster.

    The same model, options and answer as ``fastlogit.fit``; the rows live
    in blocks on the workers. The blocks are validated and kept on the
    workers once; each evaluation sends the parameters (one task), runs the
    compiled kernel on every block and adds the blocks' loss and gradient in
    a fixed tree, so the result is bitwise reproducible for a fixed
    chunking and equals ``fastlogit.fit`` on the concatenated rows up to
    rounding. A worker that dies mid-fit loses nothing: Dask recomputes its
    blocks from their graph (or reloads its partitions).

    Parameters
    ----------
    X : dask.array.Array of shape (n_rows, n_features), or Partitions
        Chunked by rows only (one chunk across the columns), each block a
        numpy array or a scipy CSR matrix, with known chunk sizes. Or
        ``Partitions`` (``from_npz``, ``from_parquet``, ``from_loader``) that
        the workers load themselves; n, k, y, sample_weight and offset then
        come from the partitions.
    n, k : dask array or array_like of shape (n_rows,)
        Trials (a scalar is allowed) and successes, chunked like the rows of
        X. In-memory arrays are cut into X's row chunks here.
    y : dask array or array_like of shape (n_rows,), optional
        0/1 labels instead of (n, k).
    client : distributed.Client, str or None
        None uses the current Dask client (``distributed.get_client()``); a
        string is a scheduler address to connect to for this fit, or
        ``"local"`` to start an in-process ``LocalCluster`` for this fit.
    lam, fit_intercept, sample_weight, offset, factr, pgtol, max_iter, x0, callback, \
verbose, feature_names, standardize
        As in ``fastlogit.fit`` (sample_weight and offset chunked like n).
    solver : {"lbfgs"}
    threads : int or None, default 1
        Kernel threads per block task (Dask runs as many block tasks at once
        as each worker has threads). A fixed count keeps results bitwise
        reproducible; None uses each worker's OpenMP default.
    split_every : int, default 8
        Fan-in of the reduction tree (its depth is log_split_every(blocks)).

    Returns
    -------
    DaskLogitResult

    Raises
    ------
    ValueError, TypeError
        For malformed input: misaligned chunks, chunks across columns, bad
        values (naming the block and the global row), as ``fastlogit.fit``.
    RuntimeError
        When a worker cannot import fastlogit (or another version), or the
        cluster has no workers.

    Warns
    -----
    ConvergenceWarning
        When the solver stops on max_iter or abnormally.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastlogit.dask
    >>> from distributed import Client, LocalCluster
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, \\
    ...         Client(cluster):
    ...     X = da.from_array(np.eye(2), chunks=(1, 2))
    ...     res = fastlogit.dask.fit(X, n=[4, 4], k=[3, 1], lam=0.1)
    >>> res.coef.round(4)
    array([ 0.9728, -0.9728])
    """
    lam = as_nonnegative_scalar(lam, "lam")
    factr = as_nonnegative_scalar(factr, "factr")
    pgtol = as_nonnegative_scalar(pgtol, "pgtol")
    max_iter = as_positive_int(max_iter, "max_iter")
    if threads is not None:
        resolve_threads(threads)  # validates; -1 is resolved on each worker
    split_every = as_positive_int(split_every, "split_every")
    if split_every < 2:
        raise ValueError(f"split_every must be >= 2 (the fan-in of the sum tree), got "
                         f"{split_every}")
    if solver != "lbfgs":
        raise ValueError(f"fastlogit.dask.fit supports solver='lbfgs' only; got {solver!r}")
    if not isinstance(X, (da.Array, Partitions)):
        raise TypeError(
            f"X must be a dask array chunked by rows or fastlogit.dask Partitions; got "
            f"{type(X).__name__}. For in-memory data use fastlogit.fit, or wrap it with "
            "dask.array.from_array(X, chunks=(rows_per_block, -1)); for a dask DataFrame "
            "use df.to_dask_array(lengths=True)."
        )
    name = f"fastlogit-{uuid.uuid4().hex[:12]}"
    if isinstance(X, Partitions):
        given = [a for a, v in (("n", n), ("k", k), ("y", y), ("sample_weight", sample_weight),
                                ("offset", offset)) if v is not None]
        if given:
            raise TypeError(f"with Partitions, {', '.join(given)} come from the partitions; "
                            "leave them out")
        tasks: list = []
    else:  # shapes and chunks are checked before the cluster is touched
        tasks = array_tasks(X, n, k, y, sample_weight, offset, name)

    with ExitStack() as stack:
        dclient = _connect(client, stack)
        workers = check_workers(dclient)
        if isinstance(X, Partitions):
            futures = partition_blocks(dclient, X, name, workers)
        else:
            futures = dclient.compute(tasks)
        blocks = BlockSet(dclient, futures, split_every, name)
        n_blocks = blocks.n_blocks
        stack.callback(blocks.release)
        info = summarise(blocks, fit_intercept)
        p = info.n_features
        names = _names(feature_names, info.feature_names, p)
        if verbose:
            print(f"fastlogit.dask: {info.n_rows} rows x {p} features in {blocks.n_blocks} "
                  f"blocks ({info.nbytes / 2**20:.1f} MiB) on {len(workers)} workers", flush=True)

        std = (standardization(blocks, threads, info.total_trials, p, fit_intercept)
               if standardize else Standardization.identity(p))
        loss = DaskBinomialLoss(blocks, threads, p, info.total_trials, info.total_successes,
                                info.n_rows)
        objective = Objective(loss, L2Penalty(lam), std, fit_intercept)
        start = _start(x0, p, fit_intercept)
        theta0 = objective.initial_theta() if start is None else objective.join(*start)
        monitor = Monitor(objective, callback, verbose)
        # the same finish as fastlogit.fit: Newton steps where a Hessian (summed over the
        # blocks) is cheap, see _polish.py
        plan = PolishPlan(p + 1, info.hessian_work, info.pass_cost, smooth=True,
                          solver=solver)
        options = LbfgsOptions(factr=factr, pgtol=pgtol,
                               max_iter=plan.lbfgs_max_iter(max_iter))
        out = lbfgs_solve(objective, theta0, options, monitor)
        out = polish(plan, lambda: BinomialView(objective), out, max_iter, factr,
                     monitor) or out

    gnorm = float(np.max(np.abs(out.grad), initial=0.0))
    out = check_gradient(out, gnorm, max(options.pgtol, gradient_floor(out.fun)), solver,
                         max_iter)
    b, w = objective.split(out.theta)
    settings = dict(lam=lam, fit_intercept=fit_intercept, solver=solver, factr=factr,
                    pgtol=pgtol, max_iter=max_iter, threads=threads, standardize=standardize,
                    n_blocks=n_blocks, split_every=split_every)
    return DaskLogitResult(
        coef=np.array(w, dtype=np.float64), intercept=float(b),
        objective=out.fun * objective.scale,
        grad_norm=gnorm,
        n_iter=out.n_iter, n_fev=out.n_fev, converged=out.converged, message=out.message,
        solver=solver, settings=settings, n_rows=info.n_rows, n_features=p,
        feature_names=names,
    )


def _connect(client: Any, stack: ExitStack) -> Any:
    """The Dask client to use; anything started here is closed by ``stack``."""
    if client is None:
        try:
            return distributed.get_client()
        except ValueError:
            raise ValueError(
                "no Dask client: start one (from distributed import Client; "
                "client = Client(...)), or pass client= a Client, a scheduler address such "
                "as 'tcp://10.0.0.1:8786', or 'local' for an in-process cluster"
            ) from None
    if isinstance(client, distributed.Client):
        return client
    if isinstance(client, str):
        if client == "local":
            cluster = stack.enter_context(
                distributed.LocalCluster(processes=False, dashboard_address=":0"))
            return stack.enter_context(distributed.Client(cluster, set_as_default=False))
        return stack.enter_context(distributed.Client(client, set_as_default=False))
    raise TypeError(f"client must be a distributed.Client, a scheduler address, 'local' or "
                    f"None; got {type(client).__name__}")


def _names(given: Any, found: Optional[tuple], p: int) -> Optional[tuple]:
    if given is None:
        return found
    names = tuple(str(c) for c in given)
    if len(names) != p:
        raise ValueError(f"feature_names has {len(names)} names but X has {p} columns")
    return names


# -- partitions on disk -------------------------------------------------------------------


def from_npz(paths: Any) -> Partitions:
    """Partitions stored as ``.npz`` files (CSR X with the counts beside it), one per block.

    Each worker reads its own files: X with ``scipy.sparse.load_npz``, and the
    arrays ``n``, ``k`` (or ``y``), and optionally ``sample_weight`` and
    ``offset`` from the same archive, as ``save_npz`` writes them. The paths
    must be readable by the workers (a shared or replicated file system).

    Parameters
    ----------
    paths : str, path-like or sequence of them
        The files in row order, or one glob pattern (expanded here, sorted).

    Returns
    -------
    Partitions

    Raises
    ------
    FileNotFoundError
        When a pattern matches nothing (missing files are reported by the
        worker that tries to read them, naming the partition).

    Examples
    --------
    >>> import os, tempfile, numpy as np, scipy.sparse as sp, fastlogit.dask
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     fastlogit.dask.save_npz(os.path.join(folder, f"part-{i}.npz"),
    ...                             sp.csr_matrix(np.eye(2)[i:i + 1]), n=[4], k=[3 - 2 * i])
    >>> parts = fastlogit.dask.from_npz(os.path.join(folder, "part-*.npz"))
    >>> len(parts)
    2
    """
    return Partitions(NpzLoader(), _paths(paths, ".npz"), "npz")


def from_parquet(paths: Any, *, features: Any = None, n: Any = None, k: Any = None,
                 y: Any = None, sample_weight: Optional[str] = None,
                 offset: Optional[str] = None) -> Partitions:
    """Partitions stored as Parquet files: dense numeric feature columns and count columns.

    Each worker reads its own files with ``pandas.read_parquet`` (pandas and
    pyarrow are needed on the workers).

    Parameters
    ----------
    paths : str, path-like or sequence of them
        The files in row order, or one glob pattern (expanded here, sorted).
    features : sequence of str, optional
        The feature columns, in order; default: every column that is not
        named below, in the file's order (the same in every file).
    n, k : str or float
        Columns of trials and successes; ``n`` may be a number (e.g. 1).
    y : str, optional
        A column of 0/1 labels instead of n and k.
    sample_weight, offset : str, optional
        Columns of row weights and offsets.

    Returns
    -------
    Partitions

    Raises
    ------
    TypeError
        Unless either (n and k) or y is given. Missing or non-numeric columns
        are reported by the worker that reads them, naming the partition.

    Examples
    --------
    >>> import fastlogit.dask
    >>> fastlogit.dask.from_parquet(["a.parquet", "b.parquet"], n="trials", k="clicks")
    Partitions(2 parquet partitions, first 'a.parquet')
    """
    if y is not None:
        if n is not None or k is not None:
            raise TypeError("give either y= (a column of 0/1 labels) or n and k, not both")
    elif n is None or k is None:
        raise TypeError("name the count columns: n='trials column' and k='successes "
                        "column' (n may be a number), or y='label column'")
    for label, col in (("k", k), ("y", y), ("sample_weight", sample_weight),
                       ("offset", offset)):
        if col is not None and not isinstance(col, str):
            raise TypeError(f"{label} must be a column name, got {type(col).__name__}")
    columns = tuple((key, col) for key, col in (("n", n), ("k", k), ("y", y),
                    ("sample_weight", sample_weight), ("offset", offset)) if col is not None)
    feats = None if features is None else tuple(str(c) for c in features)
    return Partitions(ParquetLoader(feats, columns), _paths(paths, "Parquet"), "parquet")


def from_loader(load: Callable[[Any], Any], sources: Any) -> Partitions:
    """Partitions read by your own function, run on the workers.

    Parameters
    ----------
    load : callable
        ``load(source)`` returns a mapping with "X" (ndarray or CSR) and "n",
        "k" (or "y"), optionally "sample_weight", "offset", "feature_names";
        or a tuple (X, n, k[, sample_weight[, offset]]). It must be picklable
        and importable on the workers, and return the same rows every time
        (a lost partition is loaded again).
    sources : sequence
        One argument for ``load`` per partition, in row order.

    Returns
    -------
    Partitions

    Raises
    ------
    TypeError
        When load is not callable or sources is not a sequence.

    Examples
    --------
    >>> import numpy as np, fastlogit.dask
    >>> def load(seed):
    ...     rng = np.random.default_rng(seed)
    ...     return rng.normal(size=(100, 3)), 1.0, rng.integers(0, 2, 100)
    >>> fastlogit.dask.from_loader(load, range(4))
    Partitions(4 loader partitions, first 0)
    """
    if not callable(load):
        raise TypeError(f"load must be callable, got {type(load).__name__}")
    try:
        sources = tuple(sources)
    except TypeError:
        raise TypeError(f"sources must be a sequence, got {type(sources).__name__}") from None
    if not sources:
        raise ValueError("sources is empty: give at least one partition")
    return Partitions(load, sources, "loader")
