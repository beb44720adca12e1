"""Formulas and data frames -> the arrays of a binomial fit (formulaic and pandas, optional).

``model_frame`` reads ``response ~ terms`` the way R's ``glm`` does:

* the response is ``cbind(successes, failures)``, a proportion (with the
  trials as ``weights``), or a 0/1, logical or two-level column (the first
  level is the failure, as in R);
* the right-hand side is handed to formulaic (Wilkinson formulas, treatment
  contrasts, ``C(x, ...)``, interactions, transforms); ``offset(expr)`` terms
  are taken out first and added to the linear predictor;
* rows with a missing value in any column the model uses are dropped (R's
  ``na.omit``) or refused (``na_action="raise"``);
* factors are encoded as sparse one-hot columns (CSR), never densely; an
  all-numeric design becomes a dense array.

The ``Encoding`` remembers formulaic's model spec (levels, contrasts, transform
state) so that new data are encoded the same way, and says which column and
level is at fault when new data hold a level the fit never saw.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from fastlogit.formula._bigfactor import append_factors, split_big_factors

NA_ACTIONS = ("omit", "drop", "raise")
# Designs holding at least this fraction of non-zeros are kept dense (faster kernels);
# a dense array then needs at most 8 / (0.3 * 12) ~ 2.2 times the CSR bytes.
_DENSE_FRACTION = 0.3


def require_formula_libraries() -> tuple[Any, Any]:
    """(formulaic, pandas), or an ImportError that says how to install them."""
    try:
        import formulaic
        import pandas
    except ImportError as exc:
        raise ImportError(
            "formulas need the optional packages formulaic and pandas: "
            "pip install fastlogit[formula]") from exc
    return formulaic, pandas


def as_frame(data: Any, name: str = "data") -> Any:
    """A pandas DataFrame from a DataFrame, a dict of columns or a structured mapping."""
    _, pd = require_formula_libraries()
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):  # polars, pyarrow tables
        return data.to_pandas()
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise TypeError(f"{name} must be a pandas DataFrame (or a dict of columns); "
                    f"got {type(data).__name__}")


# -- splitting the formula ---------------------------------------------------------------

def _top_level_split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses, brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def split_formula(formula: str) -> tuple[str, str, tuple]:
    """(response, right-hand side without offsets, offset expressions) of ``formula``."""
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x + g'; "
                        f"got {type(formula).__name__}")
    sides = _top_level_split(formula, "~")
    if len(sides) != 2 or not sides[0].strip() or not sides[1].strip():
        raise ValueError(f"formula must read 'response ~ terms' with one '~'; got {formula!r}")
    lhs, rhs = sides[0].strip(), sides[1].strip()
    offsets, kept = [], []
    for part in _top_level_split(rhs, "+"):
        term = part.strip()
        if term.startswith("offset(") and term.endswith(")"):
            offsets.append(term[len("offset("):-1].strip())
        else:
            kept.append(part)
    rhs = "+".join(kept).strip()
    if not rhs:
        rhs = "1"
    elif rhs.startswith("-"):  # "offset(o) - 1" left "- 1"
        rhs = "1 " + rhs
    return lhs, rhs, tuple(offsets)


def _names_in(expr: str) -> set:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot read the expression {expr!r} of the formula: {exc.msg}") from None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def evaluate(expr: str, data: Any, what: str) -> np.ndarray:
    """The value of a Python expression over the columns of ``data`` (numpy as ``np``)."""
    missing = sorted(n for n in _names_in(expr)
                     if n not in data.columns and n not in ("np", "numpy"))
    if missing:
        raise ValueError(f"the {what} {expr!r} uses {', '.join(map(repr, missing))}, "
                         f"which {'is' if len(missing) == 1 else 'are'} not a column of data")
    if expr in data.columns:
        return data[expr]
    scope = {c: data[c].to_numpy() for c in data.columns if isinstance(c, str)}
    return eval(compile(expr, f"<{what}>", "eval"),  # noqa: S307 - the user's own formula
                {"np": np, "numpy": np, "__builtins__": {}}, scope)


# -- the response ------------------------------------------------------------------------

def _as_float(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr.astype(np.float64)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"the {what} must be numeric; got values of dtype {arr.dtype}")
    return arr.astype(np.float64)


def response_counts(lhs: str, data: Any, weights: Optional[np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(trials n, successes k) per row from the response, prior weights folded in as R does.

    R's binomial family multiplies both counts by the prior weights: with
    ``cbind(k, f)`` and weights w a row holds w k successes in w (k + f)
    trials; with a proportion y and weights w, y w successes in w trials.
    """
    _, pd = require_formula_libraries()
    if lhs.startswith("cbind(") and lhs.endswith(")"):
        args = _top_level_split(lhs[len("cbind("):-1], ",")
        if len(args) != 2:
            raise ValueError(f"cbind() in the response takes two columns (successes, failures); "
                             f"got {lhs!r}")
        k = _as_float(evaluate(args[0].strip(), data, "response"), "successes of cbind()")
        f = _as_float(evaluate(args[1].strip(), data, "response"), "failures of cbind()")
        n = k + f
        bad = np.flatnonzero((k < 0) | (f < 0))
        if bad.size:
            raise ValueError(f"cbind(successes, failures) needs non-negative counts; row "
                             f"{int(bad[0])} has {k[bad[0]]:g} successes and "
                             f"{f[bad[0]]:g} failures")
    else:
        raw = evaluate(lhs, data, "response")
        series = raw if isinstance(raw, pd.Series) else pd.Series(np.asarray(raw))
        if (isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object
                or pd.api.types.is_string_dtype(series.dtype)):
            levels = (list(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype)
                      else sorted(series.dropna().unique()))
            if len(levels) != 2:
                raise ValueError(
                    f"the response {lhs!r} is categorical with {len(levels)} levels; a binomial "
                    f"model needs two (the first, {levels[0] if levels else None!r}, is the "
                    f"failure) or counts: cbind(successes, failures) ~ ...")
            k = (series == levels[1]).to_numpy(dtype=np.float64)
        else:
            k = _as_float(series.to_numpy(), "response")
        bad = np.flatnonzero((k < 0) | (k > 1))
        if bad.size:
            raise ValueError(
                f"the response {lhs!r} must hold 0/1 values or proportions in [0, 1]; row "
                f"{int(bad[0])} is {k[bad[0]]:g}. For counts write cbind(successes, failures) "
                f"~ ..., or successes / trials ~ ... with weights=trials")
        n = np.ones_like(k)
    if weights is not None:
        n, k = weights * n, weights * k
    return n, k


