"""
Pictures of a fitted model
==========================

Three figures of :mod:`fastlogit.plot` on one dose-response problem whose true log-odds
curve bends (a squared term), fitted first with a straight line and then with the squared
term: the calibration plot with binomial intervals, the coefficients with their confidence
intervals, and the residuals against the fitted values. The misfit of the straight line
shows in the calibration and residual plots; the second fit removes it.

Each function returns a matplotlib ``Figure``; ``fig.savefig("name.png")`` writes it.
"""

import numpy as np

import fastlogit
from fastlogit import plot

# %%
# A problem whose log-odds bend: 400 groups, doses from -2 to 2, 25 trials each.
rng = np.random.default_rng(0)
dose = np.sort(rng.uniform(-2.0, 2.0, size=400))
n = np.full(400, 25.0)
true_logit = -0.5 + 1.2 * dose + 0.6 * dose**2
k = rng.binomial(25, 1.0 / (1.0 + np.exp(-true_logit))).astype(float)

straight = fastlogit.fit(dose[:, None], n, k, lam=0.0, feature_names=["dose"])
curved = fastlogit.fit(np.column_stack([dose, dose**2]), n, k, lam=0.0,
                       feature_names=["dose", "dose^2"])
print(f"deviance: straight line {straight.deviance:.1f}, with the squared term "
      f"{curved.deviance:.1f} on {curved.df_resid} residual degrees of freedom")

# %%
# Calibration: the straight line predicts too high in the middle and too low at the ends.
fig_calibration = plot.calibration(straight, bins=10, title="straight line in dose")

# %%
# With the squared term the bins sit on the diagonal, within their intervals.
fig_calibration_curved = plot.calibration(curved, bins=10, title="with the squared term")

# %%
# The coefficients of the second fit, with 95% Wald intervals.
fig_coefficients = plot.coefficients(curved, intercept=True)

# %%
# Residuals against the fitted linear predictor: the binned means of the straight line's
# residuals trace the missing curve.
fig_residuals = plot.residuals(straight, title="straight line: residuals curve")
