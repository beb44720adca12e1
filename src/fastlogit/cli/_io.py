"""Data files for the command line: read training sets whole, read prediction sets in chunks.

Formats (told apart by the file name, or ``--format``), each through a
well-kept reader imported only when needed:

* CSV (``.csv``, ``.tsv``, optionally compressed ``.gz``/``.bz2``/``.xz``/
  ``.zst``/``.zip``): pandas ``read_csv`` (in chunks of rows for predict).
* Parquet (``.parquet``, ``.pq``): pyarrow (``iter_batches`` for predict).
* svmlight/libsvm (``.svm``, ``.svmlight``, ``.libsvm``, also ``.gz``/``.bz2``/
  ``.xz``): scikit-learn's ``load_svmlight_file``; for predict on blocks of
  whole lines read from the file (see ``cli._matrix.svmlight_chunks``).
* ``.npz``: a CSR matrix in scipy's ``save_npz`` layout (arrays ``data``,
  ``indices``, ``indptr``, ``shape``, ``format``) or a dense 2-D array ``X``,
  with the outcome as named arrays in the same file: ``y`` (0/1) or ``k`` and
  ``n``, optionally ``sample_weight`` and ``offset`` (other names with
  ``--label``/``--successes``/``--trials``/``--weights``/``--offset``). When
  the matrix was written by ``scipy.sparse.save_npz`` (which cannot add
  arrays), ``--targets FILE.npz`` names a second file holding them.

Tabular files name their columns; matrix files (svmlight, npz) have features
by position, named ``f<index>`` after the svmlight file's own indices and
``x<j>`` for npz.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fastlogit.cli._records import (
    Chunk,
    Columns,
    TrainingSet,
    check_counts,
    check_labels,
    check_weights,
    exists,
    list_names,
)
from fastlogit.cli._util import CliError, one_line, require

FORMATS = ("csv", "parquet", "svmlight", "npz")
_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
             ".svm": "svmlight", ".svmlight": "svmlight", ".libsvm": "svmlight", ".npz": "npz"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")


def detect_format(path: str, given: Optional[str] = None) -> str:
    """The format named by --format, or by the file name.

    Examples
    --------
    >>> detect_format("clicks.csv.gz"), detect_format("a.libsvm"), detect_format("x", "npz")
    ('csv', 'svmlight', 'npz')
    """
    if given and given != "auto":
        return given
    suffixes = [s.lower() for s in Path(path).suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    raise CliError(f"cannot tell the format of {path} from its name; pass --format "
                   f"{'|'.join(FORMATS)}")


def _csv_sep(path: str, sep: Optional[str]) -> str:
    if sep:
        return "\t" if sep in ("\\t", "tab") else sep
    return "\t" if ".tsv" in [s.lower() for s in Path(path).suffixes] else ","


# -- training sets --------------------------------------------------------------------------

def read_training(path: str, fmt: str, cols: Columns, *, sep: Optional[str] = None,
                  zero_based: str = "auto", targets: Optional[str] = None) -> TrainingSet:
    """Read a whole training file into (X, n, k, weights, offset, names), checked."""
    exists(path)
    if fmt in ("csv", "parquet"):
        needed = None
        if cols.features is not None:
            needed = [c for c in (cols.label, cols.successes, cols.trials, cols.weights,
                                  cols.offset) if c] + list(cols.features)
        df = _read_table(path, fmt, sep, needed)
        X, n, k, weights, offset, names, outcome = _from_frame(df, cols, path)
        source = {"format": fmt, "sep": _csv_sep(path, sep) if fmt == "csv" else None,
                  "offset_column": cols.offset}
        return TrainingSet(X, n, k, weights, offset, names, outcome, source)
    if cols.features is not None:
        raise CliError(f"--features names columns of CSV/Parquet files; {fmt} files have "
                       "features by position")
    if fmt == "svmlight":
        from fastlogit.cli._matrix import read_svmlight

        return read_svmlight(path, cols, zero_based)
    if fmt == "npz":
        from fastlogit.cli._matrix import read_npz

        return read_npz(path, cols, targets)
    raise CliError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _read_table(path: str, fmt: str, sep: Optional[str], columns: Optional[list]) -> Any:
    pd = require("pandas", f"reading {fmt.upper() if fmt == 'csv' else 'Parquet'} files")
    try:
        if fmt == "csv":
            header = pd.read_csv(path, sep=_csv_sep(path, sep), nrows=0)
            _check_present(columns or [], header.columns, path)
            return pd.read_csv(path, sep=_csv_sep(path, sep), usecols=columns)
        pq = require("pyarrow.parquet", "reading Parquet files", "pyarrow")
        schema = pq.read_schema(path)
        _check_present(columns or [], schema.names, path)
        return pq.read_table(path, columns=columns).to_pandas()
    except CliError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path} as {fmt}: {one_line(exc)}") from None


def _check_present(wanted: Any, present: Any, path: str) -> None:
    have = [str(c) for c in present]
    missing = [c for c in wanted if c not in have]
    if missing:
        raise CliError(f"{path} has no column {', '.join(map(repr, missing))} "
                       f"(its columns: {list_names(have)})")


def _numeric(series: Any, what: str, path: str) -> np.ndarray:
    """A column as float64, or a CliError naming it and the first bad row."""
    pd = require("pandas", "reading tables")
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy() & series.notna().to_numpy())
        row = int(bad[0]) if bad.size else 0
        raise CliError(f"{path}: {what} is not numeric (row {row} holds {series.iloc[row]!r}); "
                       "encode it as numbers first" + (", or leave it out with --features"
                                                       if what.startswith("feature") else ""))
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise CliError(f"{path}: {what} has {bad.size:,} missing or infinite values (first at "
                       f"row {int(bad[0])}); drop or impute them")
    return values


def _from_frame(df: Any, cols: Columns, path: str) -> tuple:
    _check_present([c for c in (cols.label, cols.successes, cols.trials, cols.weights,
                                cols.offset) if c], df.columns, path)
    if len(df) == 0:
        raise CliError(f"{path} has no data rows")
    if cols.label is not None:
        n, k = _labels_from_series(df[cols.label], cols.label, cols.positive, path)
        outcome = f"0/1 label column '{cols.label}'" + (
            f" (success: {cols.positive})" if cols.positive is not None else "")
    elif cols.successes is not None and cols.trials is not None:
        k = _numeric(df[cols.successes], f"successes column '{cols.successes}'", path)
        n = _numeric(df[cols.trials], f"trials column '{cols.trials}'", path)
        check_counts(n, k, path, cols.successes, cols.trials)
        outcome = f"successes '{cols.successes}' out of trials '{cols.trials}'"
    else:
        raise CliError("say which column holds the outcome: --label COL (0/1 labels) or "
                       "--successes COL --trials COL (binomial counts)")
    weights = None if cols.weights is None else check_weights(
        _numeric(df[cols.weights], f"weights column '{cols.weights}'", path), path)
    offset = None if cols.offset is None else _numeric(df[cols.offset],
                                                       f"offset column '{cols.offset}'", path)
    used = {c for c in (cols.label, cols.successes, cols.trials, cols.weights, cols.offset) if c}
    features = list(cols.features) if cols.features is not None else [
        str(c) for c in df.columns if c not in used]
    if cols.features is None:
        index_like = [c for c in features if c.startswith("Unnamed: ")]
        if index_like:
            warnings.warn(f"{path}: column {index_like[0]!r} looks like a saved row index "
                          "(pandas writes one unless index=False) and is used as a feature; "
                          "list the features with --features to leave it out", UserWarning,
                          stacklevel=2)
    clash = [c for c in features if c in used]
    if clash:
        raise CliError(f"column {clash[0]!r} cannot be both a feature and the outcome, "
                       "weights or offset")
    if not features:
        raise CliError(f"{path}: no feature columns left after the outcome columns; "
                       "a model needs at least one")
    X = np.empty((len(df), len(features)), dtype=np.float64, order="F")
    for j, name in enumerate(features):
        X[:, j] = _numeric(df[name], f"feature column '{name}'", path)
    return X, n, k, weights, offset, tuple(features), outcome


def _labels_from_series(series: Any, name: str, positive: Optional[str], path: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    if series.isna().any():
        row = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise CliError(f"{path}: label column '{name}' has missing values (first at row {row})")
    if positive is not None:
        text = series.astype(str).str.strip()
        k = (text == positive.strip()).to_numpy(dtype=np.float64)
        if not k.any():
            try:  # 1 vs 1.0: compare numerically when both sides are numbers
                k = (series.astype(float) == float(positive)).to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                pass
        if not k.any():
            raise CliError(f"{path}: no row of label column '{name}' equals --positive "
                           f"{positive!r} (it holds {list_names(sorted(text.unique()), 8)})")
        return np.ones(k.shape[0]), k
    values = _numeric(series, f"label column '{name}'", path) if (
        series.dtype.kind in "biuf") else None
    if values is None:
        held = list_names(sorted(series.astype(str).unique()), 8)
        raise CliError(f"{path}: label column '{name}' holds {held}; labels must be 0/1, or "
                       "name the success class with --positive VALUE")
    check_labels(values, path, f"label column '{name}'")
    return np.ones(values.shape[0]), values


# -- prediction sets, in chunks --------------------------------------------------------------

def iter_chunks(path: str, fmt: str, model: Any, chunk_rows: int, *, sep: Optional[str] = None,
                keep: tuple = ()) -> Iterator[Chunk]:
    """Rows of a prediction file in chunks of about ``chunk_rows``, as the model needs them.

    Tabular files: the model's feature columns by name (plus its offset column
    and the ``keep`` columns). svmlight: byte ranges of the file, indices
    shifted as at fit time. npz: loaded whole (the format cannot be read in
    parts), predicted in row blocks.
    """
    exists(path)
    offset_col = model.source.get("offset_column")
    if fmt in ("csv", "parquet"):
        yield from _table_chunks(path, fmt, model, chunk_rows, sep, keep, offset_col)
        return
    if keep:
        raise CliError(f"--keep names columns of CSV/Parquet files; {fmt} files have none")
    if offset_col or model.source.get("offset_array"):
        if fmt != "npz":
            raise CliError("the model was fitted with an offset: predict from a CSV, Parquet "
                           "or npz file that holds it")
    if fmt == "svmlight":
        from fastlogit.cli._matrix import svmlight_chunks

        yield from svmlight_chunks(path, model, chunk_rows)
    elif fmt == "npz":
        from fastlogit.cli._matrix import npz_chunks

        yield from npz_chunks(path, model, chunk_rows)
    else:
        raise CliError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _table_chunks(path: str, fmt: str, model: Any, chunk_rows: int, sep: Optional[str],
                  keep: tuple, offset_col: Optional[str]) -> Iterator[Chunk]:
    pd = require("pandas", "reading tables")
    features = list(model.feature_names)
    wanted = list(dict.fromkeys(features + ([offset_col] if offset_col else []) + list(keep)))
    try:
        if fmt == "csv":
            header = pd.read_csv(path, sep=_csv_sep(path, sep), nrows=0)
            _check_present(wanted, header.columns, path)
            frames: Any = pd.read_csv(path, sep=_csv_sep(path, sep), usecols=wanted,
                                      chunksize=chunk_rows)
        else:
            pq = require("pyarrow.parquet", "reading Parquet files", "pyarrow")
            pfile = pq.ParquetFile(path)
            _check_present(wanted, pfile.schema_arrow.names, path)
            frames = (b.to_pandas() for b in pfile.iter_batches(batch_size=chunk_rows,
                                                                columns=wanted))
        start = 0
        for df in frames:
            if len(df) == 0:
                continue
            where = f"{path} (rows {start:,}-{start + len(df) - 1:,})"
            X = np.empty((len(df), len(features)), dtype=np.float64, order="F")
            for j, name in enumerate(features):
                X[:, j] = _numeric(df[name], f"feature column '{name}'", where)
            off = None if not offset_col else _numeric(df[offset_col],
                                                       f"offset column '{offset_col}'", where)
            yield Chunk(X, off, df[list(keep)] if keep else None, start)
            start += len(df)
    except CliError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path} as {fmt}: {one_line(exc)}") from None

