"""The tools compared by ``python -m benchmarks.compare``, each mapped onto fastlogit's problem.

fastlogit minimises, for binomial rows (x_i, n_i, k_i),

    F(b, w) = sum_i [n_i log(1 + exp(z_i)) - k_i z_i] + lam/2 ||w||^2,   z_i = b + x_i . w.

Each peer is given the same problem in its own vocabulary:

* scikit-learn ``LogisticRegression`` takes 0/1 labels only: the two-row
  encoding turns row i into a success row weighted k_i and a failure row
  weighted n_i - k_i (rows of weight 0 dropped); its objective
  C * sum_i s_i logloss_i + ||w||^2 / 2 is F * C, so C = 1 / lam.
* glum ``GeneralizedLinearRegressor(family="binomial")`` minimises (glum's
  documented objective) 1/(2 sum s) * deviance(y, mu; s) + alpha/2 ||w||^2.
  With y_i = k_i / n_i and s_i = n_i, half the binomial deviance of row i is
  n_i log(1 + e^z) - k_i z + const, so the objective is
  (F - lam/2 ||w||^2) / sum(n) + alpha/2 ||w||^2 + const: alpha = lam / sum(n).
* statsmodels ``GLM(family=Binomial())`` with endog (k, n - k): IRLS on the
  *unpenalised* likelihood, dense only (it solves lam = 0, so its objective
  under F is not expected to match).
* numpy + L-BFGS-B: the obvious hand-written baseline, a numpy/scipy loss and
  gradient (z = X w + b; loss; r = n sigmoid(z) - k; X^T r: two passes over X)
  given to ``scipy.optimize.minimize(method="L-BFGS-B")`` on F / sum(n).

Every tool's answer (b, w) is scored by ``common_objective``, plain numpy in
float64, the same function for all. Evaluations (passes of loss+gradient over
the data) are scipy L-BFGS-B's own ``nfev``, recorded by wrapping scipy's
L-BFGS-B driver, for the three tools that use it internally; fastlogit reports
its own; statsmodels counts IRLS iterations (each one pass plus a p x p solve).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import scipy.sparse as sp

_EPS = float(np.finfo(np.float64).eps)


@dataclass
class Answer:
    """What one fit returns, in fastlogit's parametrisation."""

    intercept: float
    coef: np.ndarray
    n_eval: Optional[int]
    n_iter: Optional[int]
    converged: bool
    message: str = ""


@dataclass(frozen=True)
class Tool:
    """A peer: how to encode the problem for it (prep) and how to fit it."""

    name: str
    label: str
    modules: tuple  # importable modules it needs
    defaults: dict  # settings, overridable with --set name.key=value
    prepare: Callable[[Any, np.ndarray, np.ndarray, float, dict], Any]
    fit: Callable[[Any, float, dict, int], Answer]
    dense_only: bool = False
    note: str = ""
    # settings to try from loosest to tightest when tuning to a target gap
    ladder: tuple = ()

    def missing(self) -> Optional[str]:
        """The first package that is not installed, or None (nothing is imported)."""
        for mod in self.modules:
            top = mod.split(".")[0]
            if importlib.util.find_spec(top) is None:
                return top
        return None


def common_objective(X: Any, n: np.ndarray, k: np.ndarray, lam: float, intercept: float,
                     coef: np.ndarray) -> float:
    """F(b, w) in float64 with numpy alone: the yardstick every answer is scored by."""
    coef = np.asarray(coef, dtype=np.float64)
    z = np.asarray(X @ coef, dtype=np.float64) + float(intercept)
    loss = np.sum(n * np.logaddexp(0.0, z) - k * z)
    return float(loss + 0.5 * lam * np.dot(coef, coef))


