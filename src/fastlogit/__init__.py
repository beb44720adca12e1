"""fastlogit: fast regularised logistic regression on binomial (X, n, k) data.

>>> import numpy as np, fastlogit
>>> res = fastlogit.fit(np.eye(2), n=[4, 4], k=[3, 1], lam=0.1)
>>> res.predict_proba(np.eye(2)).round(3)
array([0.726, 0.274])
"""

from fastlogit._cv import CVResult, cv
from fastlogit._fit import fit
from fastlogit._inference import SeparationWarning
from fastlogit._path import PathResult, path
from fastlogit._result import LogitResult
from fastlogit._solvers import ConvergenceWarning, IterationInfo
from fastlogit._special import log1pexp, log_sigmoid, sigmoid
from fastlogit._version import __version__

__all__ = [
    "CVResult",
    "ConvergenceWarning",
    "IterationInfo",
    "LogitResult",
    "PathResult",
    "SeparationWarning",
    "__version__",
    "cv",
    "fit",
    "log1pexp",
    "log_sigmoid",
    "path",
    "sigmoid",
]
