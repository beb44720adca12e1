"""What the command line's readers share: column choices, training sets, chunks, checks.

The tabular readers (``_io``) and the matrix readers (``_matrix``) both build
these records and run these checks, so each message is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fastlogit.cli._util import CliError


@dataclass(frozen=True)
class Columns:
    """What the user said about the columns (tabular files) or arrays (npz)."""

    label: Optional[str] = None
    positive: Optional[str] = None
    successes: Optional[str] = None
    trials: Optional[str] = None
    features: Optional[tuple] = None
    weights: Optional[str] = None
    offset: Optional[str] = None


@dataclass(frozen=True)
class TrainingSet:
    X: Any
    n: np.ndarray
    k: np.ndarray
    weights: Optional[np.ndarray]
    offset: Optional[np.ndarray]
    feature_names: tuple
    outcome: str  # how the outcome was read, for the report
    source: dict = field(default_factory=dict)  # what predict needs to read new data alike


@dataclass(frozen=True)
class Chunk:
    X: Any
    offset: Optional[np.ndarray]
    keep: Any  # DataFrame of passed-through columns, or None
    start: int  # index of its first row in the file


def exists(path: str) -> None:
    p = Path(path)
    if not p.exists():
        raise CliError(f"{path}: no such file")
    if p.is_dir():
        raise CliError(f"{path} is a directory, not a data file")


def list_names(values: Any, limit: int = 12) -> str:
    items = [str(v) for v in values]
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def check_labels(y: np.ndarray, path: str, what: str) -> None:
    """0/1 labels or a CliError naming the first row with another value."""
    bad = np.flatnonzero((y != 0) & (y != 1))
    if bad.size:
        i = int(bad[0])
        raise CliError(f"{path}: {what} must hold 0/1 labels; row {i} has {y[i]:g} "
                       "(use --positive VALUE for class labels, or --successes/--trials "
                       "for counts)")


def check_counts(n: np.ndarray, k: np.ndarray, path: str, k_name: str, n_name: str) -> None:
    """0 <= k <= n, or a CliError naming the columns and the first row at fault."""
    for bad, text in ((n < 0, f"trials '{n_name}' must be >= 0"),
                      (k < 0, f"successes '{k_name}' must be >= 0"),
                      (k > n, f"successes '{k_name}' exceed trials '{n_name}'")):
        rows = np.flatnonzero(bad)
        if rows.size:
            i = int(rows[0])
            raise CliError(f"{path}: {text}: row {i} has {k_name}={k[i]:g}, {n_name}={n[i]:g} "
                           f"({rows.size:,} such rows)")


def check_weights(w: np.ndarray, path: str) -> np.ndarray:
    rows = np.flatnonzero(w < 0)
    if rows.size:
        raise CliError(f"{path}: weights must be >= 0; row {int(rows[0])} has {w[rows[0]]:g}")
    return w
