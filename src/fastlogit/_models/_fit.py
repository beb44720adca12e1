"""``fastlogit.fit``: validation -> objective -> solver -> result."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Callable, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads
from fastlogit._input._training import TrainingData, training_data
from fastlogit._input._validate import (
    as_flag,
    as_nonnegative_scalar,
    as_positive_int,
)
from fastlogit._models._fit_cd import fit_cd
from fastlogit._models._penalty_scale import make_penalty, penalty_factors
from fastlogit._models._result import LogitResult
from fastlogit._models._separation import (
    warn_if_all_one_outcome,
    warn_if_separated,
    weak_penalty,
)
from fastlogit._models._sgd_api import check_epochs, sgd_options, with_sgd_state
from fastlogit._penalties._penalties import (
    Box,
    ElasticNet,
    as_bounds,
    as_l1_ratio,
    as_penalty_factor,
    check_start_in_box,
)
from fastlogit._solvers._base import (
    ConvergenceWarning,
    IterationInfo,
    Monitor,
    SolverOutcome,
    require_support,
)
from fastlogit._solvers._constrained import (
    Solution,
    finish,
    make_objective,
    solve_and_finish,
    solver_bounds,
)
from fastlogit._solvers._lbfgs import LbfgsOptions, gradient_floor
from fastlogit._solvers._newton import BinomialView
from fastlogit._solvers._polish import PolishPlan, polish
from fastlogit._solvers._registry import get_solver
from fastlogit.backend._objective import BinomialLoss, Objective, Standardization, ridge_curvature


def fit(
    X: Any,
    n: Any = None,
    k: Any = None,
    *,
    y: Any = None,
    lam: float = 1.0,
    l1_ratio: float = 0.0,
    penalty_factor: Any = None,
    bounds: Any = None,
    fit_intercept: bool = True,
    sample_weight: Any = None,
    offset: Any = None,
    solver: str = "auto",
    factr: float = 1e3,
    pgtol: Optional[float] = None,
    max_iter: int = 1000,
    threads: Optional[int] = None,
    x0: Any = None,
    callback: Optional[Callable[[IterationInfo], Any]] = None,
    verbose: bool = False,
    feature_names: Any = None,
    standardize: bool = True,
    standardize_penalty: bool = False,
    batch_size: Optional[int] = None,
    random_state: Any = None,
    tol: Optional[float] = None,
    method: str = "ml",
) -> LogitResult:
    """Fit regularised logistic regression to binomial rows (X, n, k).

    Minimises::

        F(b, w) = sum_i s_i [n_i log(1 + exp(z_i)) - k_i z_i]
                  + lam [(1 - l1_ratio)/2 sum_j c_j w_j^2 + l1_ratio sum_j c_j |w_j|],
        z_i = o_i + b + x_i . w,   lower_j <= w_j <= upper_j,

    the negative binomial log-likelihood (up to a constant) plus a ridge,
    lasso or elastic-net penalty on w (never on b), with optional bounds on
    w. lam is the penalty on the *summed* loss, so ``lam = 1 / C`` of
    scikit-learn's LogisticRegression; with n_i = 1 and k_i in {0, 1} this is
    ordinary logistic regression.

    L1 and bounds are handled by L-BFGS-B's bound constraints: w_j = w+_j -
    w-_j with both parts >= 0 (or one orthant-constrained variable when the
    sign of w_j is known) makes the L1 term linear. Coefficients that the
    optimality (KKT) conditions put at 0 are reported as exactly 0,
    coefficients at a bound as exactly the bound, and ``grad_norm`` is then
    the largest violation of those conditions.

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
        Penalty strength, >= 0.
    l1_ratio : float in [0, 1], default 0.0
        Share of the L1 term: 0 = ridge, 1 = lasso, between = elastic net
        (glmnet's alpha, scikit-learn's l1_ratio). Only solver "lbfgs".
    penalty_factor : array_like of shape (n_features,), optional
        Per-feature multipliers c_j >= 0 of both penalty terms (glmnet's
        penalty.factor, used as given): 0 leaves a feature unpenalised.
    bounds : (lower, upper), optional
        Bounds on the coefficients (never the intercept): each a scalar, None
        (unbounded) or an array of shape (n_features,); e.g. ``(0, None)``
        for non-negative coefficients, ``(lo, hi)`` per feature.
    fit_intercept : bool, default True
        Fit b; otherwise b = 0.
    sample_weight : array_like of shape (n_rows,), optional
        Non-negative row weights s_i (default 1).
    offset : array_like of shape (n_rows,), optional
        Known part o_i of the linear predictor (default 0).
    solver : {"auto", "cd", "lbfgs", "newton", "newton-cg", "gd", "sgd"}, default "auto"
        All minimise the same F and reach the same optimum. "auto": "cd" for
        L1 / elastic-net penalties (l1_ratio > 0) and bounds, else "lbfgs".
        "cd": proximal Newton (IRLS) with compiled coordinate descent on a
        working set, glmnet's method, exact by default: it stops when the KKT
        residual is within ``pgtol`` *and* the last Newton step was small, so
        the coefficients are within ~1e-7 (relative) of the optimum; exact
        zeros and coefficients exactly on their bounds. ``max_iter`` counts
        its Newton iterations (each one pass over X), ``factr`` is not used.
        A CSR design is read through one CSC copy (the size of X's indices
        and values) made for the fit.
        "lbfgs": scipy's L-BFGS-B in standardised coordinates; the fast path
        for everything, wide sparse data, L1 and bounds included. "newton":
        Newton/IRLS with the full Hessian (one compiled pass) and a Cholesky
        solve, step halving so F never increases (beyond rounding); a handful
        of iterations to machine precision; for n_features up to
        ``fastlogit._solvers._newton.NEWTON_MAX_FEATURES`` (5000), a ValueError above.
        "newton-cg": truncated Newton with Hessian-vector products (no dense
        matrix), for wide problems that need second-order accuracy. "gd":
        plain gradient descent with backtracking, for teaching and as a
        reference: slow (often thousands of iterations). "sgd": mini-batch
        stochastic gradient (AdaGrad steps, averaged iterates, seeded block
        shuffling; see ``batch_size``, ``random_state``, ``tol``), for a rough
        model fast or as the batch form of ``fastlogit.partial_fit``: ~1e-2
        relative in F within a few epochs, ~1e-3 after tens; ``max_iter``
        counts epochs. Only "lbfgs" takes l1_ratio > 0 or bounds.
    factr : float, default 1e3
        L-BFGS-B stops when the decrease of F / sum(s n) in one iteration
        falls below factr * machine epsilon (2.2e-13 at the default, which
        gives coefficients good to ~1e-6 or better; 1e7, scipy's default,
        stops about twice as early with an objective gap near 1e-9 but
        coefficients only good to ~1e-3 on ill-conditioned data). "newton-cg"
        and "gd" use the same test. "newton" stops after a step whose Newton
        decrement (the decrease of F / sum(s n) it predicts) is at most
        ``factr * eps * max(|F / sum(s n)|, 1)``: that step has brought the
        coefficients to about machine precision.
    pgtol : float, optional
        ... or when ``max_j |dF/dtheta_j| / sum(s n) <= pgtol``, the gradient in
        the standardised coordinates the solver works in (the projected
        gradient / KKT residual with L1 or bounds). Values below the rounding
        floor (about 1e-8) cannot be reached by any objective-driven line
        search; a stop there still counts as converged. The same test for
        every solver ("newton" checks it before forming a Hessian). Default
        1e-8; 0 for "newton", whose decrement test stops it at machine
        precision one cheap iteration later.
    max_iter : int, default 1000
        Iterations of the solver: L-BFGS-B iterations, Newton steps (each one
        Hessian), or gradient steps.
    threads : int, optional
        Kernel threads: None follows OMP_NUM_THREADS / threadpoolctl, -1 uses
        every core. A given count gives bitwise identical results every run.
    x0 : LogitResult or array_like of shape (n_features + fit_intercept,), optional
        Starting point: a previous result, or [intercept, coef...] (coef
        alone when fit_intercept=False); it must lie within ``bounds``.
        Default: zero coefficients (clipped into the bounds) and the
        intercept at the pooled log-odds. Without bounds, a start whose
        objective is not finite or higher than the default's is ignored
        (the fit starts from the default): a warm start never makes the
        answer worse.
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
    standardize_penalty : bool, default False
        glmnet's ``standardize=TRUE``, which *does* change the answer: penalise the
        coefficients of the standardised columns (x_j / sd_j, sd_j the weighted
        population sd with weights s_i n_i), i.e. L1 factors c_j sd_j and L2 factors
        c_j sd_j^2; coefficients are still reported on the original scale.
        Independent of ``standardize``. See ``fastlogit.path``.
    batch_size : int, optional
        solver="sgd" only: rows per step (default n_rows / 32, between 32 and
        4096). Batches are contiguous row ranges read in place.
    random_state : int or numpy Generator, optional
        solver="sgd" only: seed of the order of the batches.
    tol : float, optional
        solver="sgd" only: stop when 3 epochs in a row lower F / sum(s n) by
        less than ``tol * max(|F / sum(s n)|, 1)`` (default 1e-5); 0 runs to max_iter
        unless F stops improving. The best epoch's answer is returned.
    method : {"ml", "firth"}, default "ml"
        "ml": the (penalised) maximum likelihood above. "firth": Firth's
        bias-reduced estimate (Jeffreys-prior penalised likelihood; brglm2's
        ``type = "AS_mean"``), finite also on separated data; lam does not
        apply (Jeffreys' prior replaces the penalty), and l1_ratio,
        penalty_factor, bounds and the solver options are refused. Up to 5000
        parameters (a dense information matrix per iteration).

    Returns
    -------
    LogitResult

    Raises
    ------
    ValueError, TypeError
        For malformed input, naming the argument and the row at fault; for
        l1_ratio outside [0, 1], a negative or wrongly sized penalty_factor,
        bounds with lower > upper, an x0 outside the bounds, or L1/bounds
        with a solver that cannot handle them; for sum(sample_weight * n)
        outside [1e-150, 1e150].
    FloatingPointError
        When the objective or its gradient is not finite at the answer
        (columns of X, weights or offsets too extreme to represent).

    Warns
    -----
    ConvergenceWarning
        When the solver stops on max_iter or abnormally.
    SeparationWarning
        When lam is 0 or negligible (at most 1e-6 times sum(s n)) and fitted
        probabilities are numerically 0 or 1 (the data are separated, the
        estimate diverges), naming the runaway features; and when the data
        have only failures or only successes (the intercept's estimate is
        infinite).

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> res = fastlogit.fit(np.eye(2), n=[4, 4], k=[3, 1], lam=0.1)
    >>> res.coef.round(4)
    array([ 0.9728, -0.9728])
    >>> res.predict_proba(np.eye(2)).round(3)
    array([0.726, 0.274])

    A lasso fit, with exact zeros, and non-negative coefficients:

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> k = rng.binomial(10, 1 / (1 + np.exp(-X @ [1.0, -1.0, 0, 0, 0])))
    >>> fastlogit.fit(X, 10, k, lam=40.0, l1_ratio=1.0).coef.round(3)
    array([ 0.761, -0.853,  0.   ,  0.   ,  0.   ])
    >>> fastlogit.fit(X, 10, k, lam=1.0, bounds=(0, None)).coef.round(3)
    array([0.767, 0.   , 0.   , 0.   , 0.   ])
    """
    names = _feature_names(X, feature_names)
    data = training_data(X, n, k, y, sample_weight, offset, fit_intercept)
    if method != "ml":
        return _fit_firth(method, data, fit_intercept, threads, max_iter, names,
                          l1_ratio=l1_ratio, penalty_factor=penalty_factor, bounds=bounds)
    p = data.design.n_features
    lam = as_nonnegative_scalar(lam, "lam")
    l1_ratio = as_l1_ratio(l1_ratio)
    factor = as_penalty_factor(penalty_factor, p)
    box = as_bounds(bounds, p)
    factr = as_nonnegative_scalar(factr, "factr")
    pgtol = (0.0 if solver == "newton" else 1e-8) if pgtol is None else (
        as_nonnegative_scalar(pgtol, "pgtol"))
    max_iter = as_positive_int(max_iter, "max_iter")
    n_threads = resolve_threads(threads)
    factors = penalty_factors(data, factor, as_flag(standardize_penalty, "standardize_penalty"),
                              n_threads)
    penalty = make_penalty(lam, l1_ratio, factors)
    if solver == "auto":
        solver = "cd" if (not penalty.is_smooth or box is not None) else "lbfgs"
    settings = dict(lam=lam, l1_ratio=l1_ratio, penalty_factor=factor, bounds=box,
                    fit_intercept=fit_intercept, solver=solver, factr=factr, pgtol=pgtol,
                    max_iter=max_iter, threads=n_threads, standardize=standardize)
    if standardize_penalty:  # the L2 factors cov_params() needs
        settings.update(standardize_penalty=True, l2_penalty_factor=factors[1])
    if solver == "cd":
        sol, out = fit_cd(data, penalty, box, fit_intercept, n_threads,
                          _start(x0, p, fit_intercept, box), pgtol, max_iter, callback, verbose)
        return make_result(sol, out, data, settings, names)
    solve = get_solver(solver)
    require_support(solver, l1=not penalty.is_smooth, bounds=box is not None)

    base = base_objective(data, penalty, fit_intercept, standardize, n_threads)
    start = _start(x0, p, fit_intercept, box)
    if start is not None and box is None:
        start = better_start(base, penalty, start)
    objective = make_objective(base, penalty.l1_weights(p), box,
                               start=None if start is None else start[1])
    theta0 = objective.initial_theta() if start is None else objective.join(*start)
    monitor = Monitor(objective, callback, verbose)
    plan = PolishPlan.for_design(data.design, smooth=objective is base, solver=solver)
    options: Any = LbfgsOptions(factr=factr, pgtol=pgtol,
                                max_iter=plan.lbfgs_max_iter(max_iter),
                                bounds=solver_bounds(objective))
    if solver == "sgd":
        options = sgd_options(max_iter, batch_size, random_state, tol, standardize)
    out, sol = solve_and_finish(solve, objective, theta0, options, monitor,
                                lambda o: kkt_target(o, options))
    polished = polish(plan, lambda: BinomialView(base), out, max_iter, factr, monitor)
    if polished is not None:
        out = polished
        sol = finish(base, out, kkt_target(out, options))

    if solver == "sgd":
        out = check_epochs(out, max_iter)
    else:
        out = check_gradient(out, sol.grad_norm, kkt_target(out, options), solver, max_iter)
    if not out.stopped_by_callback:
        if weak_penalty(lam, base.scale):
            warn_if_separated(base, sol.intercept, sol.coef, names)
        warn_if_all_one_outcome(base.loss.total_successes, base.scale, fit_intercept)
    if solver == "sgd":
        return with_sgd_state(make_result(sol, out, data, settings, names), options)
    return make_result(sol, out, data, settings, names)


def _fit_firth(method: str, data: TrainingData, fit_intercept: bool, threads: Optional[int],
               max_iter: int, names: Optional[tuple], **refused: Any) -> LogitResult:
    from fastlogit._models._firth import fit_firth

    if method != "firth":
        raise ValueError(f"method must be 'ml' or 'firth'; got {method!r}")
    for key, value in refused.items():
        if value is not None and not (key == "l1_ratio" and value == 0.0):
            raise ValueError(f"method='firth' does not take {key} (Jeffreys' prior is its "
                             f"only penalty); remove {key}=")
    return fit_firth(data, fit_intercept, resolve_threads(threads),
                     max_iter=min(as_positive_int(max_iter, "max_iter"), 1000),
                     feature_names=names)


def base_objective(data: TrainingData, penalty: ElasticNet, fit_intercept: bool,
                   standardize: bool, n_threads: int,
                   std: Optional[Standardization] = None) -> Objective:
    """The smooth objective (loss + ridge part of the penalty) in standardised coordinates."""
    s = data.sample_weight
    sn, sk = (data.n, data.k) if s is None else (s * data.n, s * data.k)
    if std is None:
        std = (Standardization.from_data(data.design, sn, fit_intercept, n_threads)
               if standardize else Standardization.identity(data.design.n_features))
    loss = BinomialLoss(data.design, sn, sk, data.offset, n_threads)
    total = loss.total_trials
    rate = loss.total_successes / total
    std = std.with_ridge(ridge_curvature(penalty.ridge, data.design.n_features, total,
                                         rate * (1.0 - rate)))
    return Objective(loss, penalty.ridge, std, fit_intercept)


def kkt_target(out: SolverOutcome, options: LbfgsOptions) -> float:
    """The optimality level a fit can be held to: pgtol, or the rounding floor above it."""
    return max(options.pgtol, gradient_floor(out.fun))


def check_gradient(out: SolverOutcome, grad_norm: float, target: float, solver: str,
                   max_iter: int) -> SolverOutcome:
    """``converged`` means the gradient (KKT) condition holds at the answer: max |g| <=
    target = max(pgtol, rounding floor), whatever stopped the solver. A ConvergenceWarning
    says when it does not, and what to change."""
    if out.stopped_by_callback:
        return out
    if not (np.isfinite(out.fun) and np.isfinite(grad_norm)):
        raise FloatingPointError(
            f"{solver}: the objective or its gradient is not finite at the answer "
            f"(F/S={out.fun!r}, max |gradient|={grad_norm!r}); rescale the columns of X, "
            "the sample weights or the offset")
    if grad_norm <= target:  # e.g. Newton polish steps used up at machine precision
        return out if out.converged else replace(out, converged=True)
    if out.converged:  # the solver's own test (e.g. F stopped decreasing) fired early
        out = replace(out, converged=False, message=(
            f"{out.message}; but max |gradient| {grad_norm:.2e} > {target:.2e}"))
        advice = "Lower factr (e.g. 1e1) so that the solver keeps going"
    elif out.n_iter >= max_iter:
        advice = f"Raise max_iter (now {max_iter})"
    else:
        advice = "Try solver='newton' (n_features up to 5000) or lower factr"
    warnings.warn(
        f"{solver} did not converge: {out.message}. {advice}; also check the data for "
        "separation (fitted probabilities 0 or 1) or columns on extreme scales.",
        ConvergenceWarning, stacklevel=3,
    )
    return out


def make_result(sol: Solution, out: SolverOutcome, data: TrainingData, settings: dict,
                names: Optional[tuple]) -> LogitResult:
    return LogitResult(
        coef=sol.coef, intercept=sol.intercept, objective=sol.objective,
        grad_norm=sol.grad_norm, n_iter=out.n_iter, n_fev=out.n_fev, converged=out.converged,
        message=out.message, solver=settings["solver"], settings=settings,
        n_rows=data.design.n_rows, n_features=data.design.n_features, feature_names=names,
        _training=data,
    )


def _start(x0: Any, p: int, fit_intercept: bool,
           box: Optional[Box] = None) -> Optional[tuple[float, np.ndarray]]:
    """The validated starting point (intercept, coef), or None for the default start."""
    if x0 is None:
        return None
    if isinstance(x0, LogitResult):
        if x0.n_features != p:
            raise ValueError(f"x0 was fitted on {x0.n_features} features, X has {p}")
        check_start_in_box(x0.coef, box)
        return (x0.intercept if fit_intercept else 0.0), x0.coef
    arr = np.asarray(x0, dtype=np.float64)
    expected = p + int(fit_intercept)
    if arr.shape != (expected,):
        layout = "[intercept, coef...]" if fit_intercept else "coef"
        raise ValueError(f"x0 must have shape ({expected},) as {layout}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x0 contains NaN or infinity")
    check_start_in_box(arr[int(fit_intercept):], box)
    if fit_intercept:
        return float(arr[0]), arr[1:]
    return 0.0, arr


def better_start(base: Objective, penalty: ElasticNet, start: tuple[float, np.ndarray]
                 ) -> Optional[tuple[float, np.ndarray]]:
    """A warm start is a hint: ``start`` when F there is finite and no higher than at the
    default start (zero coefficients, the intercept at the pooled log-odds), else None
    (the default start). A start with huge coefficients (1e16 .. 1e300) used to leave the
    solvers on a plateau of an infinite or enormous F, where every step test passed."""
    b0, w0 = base.split(base.initial_theta())
    l1 = penalty.l1_weights(base.n_features)
    with np.errstate(all="ignore"):
        f_start = base.value_grad_user(*start)[0] + float(np.sum(l1 * np.abs(start[1])))
        f_default = base.value_grad_user(b0, w0)[0]
    if np.isfinite(f_start) and f_start <= f_default:
        return start
    return None


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
