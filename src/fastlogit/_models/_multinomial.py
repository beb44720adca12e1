"""``fastlogit.fit_multinomial``: validation -> softmax objective -> solver -> result."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads
from fastlogit._input._training import multinomial_training_data
from fastlogit._input._validate import (
    as_nonnegative_scalar,
    as_positive_int,
)
from fastlogit._models._fit import _feature_names, check_gradient
from fastlogit._models._multinomial_cd import as_type_multinomial, fit_multinomial_cd
from fastlogit._models._multinomial_result import MultinomialResult
from fastlogit._models._separation import SEPARATED_Z, warn_separated, weak_penalty
from fastlogit._penalties._penalties import as_l1_ratio, as_penalty_factor
from fastlogit._solvers._base import IterationInfo, Monitor
from fastlogit._solvers._lbfgs import LbfgsOptions, gradient_floor
from fastlogit._solvers._multinomial_newton import MultinomialView
from fastlogit._solvers._polish import PolishPlan, hessian_work, polish
from fastlogit._solvers._registry import get_solver
from fastlogit.backend._objective import L2Penalty, Standardization, ridge_curvature
from fastlogit.backend._softmax_objective import MultinomialLoss, MultinomialObjective, centre


def fit_multinomial(
    X: Any,
    y: Any = None,
    *,
    counts: Any = None,
    lam: float = 1.0,
    l1_ratio: float = 0.0,
    penalty_factor: Any = None,
    type_multinomial: str = "ungrouped",
    fit_intercept: bool = True,
    sample_weight: Any = None,
    offset: Any = None,
    solver: str = "auto",
    factr: float = 1e3,
    pgtol: float = 1e-8,
    max_iter: int = 1000,
    threads: Optional[int] = None,
    x0: Any = None,
    callback: Optional[Callable[[IterationInfo], Any]] = None,
    verbose: bool = False,
    feature_names: Any = None,
    standardize: bool = True,
) -> MultinomialResult:
    """Fit penalised multinomial (softmax) logistic regression: ridge, lasso, elastic net.

    Minimises::

        F(b, W) = sum_i s_i [N_i logsumexp_k(z_ik) - sum_k c_ik z_ik]
                  + lam sum_j f_j [(1 - l1_ratio)/2 ||w_j||^2 + l1_ratio R(w_j)],
        z_ik = o_ik + b_k + x_i . W[k, :],   N_i = sum_k c_ik,

    the multinomial negative log-likelihood (up to a constant) plus an elastic-net
    penalty on w_j = W[:, j] (feature j's K coefficients), f = penalty_factor, in the
    symmetric parametrisation over all K classes that scikit-learn uses: ``lam = 1 / C``
    of its multinomial LogisticRegression. ``R(w_j) = sum_k |W_kj|``
    (``type_multinomial="ungrouped"``) or ``||w_j||_2`` (``"grouped"``: glmnet's grouped
    multinomial lasso, each feature in or out for all classes at once). glmnet's
    ``family="multinomial"`` fit at ``lambda`` is ``lam = lambda * sum_i s_i N_i`` (with
    glmnet's weights normalised to sum to n_rows and its penalty.factor to sum to
    n_features).

    A pure ridge (l1_ratio = 0) makes every feature's coefficients sum to zero over the
    classes. With an L1 part the penalty picks its own representative (for l1_ratio < 1,
    or an odd number of classes, the unique one; with l1_ratio = 1 and an even number
    of classes a feature's shift between its two middle coefficients can leave F
    unchanged). The unpenalised intercepts are reported summing to zero.

    Parameters
    ----------
    X : {ndarray, csr_matrix, csr_array} of shape (n_rows, n_features)
        As in ``fastlogit.fit``: dense float32/float64 (C or F order) or CSR
        with int32/int64 indices, used in place.
    y : array_like of shape (n_rows,), optional
        One class label per row (any sortable type; at least 2 classes).
        The one-hot counts are never materialised.
    counts : array_like of shape (n_rows, n_classes), optional
        Instead of y: how many of row i's trials fell in each class (>= 0,
        non-integers allowed); the multinomial generalisation of (n, k).
    lam : float, default 1.0
        Penalty on the summed loss, >= 0. With lam = 0 the coefficients
        are identified only up to a common shift per feature; the centred
        representative is returned.
    l1_ratio : float in [0, 1], default 0.0
        The L1 share of the penalty (glmnet's alpha). With l1_ratio > 0 (and lam > 0)
        the fit is by coordinate descent (solver "cd"), with exact zeros.
    penalty_factor : array_like of shape (n_features,), optional
        Per-feature multipliers f_j >= 0 of the penalty (0: unpenalised), used as given
        (glmnet rescales its penalty.factor to sum to n_features).
    type_multinomial : {"ungrouped", "grouped"}, default "ungrouped"
        The L1 term per coefficient, or per feature over the classes (glmnet's
        type.multinomial); "grouped" needs the coordinate-descent solver.
    fit_intercept : bool, default True
    sample_weight : array_like of shape (n_rows,), optional
        Non-negative row weights s_i (they multiply the row's counts).
    offset : array_like of shape (n_rows, n_classes), optional
        Known part o_ik of the scores.
    solver : {"auto", "lbfgs", "cd"}, default "auto"
        "auto": "cd" when the penalty has an L1 part or is grouped, else "lbfgs".
        "cd" (glmnet's method, exact by default): stops when the KKT residual over
        every coefficient and intercept, per unit of sum_i s_i N_i in standardised
        coordinates, is at most pgtol and the last Newton step was small.
    factr, pgtol, max_iter : float, float, int
        The stopping rule, as in ``fastlogit.fit`` (on F / sum_i s_i N_i
        in standardised coordinates); factr is L-BFGS-B's only.
    threads : int, optional
        Kernel threads: None follows OMP_NUM_THREADS / threadpoolctl, -1 all
        cores. A given count gives bitwise identical results every run. Small
        inputs run on fewer threads (at least ~1 ms of work per thread), since
        waking a thread would cost more than the work.
    x0 : MultinomialResult or array_like of shape (n_classes, n_features + fit_intercept), optional
        Starting point: a previous result, or per class [intercept, coef...]
        (coef alone when fit_intercept=False).
    callback : callable, optional
        Called after every iteration with an ``IterationInfo`` (its
        ``intercept`` has shape (n_classes,), ``coef`` (n_classes,
        n_features)); returning True stops the fit.
    verbose : bool, default False
        One line per iteration.
    feature_names : sequence of str, optional
        Column names (taken from a pandas DataFrame by default).
    standardize : bool, default True
        Solve in standardised coordinates (changes the path, not the answer).

    Returns
    -------
    MultinomialResult

    Raises
    ------
    ValueError, TypeError
        Malformed X, a single class, negative counts, shape mismatches, ...,
        naming the argument and the row at fault.

    Warns
    -----
    ConvergenceWarning
        When the solver stops on max_iter or abnormally.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> X = np.arange(6.0).reshape(-1, 1)
    >>> res = fastlogit.fit_multinomial(X, y=["lo", "lo", "mid", "mid", "hi", "hi"], lam=0.1)
    >>> res.classes
    array(['hi', 'lo', 'mid'], dtype='<U3')
    >>> res.coef.shape, bool(abs(res.coef.sum()) < 1e-12)
    ((3, 1), True)
    >>> res.predict(np.array([[0.0], [5.0]]))
    array(['lo', 'hi'], dtype='<U3')
    >>> counts = [[0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0]]
    >>> res2 = fastlogit.fit_multinomial(X, counts=counts, lam=0.1)
    >>> bool(np.allclose(res2.coef, res.coef, atol=1e-6))
    True

    A multinomial lasso (exact zeros), and glmnet's grouped lasso:

    >>> rng = np.random.default_rng(0)
    >>> Xl = rng.normal(size=(300, 5))
    >>> yl = np.argmax(Xl[:, :3] + rng.normal(size=(300, 3)), axis=1)
    >>> las = fastlogit.fit_multinomial(Xl, yl, lam=20.0, l1_ratio=1.0)
    >>> las.solver, las.converged, bool(np.all(las.coef[:, 3:] == 0.0))
    ('cd', True, True)
    >>> grp = fastlogit.fit_multinomial(Xl, yl, lam=20.0, l1_ratio=1.0,
    ...                                 type_multinomial="grouped")
    >>> (grp.coef != 0).any(axis=0)
    array([ True,  True,  True, False, False])
    """
    names = _feature_names(X, feature_names)
    data, targets = multinomial_training_data(X, y, counts, sample_weight, offset,
                                              fit_intercept)
    design, s, off = data.design, data.sample_weight, data.offset
    m, p = design.n_rows, design.n_features
    K = targets.n_classes
    lam = as_nonnegative_scalar(lam, "lam")
    l1_ratio = as_l1_ratio(l1_ratio)
    factor = as_penalty_factor(penalty_factor, p)
    grouped = as_type_multinomial(type_multinomial)
    factr = as_nonnegative_scalar(factr, "factr")
    pgtol = as_nonnegative_scalar(pgtol, "pgtol")
    max_iter = as_positive_int(max_iter, "max_iter")
    n_threads = resolve_threads(threads)
    solver = _choose_solver(solver, lam, l1_ratio, grouped)
    loss = MultinomialLoss(design, K, counts=targets.counts, labels=targets.labels, weights=s,
                           offset=off, threads=n_threads)
    weight = loss.row_totals()
    if fit_intercept:
        _check_classes_observed(loss.class_totals(), targets.classes)
    settings = dict(lam=lam, l1_ratio=l1_ratio, penalty_factor=factor,
                    type_multinomial=type_multinomial, fit_intercept=fit_intercept,
                    solver=solver, factr=factr, pgtol=pgtol, max_iter=max_iter,
                    threads=n_threads, standardize=standardize)
    if solver == "cd":
        start = None if x0 is None else _start_user(x0, K, p, fit_intercept)
        b, coef, cd, scale = fit_multinomial_cd(
            data, targets, lam, l1_ratio, factor, grouped, fit_intercept, n_threads, start,
            pgtol, max_iter, callback, verbose)
        return MultinomialResult(
            coef=coef, intercept=b, classes=targets.classes, objective=cd.objective,
            grad_norm=cd.kkt, n_iter=cd.n_iter, n_fev=cd.n_pass, converged=cd.converged,
            message=cd.message, solver=solver, settings=settings, n_rows=m, n_features=p,
            feature_names=names, _training=data)
    solve = get_solver(solver)
    std = (Standardization.from_data(design, weight, fit_intercept, n_threads) if standardize
           else Standardization.identity(p))
    # unit curvature per coordinate, the penalty's included (Standardization.with_ridge);
    # the loss's curvature per class is about p_k (1 - p_k): take the mean over classes
    shares = loss.class_totals() / float(weight.sum())
    q = float(np.mean(shares * (1.0 - shares)))
    std = std.with_ridge(ridge_curvature(L2Penalty(lam, factor), p, float(weight.sum()), q))
    ridge = L2Penalty(lam, None if factor is None else np.repeat(factor, K))
    objective = MultinomialObjective(loss, ridge, std, fit_intercept)
    theta0 = _start(objective, x0, K, p, fit_intercept)
    monitor = MultinomialMonitor(objective, callback, verbose)
    # accurate by default, as fastlogit.fit: Newton steps on the exact softmax Hessian
    # where it is cheap (_polish.py); K (K + 1) / 2 Gram blocks against K scores a pass
    hessian, pass_cost = hessian_work(design)
    plan = PolishPlan(K * (p + 1), hessian * K * (K + 1) / 2, pass_cost * K, smooth=True,
                      solver=solver)
    options = LbfgsOptions(factr=factr, pgtol=pgtol, max_iter=plan.lbfgs_max_iter(max_iter))
    out = solve(objective, theta0, options, monitor)
    out = polish(plan, lambda: MultinomialView(objective), out, max_iter, factr,
                 monitor) or out
    gnorm = float(np.max(np.abs(out.grad), initial=0.0))
    out = check_gradient(out, gnorm, max(options.pgtol, gradient_floor(out.fun)), solver,
                         max_iter)
    b, W = objective.split(out.theta)
    b, W = (centre(b, W) if factor is None or np.all(factor > 0)
            else (b - b.mean(), W))  # unpenalised features: the solver's representative
    result = MultinomialResult(
        coef=np.ascontiguousarray(W.T), intercept=np.array(b, dtype=np.float64),
        classes=targets.classes, objective=out.fun * objective.scale,
        grad_norm=gnorm,
        n_iter=out.n_iter, n_fev=out.n_fev, converged=out.converged, message=out.message,
        solver=solver, settings=settings, n_rows=m, n_features=p, feature_names=names,
        _training=data,
    )
    if weak_penalty(lam, float(weight.sum())) and not out.stopped_by_callback:
        warn_if_separated_multinomial(result, weight)
    return result


def warn_if_separated_multinomial(result: MultinomialResult, weight: np.ndarray) -> None:
    """fit's SeparationWarning for the softmax model: a fitted class probability within
    1e-8 of 1 on some row (the classes are (quasi-)separated: the unpenalised estimate
    does not exist)."""
    live = weight > 0
    training = result._training
    assert training is not None
    scores = result.decision_function(training.design.matrix, training.offset)
    top2 = np.partition(scores, -2, axis=1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]
    rows = int(np.count_nonzero(live & (gap > SEPARATED_Z)))
    if rows:
        warn_separated(rows, int(np.count_nonzero(live)), stacklevel=4)


def _check_classes_observed(totals: np.ndarray, classes: Optional[np.ndarray]) -> None:
    """An unobserved class drives its unpenalised intercept to -infinity: refuse it."""
    empty = np.flatnonzero(totals <= 0)
    if empty.size:
        k = int(empty[0])
        which = f"class {classes[k]!r}" if classes is not None else f"counts column {k}"
        raise ValueError(
            f"{which} has zero total count (after sample weights): its intercept would "
            "diverge to -infinity. Drop that class (column), or fit with fit_intercept=False."
        )


def _choose_solver(solver: Any, lam: float, l1_ratio: float, grouped: bool) -> str:
    """"auto" -> "cd" for an L1 part or a grouped penalty, else "lbfgs"; checks the name."""
    needs_cd = grouped or (lam > 0 and l1_ratio > 0)
    if solver == "auto":
        return "cd" if needs_cd else "lbfgs"
    if solver == "cd":
        return solver
    if solver != "lbfgs":
        get_solver(solver)  # an unknown name: the list of every solver
        raise ValueError(
            f"fit_multinomial supports solver='auto', 'lbfgs' or 'cd'; got solver={solver!r}")
    if needs_cd:
        raise ValueError("solver='lbfgs' handles the ridge penalty only; l1_ratio > 0 or "
                         "type_multinomial='grouped' needs solver='cd' (or 'auto')")
    return solver


def _start_user(x0: Any, K: int, p: int, fit_intercept: bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """x0 -> (b (K,), W (p, K)) as given (not centred: with an L1 term centring changes F)."""
    if isinstance(x0, MultinomialResult):
        if x0.n_features != p or x0.n_classes != K:
            raise ValueError(f"x0 was fitted with {x0.n_classes} classes x {x0.n_features} "
                             f"features; this problem has {K} x {p}")
        return np.array(x0.intercept, dtype=float), np.array(x0.coef.T, dtype=float)
    arr = np.asarray(x0, dtype=np.float64)
    expected = (K, p + int(fit_intercept))
    if arr.shape != expected:
        layout = "[intercept, coef...]" if fit_intercept else "coef"
        raise ValueError(f"x0 must have shape {expected}, one row {layout} per class; "
                         f"got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x0 contains NaN or infinity")
    b = arr[:, 0].copy() if fit_intercept else np.zeros(K)
    return b, np.array(arr[:, int(fit_intercept):].T)


def _start(objective: MultinomialObjective, x0: Any, K: int, p: int,
           fit_intercept: bool) -> np.ndarray:
    if x0 is None:
        return objective.initial_theta()
    b, W = _start_user(x0, K, p, fit_intercept)
    # the centred representative: same probabilities, never a larger penalty
    b, W = centre(np.asarray(b, dtype=np.float64), np.ascontiguousarray(W, dtype=np.float64))
    return objective.join(b if fit_intercept else np.zeros(K), W)


class MultinomialMonitor(Monitor):
    """Monitor whose IterationInfo carries K intercepts and a (K, p) coefficient matrix."""

    def __call__(self, iteration: int, theta: np.ndarray, fun: float, grad: np.ndarray) -> bool:
        if not self.active:
            return False
        b, W = self.objective.split(theta)
        info = IterationInfo(
            iteration=iteration, objective=fun * self.objective.scale,
            grad_norm=float(np.max(np.abs(grad), initial=0.0)),
            elapsed=time.perf_counter() - self.start,
            intercept=np.array(b, copy=True),  # type: ignore[arg-type]
            coef=np.ascontiguousarray(W.T),
        )
        self._report(info)
        return self.stop_requested

    def _report(self, info: IterationInfo) -> None:
        if self.verbose:
            out = self.stream if self.stream is not None else sys.stdout
            if info.iteration == 0:
                print(f"{'iter':>6} {'objective':>16} {'|grad|':>11} {'time':>9}", file=out)
            print(f"{info.iteration:6d} {info.objective:16.9e} {info.grad_norm:11.3e} "
                  f"{info.elapsed:8.2f}s", file=out, flush=True)
        if self.callback is not None and self.callback(info) is True:
            self.stop_requested = True
