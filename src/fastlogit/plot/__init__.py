"""Figures of fitted models. matplotlib is an optional dependency, imported when a function
is called (``pip install matplotlib``); every function returns a matplotlib Figure."""

from fastlogit.plot._paths import plot_cv, plot_path

__all__ = ["plot_cv", "plot_path"]
