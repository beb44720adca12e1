"""The stochastic solver's public side: ``fit(solver="sgd")`` settings and ``partial_fit``.

``partial_fit`` updates a model with one more piece of a stream, carrying the optimiser
state (AdaGrad sums, running average, standardisation, trials seen) from one call to the
next in the returned result. See _sgd.py for the algorithm.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads
from fastlogit._input._training import training_data
from fastlogit._input._validate import as_nonnegative_scalar, as_positive_int
from fastlogit._models._result import LogitResult
from fastlogit._solvers._base import ConvergenceWarning, SolverOutcome
from fastlogit._solvers._sgd import SGDOptions, SGDState, run_epoch, sgd_standardization
from fastlogit.backend._objective import BinomialLoss, L2Penalty, Objective, Standardization

STREAM_BATCH = 64


def as_random_state(random_state: Any) -> Any:
    """None, an int >= 0, or a numpy Generator (used as is) -> a seed for default_rng."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(
            random_state, (int, np.integer)):
        raise TypeError(f"random_state must be None, an int or a numpy Generator; got "
                        f"{type(random_state).__name__}")
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0, got {random_state}")
    return int(random_state)


def sgd_options(max_iter: int, batch_size: Any, random_state: Any, tol: Any,
                standardize: bool = True, eta0: Any = None, average: bool = True
                ) -> SGDOptions:
    """Validated SGDOptions for a fit; ``run`` is a fresh dict receiving the final state."""
    batch = None if batch_size is None else as_positive_int(batch_size, "batch_size")
    tol_ = SGDOptions.tol if tol is None else as_nonnegative_scalar(tol, "tol")
    eta = as_eta0(eta0)
    return SGDOptions(batch_size=batch, eta0=eta, average=bool(average), tol=tol_,
                      max_iter=max_iter, seed=as_random_state(random_state),
                      standardize=bool(standardize), run={})


#: The largest eta0 accepted: one unit of a standardised coordinate moves the scores by
#: about one unit, so AdaGrad's first steps (about eta0 each) beyond ~10 only throw the
#: coefficients far off (eta0=1e300 gave coefficients of 1e299, silently).
MAX_ETA0 = 10.0


def as_eta0(eta0: Any) -> float:
    """The validated AdaGrad step size: default 0.3, else in (0, MAX_ETA0]."""
    if eta0 is None:
        return SGDOptions.eta0
    eta = as_nonnegative_scalar(eta0, "eta0")
    if not 0.0 < eta <= MAX_ETA0:
        raise ValueError(f"eta0 must lie in (0, {MAX_ETA0:g}] (the AdaGrad step in "
                         f"standardised units; default {SGDOptions.eta0}); got {eta0!r}")
    return eta


def stream_start(objective: Objective) -> np.ndarray:
    """The first point of a stream: zero coefficients and the intercept at the log-odds of
    the first piece shrunk towards 0 (half a success and half a failure added), so that a
    first piece of one row, or of all-0 labels, starts at a moderate intercept (about
    -1.1 for one failure) instead of the clipped log-odds +-23, which took AdaGrad's
    shrinking steps hundreds of rows to undo."""
    theta = objective.initial_theta()
    if objective.fit_intercept:
        rate = (objective.loss.total_successes + 0.5) / (objective.scale + 1.0)
        theta[0] = np.log(rate / (1.0 - rate))
    return theta


def check_epochs(out: SolverOutcome, max_iter: int) -> SolverOutcome:
    """Warn when SGD used every epoch without its improvement test firing."""
    if not out.converged and not out.stopped_by_callback:
        warnings.warn(
            f"sgd did not converge: {out.message}. Raise max_iter (epochs, now {max_iter}), "
            "raise tol, or use solver='lbfgs' for an accurate answer on data that fits in "
            "memory or in a memory-mapped file.", ConvergenceWarning, stacklevel=3)
    return out


def with_sgd_state(result: LogitResult, options: SGDOptions) -> LogitResult:
    """The result, carrying the optimiser state so that partial_fit can continue it."""
    state = None if options.run is None else options.run.get("state")
    return replace(result, _sgd_state=state)


