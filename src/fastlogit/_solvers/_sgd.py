"""Mini-batch stochastic gradient (AdaGrad steps) on the binomial objective.

    minimise f(theta) = F / S = L(b, w) / S + P(w) / S     (see _objective.py)

in centred, scaled coordinates theta = (b', v) like every other solver (the scale of a
sparse column differs: see sgd_standardization). One step on a mini-batch B of rows
uses the unbiased estimate

    g_B = grad L_B(theta) / S_B + grad P(theta) / S_ref,     S_B = sum_{i in B} s_i n_i

(S_ref = S, the trials of the whole data set, for ``fit``; for a stream the trials
seen so far, or the total the caller announces) and the AdaGrad update

    G <- G + g_B^2,     theta <- theta - eta0 * g_B / (delta + sqrt(G))  (per coordinate)

with delta the RMS of the first step's gradient (see SGDState.step). Why AdaGrad in
these coordinates: one unit of any coordinate moves the scores of the rows where its
column is nonzero by about one unit, so one eta0 (0.3) suits every column; AdaGrad
then gives rarely informative coordinates (a sparse column seen in few batches) larger
steps than busy ones, and its steps shrink like 1 / sqrt(number of informative
batches), the decay SGD needs, without a schedule to tune. What it does not give is
the linear convergence of full-batch methods: expect a gap of ~1e-2 relative in a few
epochs and ~1e-3 after tens (measured figures in the README). Iterate
averaging (``average=True``: a running mean of the iterates, Polyak and
Juditsky 1992) removes most of the remaining noise of the last iterate. The average
weights step t by t (avg += (theta - avg) * 2 / (t + 1)), so poor early iterates fade
out, and ``fit`` restarts it at the start of epochs 2 and 3 (the first epochs' iterates
are far off). Measured on 20,000 x 5,000 sparse rows: a plain average restarted every
epoch stalled at a 4e-3 gap, restarts at epochs 2, 3, 5, 9, 17 at 2e-3; this scheme
reaches 6e-4 in 30 epochs, and on 2,000-row problems 1e-3 in 5 to 10 epochs.

A mini-batch is a contiguous range of rows [r0, r1), handed to the compiled kernel
(_batch.binomial_loss_grad_rows) as the whole design plus the range: the kernel reads
rows r0..r1-1 in place (dense C or F order, CSR through indptr[r0]..indptr[r1]), so
nothing is sliced, gathered or copied, and memory-mapped data are read from disk in
file order, only where the batch lies.

Shuffling (``fit``): each epoch visits the batches in a seeded random order, and the
batch boundaries move by a random offset, so batches differ from epoch to epoch. Rows
are *not* shuffled one by one: gathering single rows would copy every batch and turn
the sequential reads of a memory-mapped file into random ones (one page fault per row).
The price: rows that sit next to each other stay in the same batch, so data sorted by
label or time should be shuffled once on disk before fitting.

Stopping (``fit``): after each epoch, one full pass over X (threaded) evaluates f and
its gradient at the epoch's answer (the weighted average of the iterates); the fit
stops when ``n_iter_no_change`` (3) epochs in a row fail to lower the best f by
``tol * max(|f|, 1)`` (converged), or after ``max_iter`` epochs, and returns the best
answer seen. A noisy method needs the patience: one epoch that happens not to improve
says little.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Optional

import numpy as np

from fastlogit._core import _batch
from fastlogit._input._validate import LAYOUT_CSR, Design
from fastlogit._solvers._base import Monitor, SolverOutcome
from fastlogit.backend._objective import L2Penalty, Objective, Standardization, column_moments

_TINY = 1e-12


@dataclass(frozen=True)
class SGDOptions:
    """Settings of the stochastic solver (see the module docstring)."""

    batch_size: Optional[int] = None  # default_batch_size(n_rows)
    eta0: float = 0.3
    average: bool = True
    tol: float = 1e-5
    n_iter_no_change: int = 3
    max_iter: int = 100  # epochs
    seed: Any = None
    standardize: bool = True
    pgtol: float = 0.0  # unused by SGD; kept so the fit's KKT reporting reads it
    run: Optional[dict] = None  # receives the final SGDState (for partial_fit to continue)


class SGDState:
    """The optimiser's state: where it is, its AdaGrad sums, and the running average.

    Mutable inside a solver run; results hold deep copies (``snapshot``).
    """

    def __init__(self, theta: np.ndarray, std: Standardization, fit_intercept: bool,
                 penalty: L2Penalty, eta0: float, average: bool) -> None:
        self.theta = np.array(theta, dtype=np.float64)
        self.sumsq = np.zeros_like(self.theta)
        self.avg = np.zeros_like(self.theta)
        self.n_avg = 0
        self.n_steps = 0
        self.delta = 0.0
        self.trials_seen = 0.0
        self.penalty_scale: Optional[float] = None  # S_ref; None: the trials seen so far
        self.rows_seen = 0
        self.std = std
        self.fit_intercept = fit_intercept
        self.penalty = penalty
        self.eta0 = eta0
        self.average = average
        self._w = np.empty(theta.shape[0] - int(fit_intercept))
        self._g = np.empty(theta.shape[0] - int(fit_intercept))

    @property
    def n_features(self) -> int:
        return self.theta.shape[0] - int(self.fit_intercept)

    def snapshot(self) -> SGDState:
        return copy.deepcopy(self)

    def split(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """theta -> (b, w) in the user's parametrisation (as Objective.split)."""
        if self.fit_intercept:
            return self.std.to_user(float(theta[0]), theta[1:])
        return 0.0, theta / self.std.sd

    def answer(self) -> np.ndarray:
        """The current estimate: the running average when averaging, else the iterate."""
        return self.avg if self.average and self.n_avg > 0 else self.theta

    def step(self, design: Design, sn: np.ndarray, sk: np.ndarray,
             offset: Optional[np.ndarray], r0: int, r1: int, penalty_scale: float) -> float:
        """One AdaGrad step on rows [r0, r1); returns the batch's loss before the step.

        The gradient in theta is the chain rule of Standardization.grad_from_user plus
        the ridge's share lam / S_ref; the per-coordinate work is one compiled pass
        (_batch.adagrad_update), the intercept's is done here.
        """
        s_batch = float(sn[r0:r1].sum())
        if not s_batch > 0:
            return 0.0
        fi = int(self.fit_intercept)
        std = self.std
        v = self.theta[fi:]
        shift = _batch.user_coef(v, std.sd, std.mu, self._w)
        b = float(self.theta[0]) - shift if fi else 0.0
        loss, gb, gw = batch_loss_grad(design, sn, sk, offset, r0, r1, self._w, b, self._g)
        g0 = gb / s_batch if fi else 0.0
        ridge = self.penalty.lam / penalty_scale
        args = (gw, self._w, std.mu, std.sd, self.penalty.factor, float(gb), 1.0 / s_batch,
                ridge, self.eta0)
        if self.n_steps == 0:
            # delta: the RMS of the first gradient. Plain AdaGrad's first step is
            # eta0 * sign(g) on *every* coordinate, however small its gradient, which
            # throws uninformative coordinates off by eta0 (measured: 2x the starting
            # gap on noise features); with delta, coordinates with a below-average
            # gradient step in proportion to it, like plain SGD.
            sq = _batch.adagrad_update(v, self.sumsq[fi:], self.avg[fi:], *args, 0.0, 0.0,
                                       True)
            # (at least _TINY: a first batch whose gradient is exactly 0, e.g. identical
            # rows with the intercept at their log-odds, gave delta = 0 and then 0/0)
            self.delta = max(float(np.sqrt((sq + g0 * g0) / max(self.theta.shape[0], 1))),
                             _TINY)
        self.n_avg += 1
        weight = 2.0 / (self.n_avg + 1) if self.average else 0.0
        _batch.adagrad_update(v, self.sumsq[fi:], self.avg[fi:], *args, self.delta, weight)
        if fi:
            self.sumsq[0] += g0 * g0
            self.theta[0] -= self.eta0 * g0 / (self.delta + np.sqrt(self.sumsq[0]))
            self.avg[0] += weight * (self.theta[0] - self.avg[0])
        self.n_steps += 1
        self.trials_seen += s_batch
        self.rows_seen += r1 - r0
        return float(loss)


