"""``fastlogit demo --toy``: logistic regression on a handful of typed-in points.

The user types ``feature_value,label`` lines (label 0 or 1) until an empty
line or end of input, or pipes them in. The model is P(label = 1 | x) =
sigmoid(w0 + w1 x), fitted three ways: batch gradient descent (fastlogit's
"gd" solver in the raw coordinates, printed as it goes), L-BFGS-B and Newton;
all three minimise the same loss

    F(w0, w1) = sum_i [log(1 + exp(z_i)) - y_i z_i] + lam/2 w1^2,   z_i = w0 + w1 x_i.

Separated points (every x of one class below every x of the other, ties at
the boundary included) have no maximum likelihood estimate: F keeps falling
towards 0 as |w1| grows. The toy says so, shows w1 running away under
gradient descent, and fits the L2-regularised model instead, which always
has a unique minimum.
"""

from __future__ import annotations

import re
import sys
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any, Optional, TextIO

import numpy as np

import fastlogit
from fastlogit.cli._util import CliError, is_terminal

GD_MAX_ITER = 100_000
TOY_THREADS = 1  # a handful of rows: waking threads would cost more than the work
_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True)
class Diagnosis:
    """Whether the unpenalised maximum likelihood exists for 1-D points, and why not."""

    exists: bool
    reason: str
    runaway: bool = False  # the estimate diverges (separation, a single class)


