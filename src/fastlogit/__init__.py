"""fastlogit: fast regularised logistic regression on binomial (X, n, k) data.

>>> import numpy as np, fastlogit
>>> res = fastlogit.fit(np.eye(2), n=[4, 4], k=[3, 1], lam=0.1)
>>> res.predict_proba(np.eye(2)).round(3)
array([0.726, 0.274])
"""

from fastlogit._core._special import log1pexp, log_sigmoid, sigmoid
from fastlogit._input._aggregate import Aggregated, aggregate
from fastlogit._models._fit import fit
from fastlogit._models._inference import SeparationWarning
from fastlogit._models._multinomial import fit_multinomial
from fastlogit._models._multinomial_result import MultinomialResult
from fastlogit._models._result import LogitResult
from fastlogit._models._sgd_api import partial_fit
from fastlogit._selection._cv import CVResult, cv
from fastlogit._selection._path import PathResult, path
from fastlogit._solvers._base import ConvergenceWarning, IterationInfo
from fastlogit._version import __version__

__all__ = [
    "Aggregated",
    "CVResult",
    "ConvergenceWarning",
    "IterationInfo",
    "LogitResult",
    "MultinomialResult",
    "PathResult",
    "SeparationWarning",
    "__version__",
    "aggregate",
    "cv",
    "fit",
    "fit_multinomial",
    "log1pexp",
    "log_sigmoid",
    "partial_fit",
    "path",
    "sigmoid",
]

# The scikit-learn estimators (fastlogit.LogisticRegression, fastlogit.BinomialRegressor)
# are loaded on first access; they stay out of __all__ so that `from fastlogit import *`
# works without scikit-learn.
_SKLEARN_ESTIMATORS = ("BinomialRegressor", "LogisticRegression")


def __dir__():
    return sorted(set(globals()) | set(_SKLEARN_ESTIMATORS))


def __getattr__(name):
    """Load the scikit-learn estimators on first use (scikit-learn is optional)."""
    if name in _SKLEARN_ESTIMATORS:
        from fastlogit import sklearn as _sklearn

        return getattr(_sklearn, name)
    raise AttributeError(f"module 'fastlogit' has no attribute {name!r}")
