"""Figures of fitted models (matplotlib, optional: ``pip install "fastlogit[plot]"``).

Every function returns a matplotlib ``Figure`` (or draws into the Axes given as
``ax=`` where it takes one); matplotlib is imported only when a function is called.
Diagnostics of one fit: ``calibration``, ``coefficients``, ``residuals``; glmnet-style
pictures of a regularisation path and of cross-validation: ``plot_path``, ``plot_cv``.

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
from fastlogit.plot._paths import plot_cv, plot_path

__all__ = ["binomial_interval", "calibration", "calibration_bins", "coefficients",
           "plot_cv", "plot_path", "residuals"]
