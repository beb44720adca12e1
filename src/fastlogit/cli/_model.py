"""The model file that ``fastlogit fit --out`` writes and ``fastlogit predict`` reads,
and the writer of predictions.

A model file is JSON (``"format": "fastlogit-model"``, ``"format_version": 1``):

* ``intercept``, ``coef`` (one number per feature, exact: JSON numbers written by
  Python round-trip float64), ``feature_names`` (the column names of a CSV or
  Parquet file; ``f<index>`` for svmlight, ``x<j>`` for npz);
* ``settings``: the options of the fit (lam, solver, factr, pgtol, ...);
* ``fit``: objective, iterations, evaluations, convergence, seconds;
* ``training_data``: the file, its format and how the outcome, weights and
  offset were read (predict reads new data the same way: the same feature
  columns by name, the offset column, svmlight's index base);
* ``inference`` (when the summary was computed): parameter names, standard
  errors and p-values;
* ``fastlogit_version`` and ``created`` (UTC).

Nothing in it is executable: loading a model never runs code from the file.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fastlogit._models._result import LogitResult
from fastlogit._version import __version__
from fastlogit.cli._util import CliError, one_line, require

FORMAT = "fastlogit-model"
FORMAT_VERSION = 1


def jsonable(value: Any) -> Any:
    """numpy scalars and arrays, tuples and non-finite floats -> plain JSON values.

    Examples
    --------
    >>> jsonable({"a": np.array([1.0, np.nan]), "b": (np.int64(2), None)})
    {'a': [1.0, None], 'b': [2, None]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def model_document(res: LogitResult, data: Any, path: str, seconds: float,
                   columns: Optional[dict] = None, inference: Optional[dict] = None) -> dict:
    """The JSON document for a fitted model (see the module docstring)."""
    training = dict(data.source)
    training.update(path=str(path), rows=res.n_rows, outcome=data.outcome,
                    features=len(data.feature_names))
    training.update({k: v for k, v in (columns or {}).items() if v is not None})
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastlogit_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": "binomial logistic regression: P(success) = sigmoid(offset + intercept + "
                 "coef . x)",
        "intercept": float(res.intercept),
        "coef": np.asarray(res.coef, dtype=np.float64),
        "feature_names": list(data.feature_names),
        "settings": dict(res.settings),
        "fit": {"objective": res.objective, "n_iter": res.n_iter, "n_fev": res.n_fev,
                "converged": res.converged, "message": res.message,
                "grad_norm": res.grad_norm, "seconds": round(seconds, 4)},
        "training_data": training,
    }
    if inference:
        doc["inference"] = inference
    return jsonable(doc)


def save_model(doc: dict, path: str) -> None:
    """Write a model document as JSON (via a temporary file, so a failure leaves no half file)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, target)
    except OSError as exc:
        raise CliError(f"cannot write the model to {path}: {one_line(exc)}") from None


@dataclass(frozen=True)
class SavedModel:
    """A model read back from its file."""

    coef: np.ndarray
    intercept: float
    feature_names: tuple
    settings: dict
    source: dict  # training_data: how to read new data alike
    doc: dict

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[0])

    def result(self) -> LogitResult:
        """A LogitResult without training data: predictions only."""
        fit = self.doc.get("fit", {})
        return LogitResult(
            coef=self.coef, intercept=self.intercept,
            objective=float(fit.get("objective") or float("nan")),
            grad_norm=float(fit.get("grad_norm") or float("nan")),
            n_iter=int(fit.get("n_iter") or 0), n_fev=int(fit.get("n_fev") or 0),
            converged=bool(fit.get("converged")), message=str(fit.get("message", "")),
            solver=str(self.settings.get("solver", "")), settings=self.settings,
            n_rows=int(self.source.get("rows") or 0), n_features=self.n_features,
            feature_names=self.feature_names,
        )


def load_model(path: str) -> SavedModel:
    """Read and check a model file; a CliError says what is wrong with it."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{path}: no such model file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise CliError(f"{path} is not a fastlogit model file (not JSON: {one_line(exc)})"
                       ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CliError(f"{path} is not a fastlogit model file (no \"format\": \"{FORMAT}\"); "
                       "write one with: fastlogit fit DATA --out MODEL.json")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CliError(f"{path} has model format version {version!r}; this fastlogit "
                       f"({__version__}) reads version {FORMAT_VERSION}: upgrade fastlogit")
    try:
        coef = np.asarray(doc["coef"], dtype=np.float64).reshape(-1)
        intercept = float(doc["intercept"])
        names = tuple(str(s) for s in doc.get("feature_names") or ())
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"{path}: malformed model file ({one_line(exc)})") from None
    if not (np.all(np.isfinite(coef)) and math.isfinite(intercept)):
        raise CliError(f"{path}: malformed model file (coefficients must be finite numbers)")
    if len(names) != coef.shape[0]:
        raise CliError(f"{path}: malformed model file ({coef.shape[0]} coefficients but "
                       f"{len(names)} feature names)")
    return SavedModel(coef, intercept, names, dict(doc.get("settings") or {}),
                      dict(doc.get("training_data") or {}), doc)