# -- the encoding ------------------------------------------------------------------------

@dataclass(frozen=True)
class Encoding:
    """How a formula turns a data frame into columns: formulaic's spec plus the offsets."""

    formula: str
    response: str
    rhs: str
    offsets: tuple
    spec: Any  # formulaic ModelSpec (levels, contrasts, transform state)
    column_names: tuple  # without the intercept
    intercept: bool
    terms: tuple  # (term label, column indices (no intercept), factor names) per term
    big_factors: tuple = ()  # many-level factors encoded by _bigfactor, after spec's columns

    def used_columns(self, data: Any) -> list:
        """The data columns the right-hand side and the offsets read."""
        names = set(self.spec.required_variables if self.spec is not None else ())
        names |= {f.column for f in self.big_factors}
        for expr in self.offsets:
            names |= _names_in(expr)
        return [c for c in data.columns if c in names]

    def check_levels(self, data: Any) -> None:
        """Raise a ValueError naming the column and level that the fit never saw."""
        _, pd = require_formula_libraries()
        for name, (kind, state) in self.spec.encoder_state.items():
            if getattr(kind, "value", kind) != "categorical" or "categories" not in state:
                continue
            column = _factor_column(name, data)
            if column is None:
                continue
            _check_known(data, column, state["categories"])
        for f in self.big_factors:
            _check_known(data, f.column, f.levels)

    def design(self, data: Any) -> Any:
        """The encoded columns (no intercept) of complete rows of ``data``, CSR or dense."""
        self.check_levels(data)
        if self.spec is None:
            return np.zeros((len(data), 0))
        mm = self.spec.get_model_matrix(data, output="sparse", na_action="ignore")
        X = _finish_design(mm, self.intercept)
        return append_factors(X, list(self.big_factors), data) if self.big_factors else X

    def offset(self, data: Any) -> Optional[np.ndarray]:
        """The sum of the formula's offset(...) terms over ``data``, or None."""
        total = None
        for expr in self.offsets:
            value = _as_float(evaluate(expr, data, "offset"), f"offset({expr})")
            total = value if total is None else total + value
        return total


