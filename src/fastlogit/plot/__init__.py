"""Figures of fitted models (matplotlib, optional: ``pip install "fastlogit[plot]"``).

Every function returns a matplotlib ``Figure`` (or draws into the Axes given as
``ax=``); matplotlib is imported only when a function is called.

>>> import numpy as np, fastlogit
>>> from fastlogit import plot
>>> res = fastlogit.fit(np.array([[0.], [1.], [2.], [3.]]), [10, 10, 10, 10], [2, 4, 5, 8])
>>> fig = plot.coefficients(res)
"""

from fastlogit.plot._diagnostics import (
    binomial_interval,
    calibration,
    calibration_bins,
    coefficients,
    residuals,
)

__all__ = ["binomial_interval", "calibration", "calibration_bins", "coefficients", "residuals"]