class PredictionWriter:
    """Writes prediction columns chunk by chunk: CSV (default, '-' is stdout, .gz/.bz2/.xz
    compressed) or Parquet (.parquet/.pq). A file appears under its name only once
    complete: it is written to NAME.tmp and renamed by ``close()``."""

    def __init__(self, path: str) -> None:
        self.path = path
        suffixes = [s.lower() for s in Path(path).suffixes]
        self.parquet = bool(suffixes) and suffixes[-1] in (".parquet", ".pq")
        self.tmp = None if path == "-" else str(Path(path).with_name(Path(path).name + ".tmp"))
        self.handle: Any = None
        self.pq_writer: Any = None
        self.rows = 0

    def write(self, columns: dict, keep: Any = None) -> None:
        try:
            if self.parquet:
                self._write_parquet(columns, keep)
            else:
                self._write_csv(columns, keep)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise CliError(f"cannot write predictions to {self.path}: {one_line(exc)}") from None
        self.rows += len(next(iter(columns.values())))

    def _open_text(self) -> Any:
        if self.tmp is None:
            return sys.stdout
        ext = Path(self.path).suffix.lower()
        if ext == ".gz":
            import gzip
            return gzip.open(self.tmp, "wt", encoding="utf-8", newline="")
        if ext == ".bz2":
            import bz2
            return bz2.open(self.tmp, "wt", encoding="utf-8", newline="")
        if ext == ".xz":
            import lzma
            return lzma.open(self.tmp, "wt", encoding="utf-8", newline="")
        return open(self.tmp, "w", encoding="utf-8", newline="")

    def _write_csv(self, columns: dict, keep: Any) -> None:
        first = self.handle is None
        if first:
            self.handle = self._open_text()
        if keep is not None:
            frame = keep.reset_index(drop=True).copy()
            for name, values in columns.items():
                frame[name] = values
            frame.to_csv(self.handle, header=first, index=False, float_format="%.17g",
                         lineterminator="\n")
            return
        if first:
            self.handle.write(",".join(columns) + "\n")
        block = np.column_stack([np.asarray(v, dtype=np.float64) for v in columns.values()])
        np.savetxt(self.handle, block, fmt="%.17g", delimiter=",")

    def _write_parquet(self, columns: dict, keep: Any) -> None:
        pa = require("pyarrow", "writing Parquet files")
        pq = require("pyarrow.parquet", "writing Parquet files", "pyarrow")
        table = pa.table({k: np.asarray(v) for k, v in columns.items()})
        if keep is not None:
            extra = pa.Table.from_pandas(keep.reset_index(drop=True), preserve_index=False)
            for i, name in enumerate(extra.column_names):
                table = table.add_column(i, name, extra.column(i))
        if self.pq_writer is None:
            self.pq_writer = pq.ParquetWriter(self.tmp, table.schema)
        self.pq_writer.write_table(table)

    def close(self, ok: bool = True) -> None:
        """Finish the file (rename it into place), or remove it when ``ok`` is False."""
        if self.pq_writer is not None:
            self.pq_writer.close()
        elif self.handle is not None and self.handle is not sys.stdout:
            self.handle.close()
        elif self.handle is not None:
            self.handle.flush()  # stdout: leave it open
        if self.tmp is None or not os.path.exists(self.tmp):
            return
        if ok:
            os.replace(self.tmp, self.path)
        else:
            os.remove(self.tmp)