def partial_fit(
    X: Any,
    n: Any = None,
    k: Any = None,
    *,
    y: Any = None,
    model: Optional[LogitResult] = None,
    lam: Optional[float] = None,
    fit_intercept: Optional[bool] = None,
    sample_weight: Any = None,
    offset: Any = None,
    batch_size: Optional[int] = None,
    total_trials: Optional[float] = None,
    eta0: Optional[float] = None,
    standardize: Optional[bool] = None,
    threads: Optional[int] = None,
) -> LogitResult:
    """Update a model with one more piece of a stream of binomial rows (X, n, k).

    One pass of mini-batch stochastic gradient steps (AdaGrad, the steps of
    ``fit(..., solver="sgd")``) over the rows of this piece, in their order,
    continuing from ``model`` (the result of an earlier ``partial_fit`` or of
    ``fit(..., solver="sgd")``) with its optimiser state: AdaGrad sums, the
    running (Polyak) average that the result reports, the coordinates, and the
    number of trials seen. Feeding a data set piece by piece in one order gives
    the same steps as one epoch of ``fit(..., solver="sgd")`` over the
    concatenation in that order (without shuffling).

    The objective is the one on all rows streamed so far,

        F = sum over the rows seen of s_i [n_i log1pexp(z_i) - k_i z_i] + lam/2 ||w||^2,

    so the ridge's weight per trial is lam / (trials seen so far), or
    lam / total_trials when the stream's total is known in advance (pass it when
    the same rows are streamed more than once, e.g. several epochs: each pass
    would otherwise count them again and weaken the penalty).

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_rows, n_features)
        The new rows (dense or CSR, as for ``fit``; never copied).
    n, k : array_like of shape (n_rows,)
        Trials and successes; or ``y=`` 0/1 labels.
    y : array_like of shape (n_rows,), optional
    model : LogitResult, optional
        The model to update; None starts a new stream (the first piece sets the
        coordinates: column means and scales of these rows).
    lam : float, optional
        Ridge penalty on the summed loss (default 1.0). With ``model``, leave it
        None (the model's) or give the same value.
    fit_intercept : bool, optional
        Default True; fixed by the first piece.
    sample_weight, offset : array_like of shape (n_rows,), optional
    batch_size : int, optional
        Rows per step (default 64: a stream's pieces are often small, and a piece
        should give several steps).
    total_trials : float, optional
        sum(s n) of the whole stream, if known (see above).
    eta0 : float, optional
        AdaGrad's step (default 0.3), in (0, 10]; fixed by the first piece.
    standardize : bool, optional
        Steps in centred, scaled coordinates (default True); fixed by the first piece.
    threads : int, optional
        Threads for the first piece's column statistics and the reported objective.

    Returns
    -------
    LogitResult
        coef and intercept are the running average of the iterates; objective,
        grad_norm and the statistics refer to this piece's rows (with its share
        lam * sum(s n) / S of the penalty); ``n_iter`` counts all steps so far.
        Pass it as ``model`` with the next piece.

    Raises
    ------
    ValueError, TypeError
        For malformed input (as ``fit``), a model without SGD state, a piece with
        a different number of features, or settings that contradict the model's.

    Examples
    --------
    >>> import numpy as np, fastlogit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(4000, 3))
    >>> k = rng.binomial(5, 1 / (1 + np.exp(-X @ [1.0, -0.5, 0.0])))
    >>> model = None
    >>> for rows in np.array_split(np.arange(4000), 8):   # eight pieces of a stream
    ...     model = fastlogit.partial_fit(X[rows], 5, k[rows], model=model, lam=1.0,
    ...                                   batch_size=50)
    >>> model.coef.round(1)
    array([ 1. , -0.5,  0. ])
    """
    n_threads = resolve_threads(threads)
    if model is not None:
        if not isinstance(model, LogitResult) or model._sgd_state is None:
            raise ValueError(
                "model holds no SGD state: pass the result of an earlier partial_fit or of "
                "fit(..., solver='sgd'), or model=None to start a new stream")
        state = model._sgd_state.snapshot()  # the model itself is never modified
        settings = dict(model.settings)
        _agree("lam", lam, settings["lam"])
        _agree("fit_intercept", fit_intercept, settings["fit_intercept"])
        _agree("standardize", standardize, settings["standardize"])
        fi = bool(settings["fit_intercept"])
    else:
        fi = True if fit_intercept is None else bool(fit_intercept)
    data = training_data(X, n, k, y, sample_weight, offset, fi)
    m, p = data.design.n_rows, data.design.n_features
    s = data.sample_weight
    sn, sk = (data.n, data.k) if s is None else (s * data.n, s * data.k)
    loss = BinomialLoss(data.design, sn, sk, data.offset, n_threads)
    if model is None:
        lam_ = 1.0 if lam is None else as_nonnegative_scalar(lam, "lam")
        std_on = True if standardize is None else bool(standardize)
        eta = as_eta0(eta0)
        std = (sgd_standardization(data.design, sn, fi, n_threads) if std_on
               else Standardization.identity(p))
        first = Objective(loss, L2Penalty(lam_), std, fi)
        state = SGDState(stream_start(first), std, fi, first.penalty, eta, average=True)
        settings = dict(lam=lam_, l1_ratio=0.0, penalty_factor=None, bounds=None,
                        fit_intercept=fi, solver="sgd", factr=None, pgtol=None,
                        max_iter=None, threads=n_threads, standardize=std_on)
    else:
        if p != state.n_features:
            raise ValueError(f"X has {p} features but the model was fitted on "
                             f"{state.n_features}; every piece of a stream needs the same "
                             "columns")
        if eta0 is not None and float(eta0) != state.eta0:
            raise ValueError(f"eta0={eta0} contradicts the model's {state.eta0}; leave it "
                             "None to continue the stream")
    if total_trials is not None:
        total = as_nonnegative_scalar(total_trials, "total_trials")
        if not total > 0:
            raise ValueError("total_trials must be > 0 (the stream's sum of s * n)")
        state.penalty_scale = total
    batch = (min(m, STREAM_BATCH) if batch_size is None
             else as_positive_int(batch_size, "batch_size"))
    run_epoch(state, data.design, sn, sk, data.offset,
              iter([(r0, min(r0 + batch, m)) for r0 in range(0, m, batch)]),
              state.penalty_scale)
    return _stream_result(state, data, loss, settings, n_threads)


