"""Numerically stable logistic functions on arrays (the kernels' own per-row math)."""

from __future__ import annotations

from typing import Any

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