def _check_known(data: Any, column: str, levels: Any) -> None:
    _, pd = require_formula_libraries()
    known = set(levels)
    unseen = [v for v in pd.unique(data[column].dropna()) if v not in known]
    if unseen:
        raise ValueError(
            f"column {column!r} of the new data holds the level {unseen[0]!r}, which the "
            f"model was not fitted with (known levels: {_preview(levels)}). Drop those rows "
            f"or map them to a known level first")


def _preview(levels: Any, limit: int = 8) -> str:
    levels = list(levels)
    shown = ", ".join(repr(v) for v in levels[:limit])
    return shown + (f", ... ({len(levels)} levels)" if len(levels) > limit else "")


def _factor_column(name: str, data: Any) -> Optional[str]:
    """The data column behind an encoded factor: ``g`` itself, or the first argument of
    ``C(g, ...)``."""
    if name in data.columns:
        return name
    if name.startswith("C(") and name.endswith(")"):
        inner = _top_level_split(name[2:-1], ",")[0].strip()
        if inner in data.columns:
            return inner
    return None


def _finish_design(mm: Any, intercept: bool) -> Any:
    """Drop formulaic's intercept column; CSR for sparse designs, dense C-order otherwise."""
    M = mm if sp.isspmatrix_csc(mm) else sp.csc_matrix(mm)  # formulaic's sparse output
    if intercept:
        M = M[:, 1:]  # a column slice of CSC: one copy of the rest, no CSR detour
    m, p = M.shape
    if m * p == 0 or M.nnz >= _DENSE_FRACTION * m * p:
        return np.ascontiguousarray(M.toarray())
    X = M.tocsr()
    X.sum_duplicates()
    return X


def encode(formula: str, data: Any) -> tuple[Encoding, Any]:
    """Fit the encoding of ``formula`` on ``data`` (complete rows): (Encoding, design)."""
    formulaic, _ = require_formula_libraries()
    lhs, rhs, offsets = split_formula(formula)
    rest, big = split_big_factors(_top_level_split(rhs, "+"), data, rhs)
    try:
        mm = formulaic.model_matrix("+".join(rest) if rest else "1", data, output="sparse",
                                    na_action="raise")
    except Exception as exc:
        raise ValueError(f"formulaic could not build the model matrix of {rhs!r}: {exc}") from exc
    spec = mm.model_spec
    names = list(spec.column_names)
    intercept = bool(names) and names[0] == "Intercept"
    shift = int(intercept)
    terms = []
    for term, cols in spec.term_indices.items():
        label = str(term)
        if label == "1":
            continue
        factors = tuple(sorted(str(f) for f in getattr(term, "factors", ())))
        terms.append((label, tuple(int(c) - shift for c in cols), factors))
    X = _finish_design(mm, intercept)
    names = names[shift:]
    if big:
        X = append_factors(X, big, data)
        for f in big:
            terms.append((f.column, tuple(range(len(names), len(names) + len(f.levels) - 1)),
                          (f.column,)))
            names += list(f.column_names)
    enc = Encoding(formula, lhs, rhs, offsets, spec, tuple(names), intercept, tuple(terms),
                   tuple(big))
    return enc, X