@contextmanager
def lbfgsb_runs() -> Iterator[list]:
    """Collect the OptimizeResult of every scipy L-BFGS-B run inside the block.

    scipy's ``minimize(method="L-BFGS-B")`` and ``fmin_l_bfgs_b`` both call
    ``_minimize_lbfgsb``; wrapping it (a private name: if it moves, the list
    stays empty and evaluations are reported as unknown) counts evaluations
    for peers that do not expose them.
    """
    runs: list = []
    try:
        from scipy.optimize import _lbfgsb_py, _minimize
    except ImportError:  # pragma: no cover - a future scipy
        yield runs
        return
    original = _lbfgsb_py._minimize_lbfgsb

    def recording(*args: Any, **kwargs: Any) -> Any:
        res = original(*args, **kwargs)
        runs.append(res)
        return res

    holders = [m for m in (_lbfgsb_py, _minimize)
               if getattr(m, "_minimize_lbfgsb", None) is original]
    for m in holders:
        m._minimize_lbfgsb = recording  # type: ignore[attr-defined]
    try:
        yield runs
    finally:
        for m in holders:
            m._minimize_lbfgsb = original  # type: ignore[attr-defined]


def _nfev(runs: list) -> Optional[int]:
    return int(sum(r.nfev for r in runs)) if runs else None


def _nit(runs: list) -> Optional[int]:
    return int(sum(r.nit for r in runs)) if runs else None


# -- fastlogit -----------------------------------------------------------------

def _prep_identity(X: Any, n: np.ndarray, k: np.ndarray, lam: float, s: dict) -> Any:
    return X, n, k


def _fit_fastlogit(data: Any, lam: float, s: dict, threads: int) -> Answer:
    import fastlogit

    X, n, k = data
    res = fastlogit.fit(X, n, k, lam=lam, threads=threads, factr=s["factr"], pgtol=s["pgtol"],
                        max_iter=s["max_iter"])
    return Answer(res.intercept, res.coef, res.n_fev, res.n_iter, res.converged, res.message)


# -- scikit-learn ----------------------------------------------------------------

def two_row_encoding(X: Any, n: np.ndarray, k: np.ndarray
                     ) -> tuple[Any, np.ndarray, np.ndarray]:
    """Row i -> a success row (label 1, weight k_i) and a failure row (label 0, weight n_i - k_i).

    Rows of weight 0 are dropped (they contribute nothing).
    """
    keep1, keep0 = k > 0, (n - k) > 0
    if sp.issparse(X):
        X2 = sp.vstack([X[keep1], X[keep0]], format="csr")
    else:
        X2 = np.concatenate([X[keep1], X[keep0]])
    y2 = np.concatenate([np.ones(keep1.sum()), np.zeros(keep0.sum())])
    w2 = np.concatenate([k[keep1], (n - k)[keep0]])
    return X2, y2, w2


def _prep_sklearn(X: Any, n: np.ndarray, k: np.ndarray, lam: float, s: dict) -> Any:
    return two_row_encoding(X, n, k)


def _fit_sklearn(data: Any, lam: float, s: dict, threads: int) -> Answer:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X2, y2, w2 = data
    if lam <= 0:
        raise ValueError("scikit-learn's C = 1/lam needs lam > 0")
    model = LogisticRegression(C=1.0 / lam, solver=s["solver"], tol=s["tol"],
                               max_iter=s["max_iter"])
    with warnings.catch_warnings(record=True) as caught, lbfgsb_runs() as runs:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X2, y2, sample_weight=w2)
    bad = [str(c.message).splitlines()[0] for c in caught
           if issubclass(c.category, ConvergenceWarning)]
    n_iter = int(np.max(model.n_iter_))
    n_eval = _nfev(runs) if s["solver"] == "lbfgs" else n_iter
    return Answer(float(model.intercept_[0]), model.coef_.ravel().copy(), n_eval, n_iter,
                  not bad, bad[0] if bad else "")


# -- glum ------------------------------------------------------------------------

def _prep_glum(X: Any, n: np.ndarray, k: np.ndarray, lam: float, s: dict) -> Any:
    keep = n > 0
    if not keep.all():
        X, n, k = X[keep], n[keep], k[keep]
    return X, k / n, n


