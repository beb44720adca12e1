"""``fastlogit.aggregate``: collapse duplicate rows into (X_unique, n, k) before fitting.

Logistic regression only sees a row through x_i, so rows with the same
features can be merged: their trials add up to n and their successes to k
(or, for several classes, their labels to a row of counts), and the
penalised likelihood -- hence the fit -- is unchanged. On 0/1 or
low-cardinality categorical data, where the same feature row recurs many
times, the fit then reads a fraction of the data in every iteration.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np

from fastlogit._core import _rowgroups
from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import as_design, as_row_vector, as_sample_weight
from fastlogit._input._validate_multi import encode_labels

_KINDS = ("auto", "binomial", "multinomial")


class Aggregated(NamedTuple):
    """Distinct rows with their pooled targets.

    X : {ndarray, csr_matrix, csr_array} of shape (n_unique, n_features)
        The first occurrence of each distinct row, in order of first
        appearance, in the type, dtype and index dtype of the input.
    n : ndarray of shape (n_unique,)
        Trials per distinct row: the summed sample weights (row counts by default).
    k : ndarray of shape (n_unique,) or (n_unique, n_classes)
        Binomial: summed weight * y. Multinomial: summed weights per class.
    inverse : ndarray of shape (n_rows,)
        The distinct row of each input row: ``X_unique[inverse]`` rebuilds X.
    classes : ndarray of shape (n_classes,) or None
        The labels of the columns of k (multinomial only).
    """

    X: Any
    n: np.ndarray
    k: np.ndarray
    inverse: np.ndarray
    classes: Optional[np.ndarray]


def aggregate(X: Any, y: Any, sample_weight: Any = None, *, kind: str = "auto",
              threads: Optional[int] = None) -> Aggregated:
    """Collapse duplicate rows of X, pooling their targets into trials and successes.

    Rows are hashed (order-independently over their nonzero entries) and
    hash matches are confirmed by comparing the rows, so the grouping is
    exact. Sparse input is never densified: CSR rows may have their columns
    in any order, stored zeros, float32 data and int64 indices. Fitting
    ``fit(agg.X, agg.n, agg.k)`` gives the same model as ``fit(X, y=y,
    sample_weight=sample_weight)`` (and ``fit_multinomial(agg.X,
    counts=agg.k)`` as ``fit_multinomial(X, y=y, ...)``).

    It pays off when distinct rows repeat several times on average (0/1 or
    categorical features of low cardinality): every iteration of the fit
    then reads the distinct rows only. It costs one hashing pass over X and
    a copy of the distinct rows, and gains nothing when almost every row is
    unique (continuous features).

    Parameters
    ----------
    X : {ndarray, csr_matrix, csr_array} of shape (n_rows, n_features)
        Dense or sparse (other sparse formats are converted to CSR).
    y : array_like of shape (n_rows,)
        0/1 labels, proportions in [0, 1] (kind="binomial"), or class labels.
    sample_weight : array_like of shape (n_rows,), optional
        Non-negative row weights (default 1): they add up into n.
    kind : {"auto", "binomial", "multinomial"}, default "auto"
        "binomial": y in [0, 1], k = sum of weight * y. "multinomial": y
        holds class labels, k is a count matrix. "auto": binomial when
        every y is 0 or 1, multinomial otherwise.
    threads : int, optional
        Threads for the hashing pass (None follows OpenMP's default).

    Returns
    -------
    Aggregated
        The named tuple (X, n, k, inverse, classes).

    Raises
    ------
    ValueError, TypeError
        For malformed X, y of the wrong length, non-finite y, y outside
        [0, 1] for kind="binomial", negative weights, an unknown kind.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    >>> agg = fastlogit.aggregate(X, [1, 0, 0, 1])
    >>> agg.X
    array([[1., 0.],
           [0., 1.]])
    >>> agg.n, agg.k, agg.inverse
    (array([3., 1.]), array([2., 0.]), array([0, 1, 0, 0]))
    >>> fastlogit.aggregate(X, ["a", "b", "c", "a"]).k
    array([[2., 0., 1.],
           [0., 1., 0.]])
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}")
    design = as_design(X, "X")
    m = design.n_rows
    s = as_sample_weight(sample_weight, m)
    if kind == "auto":
        kind = "binomial" if _is_binary(y, m) else "multinomial"
    # validate y before the (costlier) grouping
    if kind == "binomial":
        yv = as_row_vector(y, "y", m)
        assert yv is not None
        if m and (yv.min() < 0 or yv.max() > 1):
            i = int(np.flatnonzero((yv < 0) | (yv > 1))[0])
            raise ValueError(f"y must lie in [0, 1] for kind='binomial'; row {i} has {yv[i]:g}")
    else:
        classes, codes = encode_labels(y, m)
    inverse, X_unique = group_rows(design, resolve_threads(threads))
    G = X_unique.shape[0]
    n = np.bincount(inverse, weights=s, minlength=G).astype(np.float64)
    if kind == "binomial":
        k = np.bincount(inverse, weights=yv if s is None else s * yv, minlength=G)
        return Aggregated(X_unique, n, k, inverse, None)
    K = classes.shape[0]
    counts = np.bincount(inverse * K + codes, weights=s, minlength=G * K).reshape(G, K)
    return Aggregated(X_unique, n, counts.astype(np.float64, copy=False), inverse, classes)


def group_rows(design: Any, threads: int) -> tuple[np.ndarray, Any]:
    """(inverse, the distinct rows) for a validated design."""
    out = _rowgroups.group_rows(*design.kernel_args, threads)
    if out is None:
        # a CSR row repeats a column index (scipy sums such entries): group the
        # canonical form, a copy of X with the duplicates summed
        Xc = design.matrix.copy()
        Xc.sum_duplicates()
        design = as_design(Xc, "X")
        out = _rowgroups.group_rows(*design.kernel_args, threads)
    inverse, first, rep = out
    X = design.matrix
    if rep is None:
        return inverse, np.ascontiguousarray(X[first])
    # the distinct rows, gathered by the compiled pass, in the caller's sparse type
    # and dtypes (csr_matrix or csr_array; float32/64; int32/64 indices)
    out = type(X)(rep, shape=(first.shape[0], X.shape[1]), copy=False)
    if out.indices.dtype != rep[1].dtype:  # scipy may shrink the index dtype: keep ours
        out.indices, out.indptr = rep[1], rep[2]
    return inverse, out


def _is_binary(y: Any, m: int) -> bool:
    arr = np.asarray(y)
    if arr.dtype.kind == "b":
        return True
    if arr.dtype.kind not in "iuf" or arr.ndim != 1 or arr.shape[0] != m:
        return False
    return bool(np.all((arr == 0) | (arr == 1)))
