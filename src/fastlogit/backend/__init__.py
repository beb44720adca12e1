"""The low-level public API: fastlogit's objectives, for other libraries to build on.

A GLM package, a survey or causal-inference library fitting propensity models, an
optimiser or a sampler that needs the log-likelihood and its derivatives can use
fastlogit's compiled kernels directly:

* ``BinomialObjective(X, n, k, *, sample_weight, offset, fit_intercept, threads)``
* ``MultinomialObjective(X, Y, *, sample_weight, offset, fit_intercept, threads)``

Each validates its inputs once (the same checks and messages as ``fastlogit.fit``),
never copies or modifies X, and then offers, in the user's own parametrisation
(one flat vector ``theta``, intercepts first): ``n_params``, ``value(theta)``,
``value_and_grad(theta, out=None)``, ``hessp(theta, v, out=None)``,
``hessian(theta)``, ``linear_predictor(theta, X=None)``,
``predict_proba(theta, X=None)`` and ``deviance(theta)``. ``value_and_grad`` has
the signature of ``scipy.optimize.minimize(fun, x0, jac=True)`` and ``hessp`` that
of its ``hessp=``. Every call is one compiled pass over X (the multinomial Hessian
takes one per pair of classes), releases the GIL, and is safe to make from several
threads on the same object; nothing is kept between calls.

Penalties
---------
The objectives are penalty-free: a caller adds its own. fastlogit's elastic net,
as ``fastlogit.fit`` minimises it, is ``lam * ((1 - l1_ratio) / 2 * sum_j c_j w_j^2
+ l1_ratio * sum_j c_j |w_j|)`` over the coefficients only (never the intercepts).
Its smooth (ridge) part adds ``lam * (1 - l1_ratio) * c * w`` to the gradient and
``lam * (1 - l1_ratio) * c`` to the Hessian's diagonal; the L1 part needs a solver
for non-smooth problems (or ``fastlogit.fit`` itself).

>>> import numpy as np
>>> from scipy.optimize import minimize
>>> from fastlogit.backend import BinomialObjective
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3))
>>> y = (X[:, 0] + rng.normal(size=200) > 0).astype(float)
>>> obj, lam = BinomialObjective(X, y=y), 1.0
>>> def ridge(theta):
...     f, g = obj.value_and_grad(theta)
...     w = theta[1:]
...     g[1:] += lam * w
...     return f + 0.5 * lam * w @ w, g
>>> sol = minimize(ridge, np.zeros(obj.n_params), jac=True, method="L-BFGS-B",
...                options={"gtol": 1e-10})
>>> import fastlogit
>>> bool(np.allclose(sol.x[1:], fastlogit.fit(X, y=y, lam=lam).coef, atol=1e-6))
True

Compiled callers
----------------
``fastlogit/backend/kernels.pxd`` (shipped in the wheel) declares the per-row
functions ``log1pexp``, ``sigmoid``, ``log_sigmoid`` and ``binomial_point`` and a
``nogil`` loss-and-gradient over a range of rows (``binomial_loss_grad_csr``,
``binomial_loss_grad_dense``), all inline: ``cimport`` them and they compile into
the caller's module.

Stability
---------
The names in ``__all__`` here, their signatures and the meaning of theta, and the
declarations of ``kernels.pxd`` are the project's public contract. They follow
semantic versioning: a change that breaks a caller comes only in a new major
version, after at least one minor release in which the old form still works and
raises ``DeprecationWarning`` (``FutureWarning`` for a changed default). New
methods and keyword arguments may come in any minor release. ``BACKEND_VERSION``
is the contract's own version, raised on every change to it.
"""

from fastlogit.backend._binomial import BinomialObjective
from fastlogit.backend._multinomial import MultinomialObjective

BACKEND_VERSION = (1, 0)

__all__ = ["BACKEND_VERSION", "BinomialObjective", "MultinomialObjective"]