def _fit_glum(data: Any, lam: float, s: dict, threads: int) -> Answer:
    import warnings

    from glum import GeneralizedLinearRegressor

    X, y, weight = data
    alpha = lam / float(weight.sum())
    model = GeneralizedLinearRegressor(family="binomial", alpha=alpha, solver=s["solver"],
                                       gradient_tol=s["gradient_tol"], max_iter=s["max_iter"])
    with warnings.catch_warnings(record=True) as caught, lbfgsb_runs() as runs:
        warnings.simplefilter("always")
        model.fit(X, y, sample_weight=weight)
    bad = [str(c.message).splitlines()[0] for c in caught
           if "converge" in str(c.message).lower() or "failed" in str(c.message).lower()]
    n_iter = int(np.max(model.n_iter_))
    n_eval = _nfev(runs) if s["solver"] == "lbfgs" else n_iter
    return Answer(float(model.intercept_), np.asarray(model.coef_, dtype=np.float64).copy(),
                  n_eval, n_iter, not bad, bad[0] if bad else "")


# -- statsmodels -------------------------------------------------------------------

def _prep_statsmodels(X: Any, n: np.ndarray, k: np.ndarray, lam: float, s: dict) -> Any:
    exog = np.empty((X.shape[0], X.shape[1] + 1), dtype=np.float64)
    exog[:, 0] = 1.0
    exog[:, 1:] = X
    return exog, np.column_stack([k, n - k])


def _fit_statsmodels(data: Any, lam: float, s: dict, threads: int) -> Answer:
    import statsmodels.api as sm

    exog, endog = data
    res = sm.GLM(endog, exog, family=sm.families.Binomial()).fit(tol=s["tol"],
                                                                 maxiter=s["max_iter"])
    params = np.asarray(res.params, dtype=np.float64)
    n_iter = int(res.fit_history["iteration"])
    return Answer(float(params[0]), params[1:].copy(), n_iter, n_iter, bool(res.converged),
                  "" if res.converged else "IRLS did not converge")


# -- numpy + L-BFGS-B --------------------------------------------------------------

def numpy_loss_grad(X: Any, n: np.ndarray, k: np.ndarray, lam: float
                    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """theta = [b, w] -> (F / sum n, gradient / sum n), in two numpy/scipy passes over X."""
    from scipy.special import expit

    scale = float(n.sum())

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        z = X @ w + b
        loss = np.sum(n * np.logaddexp(0.0, z) - k * z) + 0.5 * lam * np.dot(w, w)
        r = n * expit(z) - k
        grad = np.empty_like(theta)
        grad[0] = r.sum()
        grad[1:] = X.T @ r + lam * w
        return float(loss) / scale, grad / scale

    return fun


def _fit_numpy(data: Any, lam: float, s: dict, threads: int) -> Answer:
    from scipy.optimize import minimize

    X, n, k = data
    fun = numpy_loss_grad(X, n, k, lam)
    res = minimize(fun, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"ftol": s["factr"] * _EPS, "gtol": s["pgtol"],
                            "maxiter": s["max_iter"], "maxfun": 2 * s["max_iter"]})
    ok = res.status == 0
    return Answer(float(res.x[0]), res.x[1:].copy(), int(res.nfev), int(res.nit), ok,
                  "" if ok else str(res.message))