def _agree(name: str, given: Any, stored: Any) -> None:
    if given is not None and given != stored:
        raise ValueError(f"{name}={given!r} contradicts the model's {name}={stored!r}; leave "
                         f"it None to continue the stream, or pass model=None to start anew")


def _stream_result(state: SGDState, data: Any, loss: BinomialLoss, settings: dict,
                   n_threads: int) -> LogitResult:
    """The result after a partial_fit: the averaged iterate, judged on this piece (``loss``)."""
    scale = state.penalty_scale if state.penalty_scale is not None else state.trials_seen
    share = loss.total_trials / max(scale, 1e-300)
    piece = Objective(loss, L2Penalty(state.penalty.lam * share, state.penalty.factor),
                      state.std, state.fit_intercept)
    theta = np.array(state.answer())
    fun, grad = piece(theta)
    b, w = piece.split(theta)
    return LogitResult(
        coef=np.array(w, dtype=np.float64), intercept=float(b),
        objective=float(fun * piece.scale), grad_norm=float(np.max(np.abs(grad), initial=0.0)),
        n_iter=state.n_steps, n_fev=0, converged=False,
        message=(f"partial_fit: {state.n_steps} steps over {state.rows_seen} rows "
                 f"({state.trials_seen:g} trials) so far; objective and statistics refer to "
                 "the last piece"),
        solver="sgd", settings=settings, n_rows=data.design.n_rows,
        n_features=data.design.n_features, feature_names=None, _training=data,
        _sgd_state=state,
    )
