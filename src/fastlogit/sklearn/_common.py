"""Helpers shared by the scikit-learn estimators (_classifier.py, _cv.py, _estimators.py)
and their partial_fit (_stream.py): input validation across scikit-learn versions, the mapping of
scikit-learn's parameters onto the core's, and warnings. Imports scikit-learn: load it
only from those modules.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight

from fastlogit._core._threads import resolve_threads
from fastlogit.sklearn._engine import _FACTR
from fastlogit.sklearn._engine import sklearn_warnings as _refit_warnings

__all__ = ["_FACTR", "_refit_warnings"]


def _validate_data(estimator: Any, X: Any, y: Any = None, reset: bool = True) -> Any:
    """scikit-learn's validate_data (>= 1.6) or the older method of the same job."""
    kwargs = dict(accept_sparse="csr", dtype=(np.float64, np.float32), reset=reset)
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        if y is None:
            return estimator._validate_data(X, **kwargs)
        return estimator._validate_data(X, y, **kwargs)
    if y is None:
        return validate_data(estimator, X, **kwargs)
    return validate_data(estimator, X, y, **kwargs)


def _require_y(estimator: Any, y: Any) -> None:
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y "
                         "is None")


def _threads(n_jobs: Optional[int]) -> int:
    """Kernel threads from n_jobs (None: OpenMP's default; -1: all cores; k: k threads).
    The kernels use fewer on small inputs by themselves (_rows.pxd, thread_count)."""
    return resolve_threads(_n_jobs_to_threads(n_jobs))


def _n_jobs_to_threads(n_jobs: Optional[int]) -> Optional[int]:
    if n_jobs is None or n_jobs == -1:
        return n_jobs
    if isinstance(n_jobs, numbers.Integral) and n_jobs < -1:
        # joblib's convention: -2 means all cores but one
        import os

        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return n_jobs


def _class_weights(class_weight: Any, classes: np.ndarray, y: np.ndarray,
                   sample_weight: np.ndarray) -> np.ndarray:
    """scikit-learn's class weights; "balanced" counts weighted samples where the
    installed scikit-learn does (>= 1.6), as its own LogisticRegression then does."""
    try:
        return compute_class_weight(class_weight, classes=classes, y=y,
                                    sample_weight=sample_weight)
    except TypeError:  # scikit-learn < 1.6
        return compute_class_weight(class_weight, classes=classes, y=y)


class _SparseInput:
    """Both estimators take scipy sparse X (CSR directly; other formats are converted)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.sparse = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"X_types": ["2darray", "sparse"]}


def _proportions(estimator: Any, X: Any, y: Any, sample_weight: Any, reset: bool = True
                 ) -> tuple[Any, np.ndarray, np.ndarray, Optional[float]]:
    """BinomialRegressor's data: (X, y = k/n in [0, 1], n = sample_weight >= 0, the
    per-trial penalty alpha, or None when lam is given directly)."""
    X, y = _validate_data(estimator, X, y, reset=reset)
    y = np.asarray(y, dtype=np.float64)
    if y.size and (y.min() < 0 or y.max() > 1):
        i = int(np.flatnonzero((y < 0) | (y > 1))[0])
        raise ValueError(f"y must be the observed proportion k/n in [0, 1]; sample {i} has "
                         f"y={y[i]:g}. Pass the trials n as sample_weight.")
    n = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if n.size and n.min() < 0:
        i = int(np.flatnonzero(n < 0)[0])
        raise ValueError(f"sample_weight is the number of trials n and must be >= 0; "
                         f"sample {i} has {n[i]:g}")
    if estimator.lam is not None:
        if estimator.alpha != 1.0:
            raise ValueError("give alpha or lam, not both; lam = alpha * sum(sample_weight)")
        return X, y, n, None
    alpha = estimator.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0; got {alpha!r}")
    return X, y, n, float(alpha)
