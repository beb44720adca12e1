"""Row partitions on disk that the Dask workers load themselves.

A ``Partitions`` is a list of sources (file paths, or anything a loader
understands) and a loader ``load(source) -> mapping`` with the arrays of one
partition: "X" and either "n" and "k" or "y", optionally "sample_weight",
"offset" and "feature_names". The driver only ever holds the list; each
worker runs the loader on its share and keeps the validated block, so the
data never passes through the driver, and a block lost with its worker is
loaded again from its source.

Built-in loaders: ``.npz`` files (a CSR matrix as scipy.sparse.save_npz
writes it, with the counts in the same archive; ``save_npz`` here writes
them) and Parquet files (dense numeric columns, through pandas/pyarrow).
"""

from __future__ import annotations

import glob
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import scipy.sparse as sp

from fastlogit._input._validate import (
    as_binomial_targets,
    as_design,
    as_row_vector,
    as_sample_weight,
)
from fastlogit.dask._blockwise import Block, prepare_block, reraise

_ARRAYS = ("n", "k", "y", "sample_weight", "offset")


@dataclass(frozen=True)
class Partitions:
    """Row partitions that the workers load themselves (see ``fastlogit.dask.from_npz``).

    Attributes
    ----------
    loader : callable
        ``loader(source) -> mapping`` run on a worker, once per partition.
    sources : tuple
        One source (typically a path) per partition, in row order.
    """

    loader: Callable[[Any], Any]
    sources: tuple
    kind: str = "loader"

    def __len__(self) -> int:
        return len(self.sources)

    def __repr__(self) -> str:
        first = f", first {self.sources[0]!r}" if self.sources else ""
        return f"Partitions({len(self.sources)} {self.kind} partitions{first})"


def partition_where(index: int, n_parts: int, source: Any) -> str:
    return f"partition {index} of {n_parts} ({source!r}; rows numbered within it)"


def load_partition(loader: Callable[[Any], Any], source: Any, where: str) -> dict:
    """Run the loader and normalise its output to a dict of the known keys."""
    try:
        data = loader(source)
    except Exception as exc:  # noqa: BLE001 - any loader failure, with where it happened
        reraise(exc, f"{where}: could not load it: {type(exc).__name__}: {exc}")
    if isinstance(data, tuple) and 3 <= len(data) <= 5:
        data = dict(zip(("X", "n", "k", "sample_weight", "offset"), data))
    if not isinstance(data, Mapping) or "X" not in data:
        raise TypeError(f"{where}: the loader must return a mapping with 'X' and 'n', 'k' "
                        "(or 'y'), or a tuple (X, n, k[, sample_weight[, offset]]); got "
                        f"{type(data).__name__}")
    unknown = set(data) - {"X", "feature_names", *_ARRAYS}
    if unknown:
        raise ValueError(f"{where}: the loader returned unknown keys {sorted(unknown)}; "
                         f"known are X, feature_names, {', '.join(_ARRAYS)}")
    return dict(data)


def prepare_partition(index: int, n_parts: int, loader: Callable[[Any], Any],
                      source: Any) -> Block:
    """Load one partition on the worker and validate it like any block."""
    where = partition_where(index, n_parts, source)
    data = load_partition(loader, source, where)
    if "y" not in data and not ("n" in data and "k" in data):
        raise ValueError(f"{where}: it has no 'n' and 'k' (or 'y'), only {sorted(data)}; "
                         "write .npz partitions with fastlogit.dask.save_npz")
    names = data.get("feature_names")
    return prepare_block(index, where, None, data["X"], data.get("n"), data.get("k"),
                         data.get("y"), data.get("sample_weight"), data.get("offset"),
                         None if names is None else tuple(str(c) for c in names))


# -- .npz -------------------------------------------------------------------------


@dataclass(frozen=True)
class NpzLoader:
    """Loads X with scipy.sparse.load_npz and n, k, ... from the same archive."""

    def __call__(self, path: Any) -> dict:
        X = sp.load_npz(path)
        out: dict = {"X": X}
        with np.load(path) as archive:
            for name in _ARRAYS:
                if name in archive.files:
                    out[name] = archive[name]
        return out