def batch_loss_grad(design: Design, sn: np.ndarray, sk: np.ndarray,
                    offset: Optional[np.ndarray], r0: int, r1: int, w: np.ndarray, b: float,
                    grad_out: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Loss and gradient of rows [r0, r1) through the compiled row-range kernel: serial,
    no slice or copy of X (see _batch.pyx)."""
    loss, gb = _batch.binomial_loss_grad_rows(*design.kernel_args, sn, sk, offset, w, b,
                                              grad_out, r0, r1, design.unit_values)
    return loss, gb, grad_out


def default_batch_size(n_rows: int) -> int:
    """n_rows / 32, between 32 and 4096 rows: about 32 steps per epoch on small data (an
    epoch is then a few steps of real progress each), and batches large enough on big data
    that the per-step cost O(n_features) is small beside the batch's rows. Measured on
    100,000 x 100,000 sparse rows: 4096 reaches a given gap ~2x sooner than 1024."""
    return int(min(4096, max(32, -(-n_rows // 32))))


def batch_ranges(n_rows: int, batch_size: int, rng: Optional[np.random.Generator]
                 ) -> Iterator[tuple[int, int]]:
    """Contiguous row ranges covering [0, n_rows): in order without rng; with rng,
    boundaries shifted by a random offset and visited in a random order."""
    if rng is None or n_rows <= batch_size:
        for start in range(0, n_rows, batch_size):
            yield start, min(start + batch_size, n_rows)
        return
    shift = int(rng.integers(0, batch_size))
    cuts = np.concatenate(([0], np.arange(shift if shift else batch_size, n_rows, batch_size),
                           [n_rows]))
    order = rng.permutation(cuts.shape[0] - 1)
    for j in order:
        yield int(cuts[j]), int(cuts[j + 1])


def run_epoch(state: SGDState, design: Design, sn: np.ndarray, sk: np.ndarray,
              offset: Optional[np.ndarray], ranges: Iterator[tuple[int, int]],
              penalty_scale: Optional[float]) -> float:
    """One pass of steps over the given row ranges; returns the sum of the batch losses
    (each before its step: the progressive-validation loss)."""
    total = 0.0
    for r0, r1 in ranges:
        scale = penalty_scale if penalty_scale is not None else (
            state.trials_seen + float(sn[r0:r1].sum()))
        total += state.step(design, sn, sk, offset, r0, r1, max(scale, _TINY))
    return total


def sgd_standardization(design: Design, weight: np.ndarray, center: bool,
                        threads: int, known: Optional[Standardization] = None
                        ) -> Standardization:
    """Coordinates for stochastic steps: columns centred (as the core does) and scaled
    by the weighted RMS of their *stored* entries about the mean, not by their spread.

    For a dense column the two agree. For a sparse column seen in a fraction f of the
    rows, the spread is about sqrt(f) times the typical stored value: scaling by it
    would make a rare one-hot column's coordinate ~1/sqrt(f) times stiffer in the rows
    where it occurs than on average, and a stochastic step on a batch that contains
    such a row overshoots by that factor (we measured divergence at every step size
    that makes progress on sparse data). Scaled by the RMS of its stored entries, one
    unit of a coordinate moves the scores of the rows where it occurs by about one
    unit, whatever the column's frequency: the scale AdaGrad's eta0 is meant in.
    ``known``: the same data's moments already computed (for the same weights and
    centring), reused for a dense design.
    """
    if design.layout != LAYOUT_CSR:
        if known is not None and known.var is not None:
            return known.without_ridge()  # the fit's own moments: no pass over X
        return Standardization.from_data(design, weight, center, threads)
    stored: list[np.ndarray] = []  # the stored entries' weight per column, first pass
    moments = partial(column_moments, design, weight, threads=threads, stored=stored)
    base = Standardization.from_moments(moments, float(weight.sum()), design.n_features,
                                        center)
    if base.var is None:
        return base
    frac = stored[0] / max(float(weight.sum()), _TINY)
    moving = (base.var > 0) & (frac > 0)
    sd = np.where(moving, np.sqrt(base.var / np.where(moving, frac, 1.0)), base.sd)
    return Standardization(base.mu, sd, base.var)


def regrid(grad: np.ndarray, src: Objective, dst: Objective) -> np.ndarray:
    """A gradient in src's coordinates -> the same gradient in dst's (chain rule)."""
    fi = int(src.fit_intercept)
    gb = float(grad[0]) if fi else 0.0
    gw = grad[fi:] * src.std.sd + src.std.mu * gb  # dF/dw, user's parametrisation
    gv = dst.std.grad_from_user(gb, gw)
    return np.concatenate(([gb], gv)) if fi else gv


def solve(objective: Any, theta0: np.ndarray, options: SGDOptions,
          monitor: Monitor) -> SolverOutcome:
    """``fit(solver="sgd")``: epochs of shuffled mini-batches, stop on full-objective
    improvement (see the module docstring). ``objective`` is an _objective.Objective over
    one in-memory (or memory-mapped) block of rows."""
    outer = objective
    loss = objective.loss
    design: Design = loss.design
    std = (sgd_standardization(design, loss.sn, objective.fit_intercept, loss.threads,
                               outer.std) if options.standardize else outer.std)
    objective = Objective(loss, outer.penalty, std, outer.fit_intercept)

    def report(it: int, theta: np.ndarray, fun: float, grad: np.ndarray) -> bool:
        if not monitor.active:
            return False
        return bool(monitor(it, outer.join(*objective.split(theta)), fun,
                            regrid(grad, objective, outer)))

    theta0 = objective.join(*outer.split(theta0))
    state = SGDState(theta0, std, objective.fit_intercept, objective.penalty,
                     options.eta0, options.average)
    rng = np.random.default_rng(options.seed)
    batch = options.batch_size or default_batch_size(design.n_rows)
    state.penalty_scale = objective.scale
    fun, grad = objective(theta0)
    report(0, theta0, fun, grad)
    best = (fun, np.array(theta0), grad)
    converged, message = False, f"reached max_iter={options.max_iter} epochs"
    stale, epoch = 0, 0
    for epoch in range(1, options.max_iter + 1):
        if epoch in (2, 3):
            # restart the average after the first two epochs, whose iterates are far
            # from the optimum (see the module docstring)
            state.n_avg = 0  # restart the average at epochs 2, 3, 5, 9, 17, ...
        run_epoch(state, design, loss.sn, loss.sk, loss.offset,
                  batch_ranges(design.n_rows, batch, rng), objective.scale)
        theta = state.answer()
        fun, grad = objective(theta)
        if report(epoch, theta, fun, grad):
            message = "stopped by callback"
            break
        improved = best[0] - fun > options.tol * max(abs(best[0]), 1.0)
        if fun < best[0]:
            best = (fun, np.array(theta), grad)
        stale = 0 if improved else stale + 1
        if stale >= options.n_iter_no_change:
            converged = True
            message = (f"{stale} epochs in a row lowered F / sum(s n) by less than "
                       f"tol * |F| (tol={options.tol:g}); the best iterate is returned")
            break
    if options.run is not None:
        options.run["state"] = state.snapshot()
    fun, theta, grad = best
    return SolverOutcome(theta=outer.join(*objective.split(theta)), fun=float(fun),
                         grad=regrid(grad, objective, outer),
                         n_iter=epoch, n_fev=objective.n_fev, converged=converged,
                         stopped_by_callback=monitor.stop_requested, message=message)