# -- the model frame ---------------------------------------------------------------------

@dataclass(frozen=True)
class ModelFrame:
    """Everything a fit needs from (formula, data): complete rows only."""

    encoding: Encoding
    X: Any
    n: np.ndarray
    k: np.ndarray
    offset: Optional[np.ndarray]
    index: Any  # the data's index of the rows kept
    rows: np.ndarray  # their positions in data
    n_dropped: int
    groups: Optional[np.ndarray]
    data: Any = None  # the caller's data frame (a reference, for columns named later)


def _vector(value: Any, data: Any, name: str) -> Optional[np.ndarray]:
    """A per-row argument given as an array or as the name of a column of data."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise ValueError(f"{name}={value!r} is not a column of data")
        value = data[value]
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != len(data):
        raise ValueError(f"{name} must have one value per row of data ({len(data)}); "
                         f"got shape {arr.shape}")
    return arr


def _missing(arr: Any) -> np.ndarray:
    _, pd = require_formula_libraries()
    return np.asarray(pd.isna(arr), dtype=bool).reshape(len(arr), -1).any(axis=1)


def model_frame(formula: str, data: Any, weights: Any = None, offset: Any = None,
                groups: Any = None, na_action: str = "omit") -> ModelFrame:
    """Encode (formula, data) for a fit, dropping or refusing incomplete rows."""
    if na_action not in NA_ACTIONS:
        raise ValueError(f"na_action must be one of {NA_ACTIONS}; got {na_action!r}")
    data = as_frame(data)
    lhs, rhs, offsets = split_formula(formula)
    formulaic, _ = require_formula_libraries()
    try:
        needed = set(formulaic.Formula(rhs).required_variables)
    except Exception as exc:
        raise ValueError(f"formulaic could not read the terms {rhs!r}: {exc}") from exc
    for expr in (*offsets, *_top_level_split(lhs.removeprefix("cbind(").removesuffix(")"), ",")):
        needed |= _names_in(expr.strip())
    absent = sorted(v for v in needed if v not in data.columns and v not in ("np", "numpy"))
    if absent:
        raise ValueError(f"the formula uses {', '.join(map(repr, absent))}: not "
                         f"{'a column' if len(absent) == 1 else 'columns'} of data")
    w = _vector(weights, data, "weights")
    o = _vector(offset, data, "offset")
    g = _vector(groups, data, "groups")
    miss = np.zeros(len(data), dtype=bool)
    for col in sorted(c for c in needed if c in data.columns):
        miss |= _missing(data[col].to_numpy())
    for arr in (w, o, g):
        if arr is not None:
            miss |= _missing(arr)
    n_dropped = int(miss.sum())
    if n_dropped and na_action == "raise":
        first = int(np.flatnonzero(miss)[0])
        raise ValueError(
            f"{n_dropped} rows have missing values in the columns the model uses (the first "
            f"is row {first}, index {data.index[first]!r}); na_action='raise' refuses them. "
            f"Use na_action='omit' to drop them, as R's na.omit does")
    rows = np.flatnonzero(~miss)
    if rows.size == 0:
        raise ValueError("no complete rows: every row has a missing value in a column the "
                         "model uses")
    kept = data.iloc[rows] if n_dropped else data
    w = None if w is None else _as_float(w[rows], "weights")
    if w is not None and (w < 0).any():
        raise ValueError(f"weights must be >= 0; row {int(np.flatnonzero(w < 0)[0])} is negative")
    n, k = response_counts(lhs, kept, w)
    enc, X = encode(formula, kept)
    off = enc.offset(kept)
    if o is not None:
        extra = _as_float(o[rows], "offset")
        off = extra if off is None else off + extra
    return ModelFrame(enc, X, n, k, off, kept.index, rows, n_dropped,
                      None if g is None else np.asarray(g)[rows], data)
