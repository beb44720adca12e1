"""Profile-likelihood confidence intervals (MASS's ``confint.glm``), solved exactly.

The limit for coefficient j is where the signed root deviance
zeta(t) = sign(t - b_j) sqrt((D(t) - D) / phi) reaches -+ z_{1-alpha/2}, with
D(t) the deviance of the model refitted with b_j fixed at t (the column
moved into the offset), D the deviance at the fit and phi the dispersion.
MASS evaluates zeta on a grid and interpolates it with a spline; here each
limit is the root of D(t) - D - phi z^2 found by Brent's method on exact
(Newton) refits, which is what MASS's interpolation approximates. A limit
that does not exist (separation: the deviance never rises far enough) is
reported as -inf or +inf.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtri

_MAX_STEPS = 60
_SMALL_WORK = 200_000


def profile_interval(model: Any, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) profile limits for the fitted (non-aliased) coefficients."""
    from fastlogit._models._fit import fit as fit_arrays

    if model.method == "firth":
        raise ValueError("profile intervals are not available for Firth's estimate; use "
                         "conf_int(method='wald')")
    res = model.fit
    t = res._train()
    X = t.design.matrix
    intercept = res._fit_intercept
    params = res.params
    P = params.shape[0]
    se = np.sqrt(np.diag(res.cov_params()) * model.dispersion)
    z = float(ndtri(1.0 - alpha / 2.0))
    target = model.dispersion * z * z
    d0 = res.deviance
    lam = float(res.settings.get("lam", 0.0))
    # dozens of refits: on small data, thread start-up would dominate each one
    threads = 1 if t.design.n_rows * P < _SMALL_WORK else res.settings.get("threads")
    base_offset = np.zeros(t.design.n_rows) if t.offset is None else t.offset
    lower, upper = np.full(P, -np.inf), np.full(P, np.inf)
    for j in range(P):
        if intercept and j == 0:
            Xj, col, fit_b = X, np.ones(t.design.n_rows), False
        else:
            c = j - int(intercept)
            keep = np.delete(np.arange(X.shape[1]), c)
            Xj = X[:, keep]
            col = np.asarray(X[:, [c]].toarray() if hasattr(X, "toarray") else X[:, c]).ravel()
            fit_b = intercept
        start = np.delete(params, j)

        def excess(value: float, col: Any = col, Xj: Any = Xj, fit_b: bool = fit_b,
                   start: np.ndarray = start) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kwargs: dict = {}
                if Xj.shape[1] == 0 and not fit_b:  # nothing left to fit: the deviance at t
                    zeta = base_offset + value * col
                    from fastlogit._core._special import unit_deviances

                    return float(unit_deviances(t.n, t.k, res._row_weights(), zeta).sum()
                                 - d0 - target)
                if start.size == Xj.shape[1] + int(fit_b):
                    kwargs["x0"] = start
                sub = fit_arrays(Xj, t.n, t.k, sample_weight=t.sample_weight,
                                    offset=base_offset + value * col, fit_intercept=fit_b,
                                    lam=lam, solver="newton", threads=threads, **kwargs)
            return float(sub.deviance - d0 - target)

        for side, out in ((-1.0, lower), (1.0, upper)):
            near, step = float(params[j]), float(se[j]) if np.isfinite(se[j]) else 1.0
            far = near + side * step
            found = False
            for _ in range(_MAX_STEPS):
                if excess(far) > 0:
                    found = True
                    break
                near, far = far, far + side * step
                step *= 1.5
            if found:
                root = brentq(excess, *sorted((near, far)), xtol=1e-13, rtol=1e-15, maxiter=200)
                out[j] = root
    return lower, upper
