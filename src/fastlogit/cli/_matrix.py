"""Matrix files for the command line: svmlight/libsvm and scipy .npz (see _cli_io).

Their features are by position: named ``f<index>`` after an svmlight file's
own indices and ``x<j>`` for npz (or the npz array ``feature_names``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

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

SVMLIGHT_PROBE_BYTES = 1 << 16  # read to estimate bytes per line of an svmlight file


# -- svmlight ------------------------------------------------------------------------------

def _svmlight_loader() -> Any:
    mod = require("sklearn.datasets", "reading svmlight/libsvm files", "scikit-learn")
    return mod.load_svmlight_file


def read_svmlight(path: str, cols: Columns, zero_based: str) -> TrainingSet:
    for flag in ("label", "successes", "trials", "weights", "offset", "positive"):
        if getattr(cols, flag) is not None:
            raise CliError(f"--{flag} does not apply to svmlight files: the label is the "
                           "first field of each line")
    load = _svmlight_loader()
    try:  # raw indices; the one-based shift is decided below on the whole file
        with _open_binary(path) as fh:
            X, y = load(fh, zero_based=True)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path} as svmlight: {one_line(exc)}") from None
    X = X.tocsr()
    if X.shape[0] == 0:
        raise CliError(f"{path} has no data rows")
    col0_used = X.indptr[-1] > 0 and bool((X.indices == 0).any())
    if zero_based == "auto":
        one_based = not col0_used  # scikit-learn's own rule: no index 0 means one-based
    else:
        one_based = zero_based == "no"
        if one_based and col0_used:
            raise CliError(f"{path} has feature index 0, so it is not one-based "
                           "(--zero-based yes)")
    if one_based:
        X = X[:, 1:] if X.shape[1] > 1 else sp.csr_matrix((X.shape[0], 0))
    y = np.asarray(y, dtype=np.float64)
    outcome = "svmlight labels (0/1)"
    uniq = np.unique(y)
    if uniq.size <= 2 and np.all(np.isin(uniq, (-1.0, 1.0))) and (uniq == -1).any():
        y = (y > 0).astype(np.float64)  # libsvm's binary convention
        outcome = "svmlight labels (-1/+1, read as 0/1)"
    check_labels(y, path, "the svmlight label")
    base = 1 if one_based else 0
    names = tuple(f"f{j + base}" for j in range(X.shape[1]))
    source = {"format": "svmlight", "zero_based": not one_based}
    return TrainingSet(X, np.ones_like(y), y, None, None, names, outcome, source)

# -- npz -----------------------------------------------------------------------------------

def _load_matrix_npz(path: str) -> tuple[Any, Any]:
    """(X, the open NpzFile): scipy's layout when it has 'format', else a dense array 'X'."""
    try:
        arrays = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot read {path} as npz: {one_line(exc)}") from None
    files = set(arrays.files)
    try:
        if "format" in files:
            X = sp.load_npz(path)
            return (X if X.format == "csr" else X.tocsr()), arrays
        if "X" in files:
            X = arrays["X"]
            if X.ndim != 2:
                raise CliError(f"{path}: array 'X' must be 2-D; it has shape {X.shape}")
            return X, arrays
    except CliError:
        raise
    except (ValueError, OSError, KeyError) as exc:
        raise CliError(f"cannot read the matrix in {path}: {one_line(exc)}") from None
    raise CliError(f"{path} holds neither a scipy sparse matrix (scipy.sparse.save_npz layout) "
                   f"nor a dense array 'X'; its arrays: {list_names(sorted(files))}")


