"""Numerically stable logistic functions on arrays (the kernels' own per-row math)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fastlogit._core._kernels import apply_elementwise


def log1pexp(z: Any) -> Any:
    """log(1 + exp(z)), finite and accurate to 2 ulp for every finite z.

    Piecewise form of Maechler (2012) with R's thresholds (-37, 18, 33.3).

    Parameters
    ----------
    z : array_like
        Real numbers of any shape (float32 in gives float32 out, everything
        else float64; computed in float64).

    Returns
    -------
    ndarray of the shape of z, or a numpy scalar for scalar input.

    Raises
    ------
    TypeError
        For non-numeric input.

    Examples
    --------
    >>> import fastlogit
    >>> float(fastlogit.log1pexp(1000.0)), float(fastlogit.log1pexp(-1000.0))
    (1000.0, 0.0)
    """
    return apply_elementwise(z, "log1pexp")


def sigmoid(z: Any) -> Any:
    """The logistic function 1 / (1 + exp(-z)), never overflowing.

    Parameters
    ----------
    z : array_like

    Returns
    -------
    ndarray of the shape of z (values in [0, 1]), or a numpy scalar.

    Raises
    ------
    TypeError
        For non-numeric input.

    Examples
    --------
    >>> import fastlogit
    >>> fastlogit.sigmoid([-800.0, 0.0, 800.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    return apply_elementwise(z, "sigmoid")


def log_sigmoid(z: Any) -> Any:
    """log(sigmoid(z)) = -log1pexp(-z), finite for every finite z.

    Parameters
    ----------
    z : array_like

    Returns
    -------
    ndarray of the shape of z (values <= 0), or a numpy scalar.

    Raises
    ------
    TypeError
        For non-numeric input.

    Examples
    --------
    >>> import fastlogit
    >>> float(fastlogit.log_sigmoid(-1000.0))
    -1000.0
    """
    return apply_elementwise(z, "log_sigmoid")


def unit_deviances(n: np.ndarray, k: np.ndarray, s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """2 s_i [k log(y / p) + (n - k) log((1 - y) / (1 - p))], y = k/n, p = sigmoid(z_i), >= 0.

    A row that fits well has y close to p: then both terms are about
    +-n (y - p) while their sum is n (y - p)^2 / (p (1 - p)), so any error
    in the terms is magnified by 1/|y - p|. Written with delta = y - p,
        k log1p(delta / p) + (n - k) log1p(-delta / (1 - p)),
    the terms carry relative (not absolute) rounding errors and the sum
    stays accurate; delta is formed on the side (p or 1 - p) that is small,
    so that it is accurate too. For |z| > 30 (p or 1 - p below 1e-13) the
    form with log p = log_sigmoid(z), which cannot underflow, is used: the
    deviance of such a row is either large or exactly handled by k or n - k = 0.
    """
    pos = n > 0
    safe_n = np.where(pos, n, 1.0)
    y, ny = k / safe_n, (n - k) / safe_n  # y and 1 - y, each without cancellation
    p, q = sigmoid(z), sigmoid(-z)  # p and 1 - p
    delta = np.where(z <= 0, y - p, q - ny)
    with np.errstate(divide="ignore", invalid="ignore"):
        near = (np.where(k > 0, k * np.log1p(delta / p), 0.0)
                + np.where(n > k, (n - k) * np.log1p(-delta / q), 0.0))
        far = (np.where(k > 0, k * (np.log(y) - log_sigmoid(z)), 0.0)
               + np.where(n > k, (n - k) * (np.log(ny) - log_sigmoid(-z)), 0.0))
        terms = np.where(np.abs(z) <= 30.0, near, far)
    return np.maximum(2.0 * s * np.where(pos, terms, 0.0), 0.0)
