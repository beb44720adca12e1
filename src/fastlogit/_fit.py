"""``fastlogit.fit``: validation -> objective -> solver -> result."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

import numpy as np

from fastlogit._inference import warn_if_separated
from fastlogit._lbfgs import LbfgsOptions
from fastlogit._objective import BinomialLoss, L2Penalty, Objective, Standardization
from fastlogit._result import LogitResult, TrainingData
from fastlogit._solvers import ConvergenceWarning, IterationInfo, Monitor, get_solver
from fastlogit._threads import resolve_threads
from fastlogit._validate import (
    as_counts,
    as_design,
    as_labels,
    as_nonnegative_scalar,
    as_positive_int,
    as_row_vector,
    as_sample_weight,
)


def fit(
    X: Any,
    n: Any = None,
    k: Any = None,
    *,
    y: Any = None,
    lam: float = 1.0,
    fit_intercept: bool = True,
    sample_weight: Any = None,
    offset: Any = None,
    solver: str = "lbfgs",
    factr: float = 1e3,
    pgtol: Optional[float] = None,
    max_iter: int = 1000,
    threads: Optional[int] = None,
    x0: Any = None,
    callback: Optional[Callable[[IterationInfo], Any]] = None,
    verbose: bool = False,
    feature_names: Any = None,
    standardize: bool = True,
) -> LogitResult:
    """Fit L2-regularised logistic regression to binomial rows (X, n, k).

    Minimises

        F(b, w) = sum_i s_i [n_i log(1 + exp(z_i)) - k_i z_i] + lam/2 ||w||^2,
        z_i = o_i + b + x_i . w,

    the negative binomial log-likelihood (up to a constant) plus a ridge
    penalty on w (never on b). lam is the penalty on the *summed* loss, so
    ``lam = 1 / C`` of scikit-learn's LogisticRegression; with n_i = 1 and
    k_i in {0, 1} this is ordinary logistic regression.

    Parameters
    ----------
    X : {ndarray, csr_matrix, csr_array} of shape (n_rows, n_features)
        Dense float32/float64 in C or F order, or CSR with int32/int64
        indices: used in place, never copied. Other inputs are converted
        once: other dtypes to float64, non-contiguous arrays to C order,
        CSC/COO to CSR (each a copy of X).
    n : array_like of shape (n_rows,) or scalar
        Trials per row (>= 0; non-integers allowed).
    k : array_like of shape (n_rows,)
        Successes per row, 0 <= k <= n.
    y : array_like of shape (n_rows,), optional
        0/1 labels instead of (n, k): the same as n = 1, k = y.
    lam : float, default 1.0
        L2 penalty, >= 0.
    fit_intercept : bool, default True
        Fit b; otherwise b = 0.
    sample_weight : array_like of shape (n_rows,), optional
        Non-negative row weights s_i (default 1).
    offset : array_like of shape (n_rows,), optional
        Known part o_i of the linear predictor (default 0).
    solver : {"lbfgs", "newton", "newton-cg", "gd"}, default "lbfgs"
        All minimise the same F and reach the same optimum.
        "lbfgs": scipy's L-BFGS-B in standardised coordinates; the fast path
        for everything, wide sparse data included. "newton": Newton/IRLS with
        the full Hessian (one compiled pass) and a Cholesky solve, step
        halving so F never increases (beyond rounding); a handful of
        iterations to machine precision; for n_features up to
        ``fastlogit._newton.NEWTON_MAX_FEATURES`` (5000), a ValueError above.
        "newton-cg": truncated Newton with Hessian-vector products (no dense
        matrix), for wide problems that need second-order accuracy. "gd":
        plain gradient descent with backtracking, for teaching and as a
        reference: slow (often thousands of iterations). The second-order
        solvers and "gd" support the L2 penalty only.
    factr : float, default 1e3
        L-BFGS-B stops when the decrease of F / sum(s n) in one iteration
        falls below factr * machine epsilon (2.2e-13 at the default, which
        gives coefficients good to ~1e-6 or better; 1e7, scipy's default,
        stops about twice as early with an objective gap near 1e-9 but
        coefficients only good to ~1e-3 on ill-conditioned data). "newton-cg"
        and "gd" use the same test. "newton" stops after a step whose Newton
        decrement (the decrease of F / sum(s n) it predicts) is at most
        factr * eps * max(|F / sum(s n)|, 1): that step has brought the
        coefficients to about machine precision.
    pgtol : float, optional
        ... or when max_j |dF/dtheta_j| / sum(s n) <= pgtol, the gradient in
        the standardised coordinates the solver works in. Values below the
        rounding floor (about 1e-8) cannot be reached by any objective-driven
        line search; a stop there still counts as converged. The same test
        for every solver ("newton" checks it before forming a Hessian).
        Default 1e-8; 0 for "newton", whose decrement test stops it at
        machine precision one cheap iteration later.
    max_iter : int, default 1000
        Iterations of the solver: L-BFGS-B iterations, Newton steps (each one
        Hessian), or gradient steps.
    threads : int, optional
        Kernel threads: None follows OMP_NUM_THREADS / threadpoolctl, -1 uses
        every core. A given count gives bitwise identical results every run.
    x0 : LogitResult or array_like of shape (n_features + fit_intercept,), optional
        Starting point: a previous result, or [intercept, coef...] (coef
        alone when fit_intercept=False). Default: zero coefficients and the
        intercept at the pooled log-odds.
    callback : callable, optional
        Called after every iteration (of any solver) with an ``IterationInfo``
        (iteration, objective, grad_norm, elapsed, intercept, coef); returning
        True stops the fit.
    verbose : bool, default False
        Print one line per iteration: iteration, objective, gradient norm, time.
    feature_names : sequence of str, optional
        Names of the columns (taken from a pandas DataFrame's columns by default).
    standardize : bool, default True
        Solve in standardised coordinates (columns virtually centred and
        scaled, nothing copied). Changes the path, never the answer.

    Returns
    -------
    LogitResult

    Raises
    ------
    ValueError, TypeError
        For malformed input, naming the argument and the row at fault.

    Warns
    -----
    ConvergenceWarning
        When the solver stops on max_iter or abnormally.
    SeparationWarning
        When lam = 0 and fitted probabilities are numerically 0 or 1 (the data
        are separated, the estimate diverges), naming the runaway features.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> res = fastlogit.fit(np.eye(2), n=[4, 4], k=[3, 1], lam=0.1)
    >>> res.coef.round(4)
    array([ 0.9728, -0.9728])
    >>> res.predict_proba(np.eye(2)).round(3)
    array([0.726, 0.274])
    """
    names = _feature_names(X, feature_names)
    design = as_design(X, "X")
    m, p = design.n_rows, design.n_features
    if m == 0:
        raise ValueError("X has no rows: there is nothing to fit")
    if p == 0 and not fit_intercept:
        raise ValueError("X has no columns and fit_intercept=False: there is nothing to fit")
    if y is not None:
        if n is not None or k is not None:
            raise TypeError("give either y= (0/1 labels) or n and k (trials, successes), not both")
        n_arr, k_arr = as_labels(y, m)
    else:
        n_arr, k_arr = as_counts(n, k, m)
    s = as_sample_weight(sample_weight, m)
    off = as_row_vector(offset, "offset", m)
    lam = as_nonnegative_scalar(lam, "lam")
    factr = as_nonnegative_scalar(factr, "factr")
    pgtol = (0.0 if solver == "newton" else 1e-8) if pgtol is None else (
        as_nonnegative_scalar(pgtol, "pgtol"))
    max_iter = as_positive_int(max_iter, "max_iter")
    n_threads = resolve_threads(threads)
    solve = get_solver(solver)

    sn, sk = (n_arr, k_arr) if s is None else (s * n_arr, s * k_arr)
    if not float(sn.sum()) > 0:
        raise ValueError("the rows carry no trials (sum of sample_weight * n is 0): nothing to fit")

    std = (Standardization.from_data(design, sn, fit_intercept, n_threads) if standardize
           else Standardization.identity(p))
    objective = Objective(BinomialLoss(design, sn, sk, off, n_threads), L2Penalty(lam), std,
                          fit_intercept)
    theta0 = _start(objective, x0, p, fit_intercept)
    monitor = Monitor(objective, callback, verbose)
    options = LbfgsOptions(factr=factr, pgtol=pgtol, max_iter=max_iter)
    out = solve(objective, theta0, options, monitor)

    if not out.converged and not out.stopped_by_callback:
        warnings.warn(
            f"{solver} did not converge ({out.message}); "
            f"max |gradient| = {np.max(np.abs(out.grad), initial=0):.3g}. Raise max_iter "
            "(or loosen factr/pgtol), or check the data for separation or extreme scales.",
            ConvergenceWarning, stacklevel=2,
        )
    b, w = objective.split(out.theta)
    if lam == 0.0:
        warn_if_separated(objective, b, w, names)
    settings = dict(lam=lam, fit_intercept=fit_intercept, solver=solver, factr=factr,
                    pgtol=pgtol, max_iter=max_iter, threads=n_threads, standardize=standardize)
    return LogitResult(
        coef=np.array(w, dtype=np.float64), intercept=float(b),
        objective=out.fun * objective.scale,
        grad_norm=float(np.max(np.abs(out.grad), initial=0.0)),
        n_iter=out.n_iter, n_fev=out.n_fev, converged=out.converged, message=out.message,
        solver=solver, settings=settings, n_rows=m, n_features=p, feature_names=names,
        _training=TrainingData(design, n_arr, k_arr, s, off),
    )


def _start(objective: Objective, x0: Any, p: int, fit_intercept: bool) -> np.ndarray:
    if x0 is None:
        return objective.initial_theta()
    if isinstance(x0, LogitResult):
        if x0.n_features != p:
            raise ValueError(f"x0 was fitted on {x0.n_features} features, X has {p}")
        return objective.join(x0.intercept if fit_intercept else 0.0, x0.coef)
    arr = np.asarray(x0, dtype=np.float64)
    expected = p + int(fit_intercept)
    if arr.shape != (expected,):
        layout = "[intercept, coef...]" if fit_intercept else "coef"
        raise ValueError(f"x0 must have shape ({expected},) as {layout}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x0 contains NaN or infinity")
    if fit_intercept:
        return objective.join(float(arr[0]), arr[1:])
    return objective.join(0.0, arr)


def _feature_names(X: Any, feature_names: Any) -> Optional[tuple]:
    if feature_names is None:
        columns = getattr(X, "columns", None)
        if columns is None or isinstance(X, np.ndarray):
            return None
        feature_names = list(columns)
    names = tuple(str(c) for c in feature_names)
    n_cols = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else len(names)
    if len(names) != n_cols:
        raise ValueError(f"feature_names has {len(names)} names but X has {n_cols} columns")
    return names