def _array(arrays: Any, name: str, path: str, m: int) -> np.ndarray:
    if name not in arrays.files:
        raise CliError(f"{path} has no array {name!r} "
                       f"(its arrays: {list_names(sorted(arrays.files))})")
    a = np.asarray(arrays[name])
    if a.dtype.kind not in "biuf":
        raise CliError(f"{path}: array {name!r} must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float64).reshape(-1)
    if a.shape[0] != m:
        raise CliError(f"{path}: array {name!r} has {a.shape[0]:,} entries but X has {m:,} rows")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise CliError(f"{path}: array {name!r} has NaN or infinity (first at row {int(bad[0])})")
    return a


def read_npz(path: str, cols: Columns, targets: Optional[str]) -> TrainingSet:
    X, arrays = _load_matrix_npz(path)
    m = X.shape[0]
    tpath = path
    if targets is not None:
        exists(targets)
        try:
            arrays = np.load(targets, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise CliError(f"cannot read {targets} as npz: {one_line(exc)}") from None
        tpath = targets
    names = set(arrays.files)
    label = cols.label or (None if (cols.successes or cols.trials) else
                           ("y" if "y" in names else None))
    if label is not None:
        y = _array(arrays, label, tpath, m)
        check_labels(y, tpath, f"array '{label}'")
        n, k, outcome = np.ones(m), y, f"0/1 labels '{label}'"
    else:
        ks, ns = cols.successes or "k", cols.trials or "n"
        if ks not in names and ns not in names and not (cols.successes or cols.trials):
            raise CliError(f"{tpath} has no outcome arrays: save 'y' (0/1 labels) or 'k' and "
                           f"'n' (successes, trials) next to X (its arrays: "
                           f"{list_names(sorted(names))}), or use --targets FILE.npz")
        k, n = _array(arrays, ks, tpath, m), _array(arrays, ns, tpath, m)
        check_counts(n, k, tpath, ks, ns)
        outcome = f"successes '{ks}' out of trials '{ns}'"
    w_name = cols.weights or ("sample_weight" if "sample_weight" in names else None)
    o_name = cols.offset or ("offset" if "offset" in names else None)
    weights = None if w_name is None else check_weights(_array(arrays, w_name, tpath, m), tpath)
    offset = None if o_name is None else _array(arrays, o_name, tpath, m)
    feature_names = tuple(f"x{j}" for j in range(X.shape[1]))
    if "feature_names" in names:
        given = arrays["feature_names"]
        if given.dtype.kind in "US" and given.shape == (X.shape[1],):
            feature_names = tuple(str(s) for s in given)
    source = {"format": "npz", "offset_array": o_name}
    return TrainingSet(X, n, k, weights, offset, feature_names, outcome, source)


def npz_chunks(path: str, model: Any, chunk_rows: int) -> Iterator[Chunk]:
    """An npz file is read whole (the format cannot be read in parts); row blocks of it."""
    X, arrays = _load_matrix_npz(path)
    if X.shape[1] != model.n_features:
        raise CliError(f"{path} has {X.shape[1]:,} features but the model was fitted on "
                       f"{model.n_features:,}")
    o_name = model.source.get("offset_array")
    off = None if o_name is None else _array(arrays, o_name, path, X.shape[0])
    for start in range(0, X.shape[0], chunk_rows):
        stop = min(start + chunk_rows, X.shape[0])
        yield Chunk(X[start:stop], None if off is None else off[start:stop], None, start)


def _open_binary(path: str) -> Any:
    """The file for reading bytes, decompressed on the fly for .gz, .bz2 and .xz."""
    ext = Path(path).suffix.lower()
    if ext in (".zst", ".zip"):
        raise CliError(f"{path}: svmlight files can be compressed with gzip, bzip2 or xz only")
    if ext == ".gz":
        import gzip
        return gzip.open(path, "rb")
    if ext == ".bz2":
        import bz2
        return bz2.open(path, "rb")
    if ext == ".xz":
        import lzma
        return lzma.open(path, "rb")
    return open(path, "rb")


def svmlight_chunks(path: str, model: Any, chunk_rows: int) -> Iterator[Chunk]:
    """Blocks of whole lines, each parsed by scikit-learn's loader from memory.

    The block is read with ``read(length)`` and completed to the end of its
    last line, so every line is parsed exactly once, whatever the line
    lengths; ``length`` starts from the bytes per line of the first 64 KiB
    and then follows the bytes per row of the blocks read. (scikit-learn's
    own ``offset``/``length`` windows read the first line after ``offset``
    even when it starts beyond the window, which repeats rows whenever a
    line is longer than the window.) Works on compressed files too.
    """
    import io

    load = _svmlight_loader()
    one_based = not model.source.get("zero_based", True)
    width = model.n_features + int(one_based)
    start = 0
    with _open_binary(path) as fh:
        head = fh.read(SVMLIGHT_PROBE_BYTES)
        length = max(1, len(head) * chunk_rows // max(head.count(b"\n"), 1))
        pending = head
        while True:
            block = pending + fh.read(max(length - len(pending), 0))
            pending = b""
            if not block:
                return
            if not block.endswith(b"\n"):
                block += fh.readline()
            try:
                X, _ = load(io.BytesIO(block), n_features=width, zero_based=True)
            except ValueError as exc:
                text = one_line(exc)
                if "n_features" in text:
                    text = (f"it has more features than the {model.n_features:,} the model was "
                            "fitted on")
                raise CliError(f"cannot read {path} as svmlight: {text}") from None
            X = X.tocsr()
            if one_based:
                if X.indptr[-1] and (X.indices == 0).any():
                    raise CliError(f"{path} has feature index 0, but the model was fitted on "
                                   "a one-based file")
                X = X[:, 1:]
            if X.shape[0]:
                yield Chunk(X, None, None, start)
                length = max(1, len(block) * chunk_rows // X.shape[0])
            start += X.shape[0]
