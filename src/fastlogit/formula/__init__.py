"""Formulas and data frames: ``glm`` (R's glm for binomial data) and its inference.

Needs the optional packages formulaic and pandas (``pip install fastlogit[formula]``);
they are imported when a model is fitted, not when this package is.
"""

from fastlogit.formula._compare import WaldTest, anova, drop1, wald_test
from fastlogit.formula._glm import glm
from fastlogit.formula._result import GLMResult

__all__ = ["GLMResult", "WaldTest", "anova", "drop1", "glm", "wald_test"]