def save_npz(path: Any, X: Any, n: Any = None, k: Any = None, *, y: Any = None,
             sample_weight: Any = None, offset: Any = None, compressed: bool = False) -> None:
    """Write one partition: X as scipy.sparse.save_npz writes it, and the counts beside it.

    The file is an ordinary ``.npz`` archive: ``scipy.sparse.load_npz(path)``
    reads X, ``numpy.load(path)["n"]`` the trials. The arrays are validated
    first, so a bad partition is caught when it is written.

    Parameters
    ----------
    path : str or path-like
        File name (numpy appends ``.npz`` when it is missing).
    X : {csr_matrix, csr_array, ndarray} of shape (n_rows, n_features)
        Stored as CSR (a dense X is converted).
    n, k : array_like of shape (n_rows,)
        Trials and successes (n may be a scalar), or give ``y``.
    y : array_like of shape (n_rows,), optional
        0/1 labels instead of n and k.
    sample_weight, offset : array_like of shape (n_rows,), optional
    compressed : bool, default False
        zlib-compress the archive (smaller files, slower to load).

    Returns
    -------
    None

    Raises
    ------
    ValueError, TypeError
        For malformed X, n, k, y, sample_weight or offset, as ``fastlogit.fit`` does.

    Examples
    --------
    >>> import os, tempfile, numpy as np, scipy.sparse as sp
    >>> from fastlogit.dask import save_npz
    >>> path = os.path.join(tempfile.mkdtemp(), "part-0.npz")
    >>> save_npz(path, sp.csr_matrix(np.eye(2)), n=[4, 4], k=[3, 1])
    >>> sp.load_npz(path).shape, np.load(path)["k"]
    ((2, 2), array([3., 1.]))
    """
    design = as_design(X, "X")
    m = design.n_rows
    n_arr, k_arr = as_binomial_targets(n, k, y, m)
    arrays = {"y": k_arr} if y is not None else {"n": n_arr, "k": k_arr}
    s = as_sample_weight(sample_weight, m)
    off = as_row_vector(offset, "offset", m)
    if s is not None:
        arrays["sample_weight"] = s
    if off is not None:
        arrays["offset"] = off
    # scipy writes X (its keys and layout are scipy's business); the counts join them
    buf = io.BytesIO()
    matrix = design.matrix if design.is_sparse else sp.csr_matrix(design.matrix)
    sp.save_npz(buf, matrix, compressed=False)
    buf.seek(0)
    with np.load(buf) as archive:
        stored = {name: archive[name] for name in archive.files}
    clash = set(stored) & set(arrays)
    if clash:  # cannot happen with scipy's own keys; guards a future format change
        raise RuntimeError(f"scipy's npz layout uses the names {sorted(clash)}")
    members: dict[str, Any] = {**stored, **arrays}
    (np.savez_compressed if compressed else np.savez)(path, **members)


# -- Parquet ------------------------------------------------------------------------


@dataclass(frozen=True)
class ParquetLoader:
    """Loads dense numeric feature columns and the count columns of one Parquet file."""

    features: Optional[tuple]
    columns: tuple  # ((key, column name or number), ...) for n, k, y, sample_weight, offset

    def __call__(self, path: Any) -> dict:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("reading Parquet partitions needs pandas and pyarrow on every "
                              "worker: pip install pandas pyarrow") from exc
        named = [col for _, col in self.columns if isinstance(col, str)]
        wanted = None if self.features is None else [*self.features, *named]
        frame = pd.read_parquet(path, columns=wanted)
        absent = [c for c in named if c not in frame.columns]
        if absent:
            raise ValueError(f"no column {absent[0]!r}; the file has {list(frame.columns)}")
        features = ([c for c in frame.columns if c not in named] if self.features is None
                    else list(self.features))
        bad = [c for c in features if frame[c].dtype.kind not in "biuf"]
        if bad:
            raise TypeError(f"column {bad[0]!r} is not numeric (dtype {frame[bad[0]].dtype}); "
                            "encode it, or choose the feature columns with features=[...]")
        out: dict = {"X": frame[features].to_numpy(),
                     "feature_names": tuple(str(c) for c in features)}
        for key, col in self.columns:
            out[key] = frame[col].to_numpy() if isinstance(col, str) else col
        return out


# -- constructors (public through fastlogit.dask) -------------------------------------


def _paths(paths: Any, what: str) -> tuple:
    if isinstance(paths, (str, os.PathLike)):
        text = os.fspath(paths)
        if any(c in text for c in "*?["):  # a glob pattern
            found = tuple(sorted(glob.glob(text)))
            if not found:
                raise FileNotFoundError(f"no {what} files match {text!r}")
            return found
        return (text,)
    if not isinstance(paths, Sequence) or isinstance(paths, bytes):
        raise TypeError(f"paths must be a path, a glob pattern or a list of paths; "
                        f"got {type(paths).__name__}")
    if len(paths) == 0:
        raise ValueError("paths is empty: give at least one partition")
    return tuple(os.fspath(p) for p in paths)


def partition_linear_predictor(index: int, n_parts: int, loader: Callable[[Any], Any],
                               source: Any, coef: np.ndarray, intercept: float,
                               threads: Optional[int]) -> np.ndarray:
    """z = offset + intercept + X coef for the rows of one partition (n, k not needed)."""
    from fastlogit.dask._blockwise import block_linear_predictor

    where = partition_where(index, n_parts, source)
    data = load_partition(loader, source, where)
    return block_linear_predictor(data["X"], coef, intercept, data.get("offset"), where, None,
                                  threads)