def parse_point(line: str) -> tuple[float, float]:
    """'2.5,1' -> (2.5, 1.0); a ValueError that says what is wrong otherwise.

    Examples
    --------
    >>> parse_point(" 2.5, 1 "), parse_point("-1e-3 0")
    ((2.5, 1.0), (-0.001, 0.0))
    >>> parse_point("2.5,2")
    Traceback (most recent call last):
    ValueError: the label must be 0 or 1, got '2'
    """
    fields = [f for f in _SPLIT.split(line.strip()) if f]
    if len(fields) != 2:
        raise ValueError(f"expected 'feature_value,label', got {line.strip()!r}")
    try:
        x = float(fields[0])
    except ValueError:
        raise ValueError(f"the feature value must be a number, got {fields[0]!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"the feature value must be finite, got {fields[0]!r}")
    try:
        y = float(fields[1])
    except ValueError:
        y = -1.0
    if y not in (0.0, 1.0):
        raise ValueError(f"the label must be 0 or 1, got {fields[1]!r}")
    return x, y


def read_points(stream: TextIO, interactive: bool, out: TextIO) -> tuple[np.ndarray, np.ndarray]:
    """Points until an empty line or EOF. Interactive: bad lines are reported and skipped;
    from a pipe: a bad line is an error (a header line first is skipped)."""
    if interactive:
        print("Type one point per line as  feature_value,label  (label 0 or 1), e.g. 2.5,1.\n"
              "An empty line or Ctrl-D ends the input.", file=out, flush=True)
    xs: list = []
    ys: list = []
    number = 0
    while True:
        if interactive:
            out.write(f"point {len(xs) + 1}> ")
            out.flush()
        line = stream.readline()
        number += 1
        if not line or not line.strip():
            if interactive and not line:
                out.write("\n")
            break
        if line.lstrip().startswith("#"):
            continue
        try:
            x, y = parse_point(line)
        except ValueError as exc:
            if interactive:
                print(f"  ignored: {exc}", file=out)
                continue
            if number == 1 and not re.search(r"\d", line):
                continue  # a header such as "x,label"
            raise CliError(f"line {number} of the input: {exc}") from None
        xs.append(x)
        ys.append(y)
    if not xs:
        raise CliError("no points given: type (or pipe in) lines like 2.5,1")
    return np.array(xs), np.array(ys)


def diagnose(x: np.ndarray, y: np.ndarray) -> Diagnosis:
    """Does the unpenalised maximum likelihood of sigmoid(w0 + w1 x) exist?

    It does unless the labels are all equal, x takes a single value, or the
    classes are separated by a threshold on x (ties at the threshold
    included: quasi-complete separation).

    Examples
    --------
    >>> diagnose(np.array([0.5, 2.5, 1.0, 3.0]), np.array([0, 1, 0, 1.])).exists
    False
    >>> diagnose(np.array([0.5, 2.5, 1.0, 3.0]), np.array([0, 1, 1, 0.])).exists
    True
    """
    ones, zeros = x[y == 1], x[y == 0]
    if ones.size == 0 or zeros.size == 0:
        which = "1" if zeros.size == 0 else "0"
        return Diagnosis(False, f"every label is {which}: the likelihood keeps rising as the "
                                f"intercept goes to {'+' if which == '1' else '-'}infinity",
                         True)
    if np.ptp(x) == 0:
        return Diagnosis(False, "every point has the same x: the slope w1 is not identifiable "
                                "(any w1 fits equally well)")
    for lo, hi, lo_lab, hi_lab in ((zeros, ones, 0, 1), (ones, zeros, 1, 0)):
        if lo.max() <= hi.min():
            kind = "completely" if lo.max() < hi.min() else "quasi-completely (tied at the edge)"
            return Diagnosis(False, (
                f"the points are {kind} separated: every label-{lo_lab} x is <= {lo.max():g} "
                f"and every label-{hi_lab} x is >= {hi.min():g}. The log-likelihood keeps "
                f"rising towards 0 as |w1| grows, the fitted curve tending to a step at "
                f"x = {0.5 * (lo.max() + hi.min()):g}"), True)
    return Diagnosis(True, "the classes overlap")


def _checkpoints(limit: int) -> set:
    """1, 2, 5, 10, 20, 50, ... up to limit."""
    out: set = set()
    base = 1
    while base <= limit:
        out.update(v for v in (base, 2 * base, 5 * base) if v <= limit)
        base *= 10
    return out


def run_toy(args: Any) -> int:
    """The toy: read points, diagnose, fit by gradient descent, L-BFGS-B and Newton."""
    interactive = is_terminal(sys.stdin)
    x, y = read_points(sys.stdin, interactive, sys.stdout)
    X = x.reshape(-1, 1)
    m, pos = x.size, int(y.sum())
    print(f"\n{m} points: {pos} with label 1, {m - pos} with label 0; model "
          "P(label = 1 | x) = sigmoid(w0 + w1 x)")
    lam = args.lam
    if lam is not None and lam < 0:
        raise CliError(f"--lam must be >= 0, got {lam}")
    if y.min() == y.max():
        raise CliError(f"every label is {y[0]:g}: the fitted probability runs to "
                       f"{y[0]:g} and the intercept to {'+' if y[0] else '-'}infinity, with or "
                       "without a penalty (the intercept is not penalised); give points of "
                       "both classes")
    diag = diagnose(x, y)
    curves: list = []
    if not diag.exists:
        _say(f"No maximum likelihood estimate: {diag.reason}.")
        if diag.runaway and (lam is None or lam == 0):
            _show_runaway(X, y, curves)
        lam = 1.0 if lam is None else lam
        if lam == 0:
            raise CliError("--lam 0 has no solution on these points; use --lam > 0")
        _say(f"A penalty fixes this: the L2-regularised fit (lam={lam:g}, adding lam/2 w1^2 to "
             "the loss; choose it with --lam) always has a unique minimum. Fitting that:")
    else:
        lam = 0.0 if lam is None else lam
        _say(f"The maximum likelihood estimate exists ({diag.reason}); fitting with "
             f"lam={lam:g}{' (no penalty)' if lam == 0 else ''}.")
    gd = _gradient_descent(X, y, lam, args.max_iter or GD_MAX_ITER)
    rows = [("gradient descent", gd)]
    for label, solver in (("L-BFGS-B", "lbfgs"), ("Newton", "newton")):
        rows.append((label, fastlogit.fit(X, y=y, lam=lam, solver=solver, factr=10.0,
                                          threads=TOY_THREADS)))
    print(f"\n{'method':<17} {'iterations':>10} {'passes':>7} {'loss F':>14} {'w0':>11} "
          f"{'w1':>11}")
    for label, res in rows:
        print(f"{label:<17} {res.n_iter:>10,} {res.n_fev:>7,} {res.objective:14.8f} "
              f"{res.intercept:11.6f} {res.coef[0]:11.6f}")
    print("(passes: evaluations of the loss and gradient, plus Hessians for Newton)")
    newton = rows[-1][1]
    spread = max(max(abs(r.intercept - newton.intercept), abs(r.coef[0] - newton.coef[0]))
                 for _, r in rows)
    iters = [r.n_iter for _, r in rows]
    _say(f"The three agree to {spread:.1e} in (w0, w1): the same minimum"
         + (", reached in very different numbers of steps." if max(iters) > 2 * min(iters) + 2
            else "."))
    w0, w1 = newton.intercept, float(newton.coef[0])
    if abs(w1) <= 1e-9 * max(1.0, abs(w0)):
        print(f"w1 = 0: P(label = 1 | x) = {1 / (1 + np.exp(-w0)):.4g} whatever x")
    else:
        print(f"P(label = 1 | x) = 0.5 at x = {-w0 / w1:.4g}; it "
              f"{'rises' if w1 > 0 else 'falls'} with x")
    if args.plot:
        from fastlogit.cli._plot import plot_toy

        curves = [(f"fit, lam={lam:g} (Newton)", w0, w1, "-"),
                  ("the same by gradient descent", gd.intercept, float(gd.coef[0]), "--")
                  ] + curves
        plot_toy(args.plot, x, y, curves, f"fastlogit demo --toy ({m} points, lam={lam:g})")
        print(f"plot written to {args.plot}")
    return 0


def _say(text: str) -> None:
    print(textwrap.fill(text, width=88))


def _gradient_descent(X: np.ndarray, y: np.ndarray, lam: float, max_iter: int) -> Any:
    """fastlogit's "gd" solver in the raw coordinates, printing the loss as it goes."""
    marks = _checkpoints(max_iter)
    print(f"\nBatch gradient descent on (w0, w1) from (0, 0)... step doubled, then halved "
          f"until the loss falls enough:\n{'iteration':>10} {'loss F':>14} {'w0':>11} "
          f"{'w1':>11} {'max|grad|/n':>12}")
    last: list = [None]

    def report(info: Any) -> None:
        last[0] = info
        if info.iteration in marks:
            print(f"{info.iteration:>10,} {info.objective:14.8f} {info.intercept:11.6f} "
                  f"{info.coef[0]:11.6f} {info.grad_norm:12.2e}", flush=True)

    res = fastlogit.fit(X, y=y, lam=lam, solver="gd", standardize=False, factr=10.0,
                        threads=TOY_THREADS,
                        max_iter=max_iter, callback=report, x0=[0.0, 0.0])
    info = last[0]
    if info is not None and info.iteration not in marks:
        print(f"{info.iteration:>10,} {info.objective:14.8f} {info.intercept:11.6f} "
              f"{info.coef[0]:11.6f} {info.grad_norm:12.2e}")
    print(f"stopped after {res.n_iter:,} iterations: {res.message}")
    return res


def _show_runaway(X: np.ndarray, y: np.ndarray, curves: list, steps: int = 10_000
                  ) -> Optional[Any]:
    """Unpenalised gradient descent on separated points: the loss -> 0, |w1| -> infinity."""
    seen: dict = {}
    marks = {10, 100, 1000, steps}

    def record(info: Any) -> None:
        if info.iteration in marks:
            seen[info.iteration] = info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the diverging fit is the point being made
        fastlogit.fit(X, y=y, lam=0.0, solver="gd", standardize=False, factr=0.0, pgtol=0.0,
                      threads=TOY_THREADS,
                      max_iter=steps, callback=record, x0=[0.0, 0.0])
    if not seen:
        return None
    _say("Unpenalised gradient descent never settles: the loss creeps towards 0 while the "
         "coefficients grow without bound:")
    for it in sorted(seen):
        info = seen[it]
        print(f"  after {it:>6,} iterations: loss {info.objective:.3e}, w0 = "
              f"{info.intercept:9.3f}, w1 = {info.coef[0]:8.3f}")
    last = seen[max(seen)]
    curves.append((f"no penalty, {max(seen):,} GD steps", last.intercept,
                   float(last.coef[0]), ":"))
    return last
