"""Predictions of a ``GLMResult`` for new data frames (``GLMResult.predict``)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from scipy.special import ndtri

from fastlogit._core import _special
from fastlogit._input._validate import as_design
from fastlogit._models._robust import row_quadratic
from fastlogit.formula._frame import as_frame, require_formula_libraries

PREDICT_TYPES = ("link", "response")


def new_rows(self: Any, newdata: Any, offset: Any
             ) -> tuple[Any, Optional[np.ndarray], Any, Any]:
    """(design of the complete rows, their offset, complete mask, index) of newdata."""
    enc = self.frame.encoding
    df = as_frame(newdata, "newdata")
    _, pd = require_formula_libraries()
    cols = enc.used_columns(df)
    missing = [c for c in (enc.spec.required_variables if enc.spec is not None else ())
               if c not in df.columns]
    if missing:
        raise ValueError(f"newdata lacks the column(s) {', '.join(map(repr, sorted(missing)))}"
                         f" that the formula uses")
    complete = ~np.asarray(df[cols].isna().any(axis=1)) if cols else np.ones(len(df), bool)
    rows = df[complete] if not complete.all() else df
    X = enc.design(rows)
    keep = np.flatnonzero(~self.removed)
    if keep.size != self.removed.size:
        X = X[:, keep]
    off = enc.offset(rows)
    if offset is not None:
        extra = np.asarray(offset, dtype=np.float64)
        if extra.ndim == 0:
            extra = np.full(len(df), float(extra))
        if extra.shape != (len(df),):
            raise ValueError(f"offset must have one value per row of newdata ({len(df)}); "
                             f"got shape {extra.shape}")
        extra = extra[complete]
    elif self.offset_column is not None:
        if self.offset_column not in df.columns:
            raise ValueError(f"newdata lacks the offset column {self.offset_column!r}")
        extra = df[self.offset_column].to_numpy(dtype=np.float64)[complete]
    elif self.has_offset_array:
        raise ValueError("the model was fitted with offset= given as an array: pass "
                         "offset= (one value per row of newdata) to predict")
    else:
        extra = None
    if extra is not None:
        off = extra if off is None else off + extra
    return X, off, complete, df.index


def predict(self: Any, newdata: Any, type: str, se_fit: bool, offset: Any,
            alpha: float) -> Any:
    """See ``GLMResult.predict``."""
    _, pd = require_formula_libraries()
    if type not in PREDICT_TYPES:
        raise ValueError(f"type must be one of {PREDICT_TYPES}; got {type!r}")
    if newdata is None:
        design = self.fit._train().design
        link = self.fit.fitted_linear_predictor
        complete, index = np.ones(link.shape[0], dtype=bool), self.frame.index
    else:
        X, off, complete, index = new_rows(self, newdata, offset)
        design = as_design(X, "newdata")
        link = self.fit.decision_function(X, off)
    out = np.full(complete.shape[0], np.nan)
    out[complete] = link if type == "link" else _special.sigmoid(link)
    if not se_fit:
        return pd.Series(out, index=index, name="fit")
    se_link = np.sqrt(np.maximum(row_quadratic(design, self._cov,
                                               self.frame.encoding.intercept), 0.0))
    z = float(ndtri(1.0 - float(alpha) / 2.0))
    lo, hi = link - z * se_link, link + z * se_link
    if type == "response":
        p = _special.sigmoid(link)
        se_link, lo, hi = se_link * p * (1.0 - p), _special.sigmoid(lo), _special.sigmoid(hi)
    cols = {}
    for name, v in (("fit", out[complete]), ("se_fit", se_link), ("lower", lo), ("upper", hi)):
        col = np.full(complete.shape[0], np.nan)
        col[complete] = v
        cols[name] = col
    return pd.DataFrame(cols, index=index)
