"""Factors with many levels, one-hot encoded straight into CSR.

formulaic builds a categorical term level by level (a sparse column each, then
stacked): about 70 microseconds per level, seconds for 100,000 levels. A term
that is a bare categorical column with at least ``MANY_LEVELS`` levels, in a
formula with an intercept and used in no other term, is therefore encoded
here from the column's integer codes in one vectorised pass: treatment
contrasts, the first level the reference (R's default), columns named
``g[T.level]`` as formulaic names them, and placed after formulaic's columns.
The result is the same matrix, columns in another order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

MANY_LEVELS = 1000
_NO_INTERCEPT = re.compile(r"(^|\+)\s*0\s*(\+|$)|-\s*1\b|^\s*0\s*$")


@dataclass(frozen=True)
class BigFactor:
    """A many-level factor term: its column and levels (the first is the reference)."""

    column: str
    levels: tuple

    @property
    def column_names(self) -> tuple:
        return tuple(f"{self.column}[T.{lev}]" for lev in self.levels[1:])

    def codes(self, data: Any) -> np.ndarray:
        """Level index of each row (-1 for missing or unknown values)."""
        import pandas as pd

        return np.asarray(pd.Categorical(data[self.column], categories=list(self.levels)).codes,
                          dtype=np.int64)


def _levels(series: Any) -> tuple:
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return tuple(series.cat.categories)
    return tuple(sorted(pd.unique(series.dropna())))


def split_big_factors(terms: list, data: Any, rhs: str) -> tuple[list, list]:
    """(other terms, BigFactors) of the top-level '+' terms of ``rhs``."""
    import pandas as pd
    from formulaic import Formula

    if _NO_INTERCEPT.search(rhs):
        return terms, []
    candidates = []
    for term in terms:
        name = term.strip()
        if name in data.columns and len(terms) > 1:
            col = data[name]
            if (isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object
                    or pd.api.types.is_string_dtype(col.dtype)):
                if col.nunique(dropna=True) >= MANY_LEVELS or (
                        isinstance(col.dtype, pd.CategoricalDtype)
                        and len(col.cat.categories) >= MANY_LEVELS):
                    candidates.append(name)
    if not candidates:
        return terms, []
    others = [t for t in terms if t.strip() not in candidates]
    used = set()
    for t in others:
        try:
            used |= set(Formula(t).required_variables)
        except Exception:  # let formulaic report it on the whole formula
            return terms, []
    big = [c for c in candidates if c not in used]
    rest = [t for t in terms if t.strip() not in big]
    return rest, [BigFactor(c, _levels(data[c])) for c in big]


def append_factors(X: Any, factors: list, data: Any) -> Any:
    """[X, one-hot columns of each factor] as CSR, built directly (no stacking copies)."""
    if not sp.issparse(X):
        return _append_to_dense(np.asarray(X), factors, data)
    Xs = sp.csr_matrix(X)
    Xs.sort_indices()
    m, p0 = Xs.shape
    width = p0
    cols, has = [], []
    for f in factors:
        code = f.codes(data)
        hit = code >= 1  # the reference level (0) has no column
        cols.append(np.where(hit, width + code - 1, 0))
        has.append(hit)
        width += len(f.levels) - 1
    small = np.diff(Xs.indptr)
    counts = small + sum(h.astype(np.int64) for h in has)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    index_type = np.int32 if max(nnz, width) < np.iinfo(np.int32).max else np.int64
    indices = np.empty(nnz, dtype=index_type)
    values = np.empty(nnz, dtype=np.float64)
    pos = np.repeat(indptr[:-1] - Xs.indptr[:-1], small) + np.arange(Xs.nnz)
    indices[pos] = Xs.indices
    values[pos] = Xs.data
    fill = indptr[:-1] + small
    for c, h in zip(cols, has):
        rows = np.flatnonzero(h)
        indices[fill[rows]] = c[rows]
        values[fill[rows]] = 1.0
        fill[rows] += 1
    return sp.csr_matrix((values, indices, indptr.astype(index_type)), shape=(m, width))


def _append_to_dense(X: np.ndarray, factors: list, data: Any) -> Any:
    """The same for a dense X (numeric terms): filled column by column, so the scratch is
    one row-length index array, not a CSR copy of X."""
    m, p0 = X.shape
    codes = [f.codes(data) for f in factors]
    has = [c >= 1 for c in codes]
    width = p0 + sum(len(f.levels) - 1 for f in factors)
    counts = np.full(m, p0, dtype=np.int64)
    for h in has:
        counts += h
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    del counts
    nnz = int(indptr[-1])
    index_type = np.int32 if max(nnz, width) < np.iinfo(np.int32).max else np.int64
    indices = np.empty(nnz, dtype=index_type)
    values = np.empty(nnz, dtype=np.float64)
    at = indptr[:-1].copy()
    for j in range(p0):
        indices[at] = j
        values[at] = X[:, j]
        at += 1
    offset = p0
    for f, code, h in zip(factors, codes, has):
        rows = np.flatnonzero(h)
        pos = at[rows]
        indices[pos] = offset + code[rows] - 1
        values[pos] = 1.0
        at[rows] += 1
        offset += len(f.levels) - 1
    return sp.csr_matrix((values, indices, indptr.astype(index_type)), shape=(m, width))