# -- the registry ---------------------------------------------------------------------

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in [
        Tool("fastlogit", "fastlogit", ("fastlogit",),
             {"factr": 1e3, "pgtol": 1e-8, "max_iter": 1000}, _prep_identity, _fit_fastlogit,
             note="fastlogit.fit (defaults: factr=1e3, pgtol=1e-8)",
             ladder=({"factr": 1e9}, {"factr": 1e8}, {"factr": 1e7}, {"factr": 1e6},
                     {"factr": 1e5}, {"factr": 1e4}, {"factr": 1e3}, {"factr": 1e2},
                     {"factr": 1e1, "pgtol": 1e-10})),
        Tool("sklearn", "scikit-learn lbfgs", ("sklearn.linear_model",),
             {"solver": "lbfgs", "tol": 1e-9, "max_iter": 10_000}, _prep_sklearn, _fit_sklearn,
             note="two-row encoding, C = 1/lam; stops when max |gradient of F/sum(n)| <= tol "
                  "(its ftol is fixed at 64 eps)",
             ladder=({"tol": 1e-4}, {"tol": 1e-5}, {"tol": 1e-6}, {"tol": 1e-7}, {"tol": 3e-8},
                     {"tol": 1e-8}, {"tol": 3e-9}, {"tol": 1e-9}, {"tol": 1e-10})),
        Tool("sklearn-newton", "scikit-learn newton-cholesky", ("sklearn.linear_model",),
             {"solver": "newton-cholesky", "tol": 1e-10, "max_iter": 100}, _prep_sklearn,
             _fit_sklearn, dense_only=True,
             note="two-row encoding, C = 1/lam; evaluations are Newton iterations; dense "
                  "only (a p x p Hessian)"),
        Tool("glum", "glum lbfgs", ("glum",),
             {"solver": "lbfgs", "gradient_tol": 1e-8, "max_iter": 10_000}, _prep_glum,
             _fit_glum, note="y = k/n, sample_weight = n, alpha = lam/sum(n); stops when max "
                             "|gradient| <= gradient_tol (its factr is fixed at 1e2)",
             ladder=({"gradient_tol": 1e-4}, {"gradient_tol": 1e-5}, {"gradient_tol": 1e-6},
                     {"gradient_tol": 3e-7}, {"gradient_tol": 1e-7},
                     {"gradient_tol": 3e-8}, {"gradient_tol": 1e-8}, {"gradient_tol": 1e-9},
                     {"gradient_tol": 1e-10})),
        Tool("glum-irls", "glum irls-ls", ("glum",),
             {"solver": "irls-ls", "gradient_tol": 1e-9, "max_iter": 100}, _prep_glum,
             _fit_glum, dense_only=True,
             note="y = k/n, sample_weight = n, alpha = lam/sum(n); evaluations are IRLS "
                  "iterations; dense only (a p x p Hessian: 74.5 GiB on sparse-1m)"),
        Tool("statsmodels", "statsmodels GLM (unpenalised)", ("statsmodels.api",),
             {"tol": 1e-10, "max_iter": 100}, _prep_statsmodels, _fit_statsmodels,
             dense_only=True, note="IRLS on the unpenalised likelihood (lam = 0: its gap is "
                                   "to the penalised optimum), endog (k, n - k), a constant "
                                   "column added; evaluations are IRLS iterations; dense only"),
        Tool("numpy", "numpy + L-BFGS-B", ("scipy.optimize", "scipy.special"),
             {"factr": 1e3, "pgtol": 1e-10, "max_iter": 15_000}, _prep_identity, _fit_numpy,
             note="scipy.optimize.minimize(method='L-BFGS-B') from zero on a two-pass numpy "
                  "loss/gradient of F/sum(n); ftol = factr * eps, gtol = pgtol",
             ladder=({"factr": 1e9}, {"factr": 1e8}, {"factr": 1e7}, {"factr": 1e6},
                     {"factr": 1e5}, {"factr": 1e4}, {"factr": 1e3}, {"factr": 1e2},
                     {"factr": 1e1})),
    ]
}

DEFAULT_TOOLS = ("fastlogit", "glum", "sklearn", "statsmodels", "numpy")


def parse_value(text: str) -> Any:
    """'1e-9' -> 1e-09, '100' -> 100, 'lbfgs' -> 'lbfgs'."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def settings_for(tool: Tool, overrides: dict) -> dict:
    """The tool's defaults with ``overrides`` ({key: value}) applied; unknown keys raise."""
    unknown = set(overrides) - set(tool.defaults)
    if unknown:
        raise ValueError(f"{tool.name} has no setting {sorted(unknown)}; it has "
                         f"{sorted(tool.defaults)}")
    return {**tool.defaults, **overrides}
