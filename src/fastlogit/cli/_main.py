"""The command line's parser and subcommands (the package docstring says what they do)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

import fastlogit
from fastlogit.cli import _glm as _cli_glm
from fastlogit.cli._util import (
    CliError,
    Progress,
    TolerantStdout,
    check_outputs,
    check_threads,
    fit_quietly_then_warn,
    format_count,
    is_terminal,
    one_line,
    progress_for,
)

SUMMARY_MAX_PARAMS = 100  # --summary auto: the full inference table up to this many parameters
TOP_COEFS = 10


# -- options shared by several subcommands ----------------------------------------------------

def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--debug", action="store_true",
                   help="show the full traceback of an error instead of one line")
    return p


def _progress_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show the progress line even when stderr is not a terminal")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress line (default: a live line when stderr is a terminal)")
    p.add_argument("--verbose", action="store_true",
                   help="print one line per solver iteration (on stdout)")


class _Given(argparse.Action):
    """Store the value and note that it was given (formula models default to lam = 0)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def _solver_options(p: argparse.ArgumentParser, lam_default: Optional[float] = 1.0) -> None:
    g = p.add_argument_group("model and solver")
    g.add_argument("--lam", type=float, default=lam_default, metavar="LAM", action=_Given,
                   help="penalty on the summed loss, lam = 1/C of scikit-learn "
                        f"(default {lam_default})" if lam_default is not None else
                   "penalty on the summed loss, lam = 1/C of scikit-learn")
    g.add_argument("--l1-ratio", type=float, default=None, metavar="R",
                   help="elastic-net mix in [0, 1]: 0 ridge (default), 1 lasso; cd or lbfgs")
    g.add_argument("--solver", default="auto",
                   choices=["auto", "cd", "lbfgs", "newton", "newton-cg", "gd"],
                   help="auto (default: cd for L1, else lbfgs), cd (coordinate descent, "
                        "L1 / elastic net), lbfgs (any size), newton (<= 5,000 features, to "
                        "machine precision), newton-cg (wide, second order), gd (teaching)")
    g.add_argument("--factr", type=float, default=1e3,
                   help="stop when F/sum(n) falls by less than factr * 2.2e-16 in an "
                        "iteration (default 1e3; scipy's default 1e7 is about twice as fast)")
    g.add_argument("--pgtol", type=float, default=None,
                   help="... or when the largest gradient entry is below pgtol "
                        "(default 1e-8; 0 for newton)")
    g.add_argument("--max-iter", type=int, default=1000, help="solver iterations (default 1000)")
    g.add_argument("--threads", type=int, default=None,
                   help="kernel threads (default: OMP_NUM_THREADS or all cores; -1: all cores)")
    g.add_argument("--no-intercept", dest="intercept", action="store_false",
                   help="fit without an intercept (b = 0)")


def check_solver_options(args: argparse.Namespace) -> None:
    """The model and solver options, checked before any data are read, by their flags."""
    if args.lam is not None and not (math.isfinite(args.lam) and args.lam >= 0):
        raise CliError(f"--lam must be a finite number >= 0, got {args.lam}")
    if args.l1_ratio is not None:
        if not 0.0 <= args.l1_ratio <= 1.0:
            raise CliError(f"--l1-ratio must lie in [0, 1], got {args.l1_ratio}")
        if args.l1_ratio > 0 and args.solver not in ("auto", "cd", "lbfgs"):
            raise CliError("--l1-ratio > 0 needs --solver auto, cd or lbfgs "
                           f"(got --solver {args.solver})")
    if not (math.isfinite(args.factr) and args.factr >= 0):
        raise CliError(f"--factr must be a finite number >= 0, got {args.factr}")
    if args.pgtol is not None and not (math.isfinite(args.pgtol) and args.pgtol >= 0):
        raise CliError(f"--pgtol must be a finite number >= 0, got {args.pgtol}")
    if args.max_iter < 1:
        raise CliError(f"--max-iter must be >= 1, got {args.max_iter}")
    check_threads(args.threads)


def _fit_kwargs(args: argparse.Namespace, callback: Any) -> dict:
    kwargs: dict = dict(lam=args.lam, solver=args.solver, factr=args.factr, pgtol=args.pgtol,
                        max_iter=args.max_iter, threads=args.threads,
                        fit_intercept=args.intercept, callback=callback,
                        verbose=getattr(args, "verbose", False))
    if args.l1_ratio is not None:
        kwargs["l1_ratio"] = args.l1_ratio
    return kwargs


def _split(values: Optional[list]) -> Optional[tuple]:
    """--features a,b --features c -> ('a', 'b', 'c')."""
    if not values:
        return None
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return tuple(out) or None


# -- fit --------------------------------------------------------------------------------------

def _add_fit(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "fit", parents=[common], help="fit a model to a data file and print the summary",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Fit L2-regularised (or elastic-net) logistic regression to binomial rows read from\n"
            "DATA and print the fit and its summary table (standard errors, z, p-values and\n"
            "intervals when the model is small enough).\n\n"
            "Formats (by file name, or --format):\n"
            "  CSV/TSV    .csv .tsv (also .gz .bz2 .xz .zst .zip)  needs pandas\n"
            "  Parquet    .parquet .pq                             needs pandas + pyarrow\n"
            "  svmlight   .svm .svmlight .libsvm   labels 0/1 or -1/+1; needs scikit-learn\n"
            "  npz        .npz   scipy.sparse.save_npz layout (or a dense array 'X') plus\n"
            "                    arrays 'y' (0/1) or 'k' and 'n'; or --targets FILE.npz\n\n"
            "The outcome: --label COL for 0/1 labels (--positive VALUE for class labels), or\n"
            "--successes COL --trials COL for binomial counts. Features: --features, or every\n"
            "other column. Example:\n"
            "  fastlogit fit clicks.csv --successes clicks --trials views --out model.json"),
    )
    p.add_argument("data", metavar="DATA", help="the training file")
    g = p.add_argument_group("data")
    g.add_argument("--format", choices=["auto", "csv", "parquet", "svmlight", "npz"],
                   default="auto", help="file format (default: from the file name)")
    g.add_argument("--label", metavar="COL", help="column (npz: array) of 0/1 labels")
    g.add_argument("--positive", metavar="VALUE",
                   help="the value of --label that counts as a success (for class labels)")
    g.add_argument("--successes", metavar="COL", help="column (npz: array) of successes k")
    g.add_argument("--trials", metavar="COL", help="column (npz: array) of trials n")
    g.add_argument("--features", metavar="COLS", action="append",
                   help="comma-separated feature columns (default: all other columns)")
    g.add_argument("--weights", metavar="COL", help="column (npz: array) of sample weights")
    g.add_argument("--offset", metavar="COL",
                   help="column (npz: array) of offsets (known part of the linear predictor)")
    g.add_argument("--sep", help="CSV delimiter (default ',' or tab for .tsv)")
    g.add_argument("--zero-based", choices=["auto", "yes", "no"], default="auto",
                   help="svmlight feature indices start at 0 (default: auto, as scikit-learn)")
    g.add_argument("--targets", metavar="FILE.npz",
                   help="npz: a second file holding the outcome (and weights, offset) arrays")
    _solver_options(p)
    _cli_glm.add_arguments(p)
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="MODEL.json", help="write the model to this JSON file")
    g.add_argument("--summary", choices=["auto", "full", "none"], default="auto",
                   help=f"auto: the inference table up to {SUMMARY_MAX_PARAMS} parameters, "
                        "else the largest coefficients; full: always; none: no table")
    g.add_argument("--alpha", type=float, default=0.05,
                   help="confidence intervals at 1 - alpha (default 0.05)")
    g.add_argument("--plot", metavar="FILE.png",
                   help="calibration plot: observed vs predicted rate by bin (matplotlib)")
    g.add_argument("--bins", type=int, default=10, help="calibration bins (default 10)")
    _progress_options(p)
    p.set_defaults(func=_fit_command)


def _fit_command(args: argparse.Namespace) -> int:
    stdout = sys.stdout
    sys.stdout = TolerantStdout(stdout)  # | head: the report may be cut, never the files
    try:
        return _fit(args)
    finally:
        sys.stdout = stdout


def _fit(args: argparse.Namespace) -> int:
    from fastlogit.cli._io import Columns, detect_format, read_training
    from fastlogit.cli._model import model_document, save_model

    if _cli_glm.wanted(args):
        return _cli_glm.run(args)
    check_solver_options(args)
    fmt = detect_format(args.data, args.format)
    if args.positive is not None and args.label is None:
        raise CliError("--positive needs --label COL")
    if (args.successes is None) != (args.trials is None):
        raise CliError("give both --successes COL and --trials COL (or --label COL)")
    if args.label is not None and args.successes is not None:
        raise CliError("give either --label COL or --successes/--trials, not both")
    if args.bins < 1:
        raise CliError(f"--bins must be >= 1, got {args.bins}")
    if not 0 < args.alpha < 1:
        raise CliError(f"--alpha must be in (0, 1), got {args.alpha}")
    check_outputs(args.out, args.plot, inputs=(args.data, args.targets))  # before reading
    cols = Columns(label=args.label, positive=args.positive, successes=args.successes,
                   trials=args.trials, features=_split(args.features), weights=args.weights,
                   offset=args.offset)
    t0 = time.perf_counter()
    data = read_training(args.data, fmt, cols, sep=args.sep, zero_based=args.zero_based,
                         targets=args.targets)
    t_read = time.perf_counter() - t0
    _print_data(args.data, fmt, data, t_read)

    progress = progress_for(args)
    kwargs = _fit_kwargs(args, progress)
    t0 = time.perf_counter()
    res = fit_quietly_then_warn(
        lambda: fastlogit.fit(data.X, data.n, data.k, sample_weight=data.weights,
                              offset=data.offset, feature_names=data.feature_names, **kwargs),
        progress)
    seconds = time.perf_counter() - t0
    _print_fit(res, seconds)
    inference = _print_summary(res, args.summary, args.alpha)
    if args.out:
        columns = dict(label=args.label, positive=args.positive, successes=args.successes,
                       trials=args.trials, weights=args.weights)
        save_model(model_document(res, data, args.data, seconds, columns, inference), args.out)
        print(f"model written to {args.out}")
    if args.plot:
        from fastlogit.cli._plot import plot_calibration

        s = 1.0 if data.weights is None else data.weights
        cal = plot_calibration(args.plot, res.fitted_proba, s * data.n, s * data.k, args.bins,
                               f"Calibration of the fit to {args.data} "
                               f"({res.n_rows:,} rows, lam={res.settings.get('lam'):g})")
        gap = float(np.max(np.abs(cal["observed"] - cal["predicted"])))
        print(f"calibration plot written to {args.plot} ({cal['trials'].size} bins of equal "
              f"trials; largest |observed - predicted| {gap:.3f})")
    return 0


def _print_data(path: str, fmt: str, data: Any, seconds: float) -> None:
    X = data.X
    m, p = X.shape
    layout = f"sparse, {X.nnz:,} nonzeros" if hasattr(X, "nnz") else "dense"
    s = 1.0 if data.weights is None else data.weights
    trials, succ = float(np.sum(s * data.n)), float(np.sum(s * data.k))
    rate = f" ({succ / trials:.1%})" if trials > 0 else ""
    print(f"data:     {path} ({fmt}): {m:,} rows x {p:,} features ({layout}), "
          f"read in {seconds:.2f} s")
    print(f"outcome:  {data.outcome}: {format_count(trials)} trials, "
          f"{format_count(succ)} successes{rate}"
          + ("" if data.weights is None else ", weighted")
          + ("" if data.offset is None else ", with offset"))


def _print_fit(res: Any, seconds: float) -> None:
    st = res.settings
    pen = f"lam={st.get('lam'):g}" + (f", l1_ratio={st['l1_ratio']:g}"
                                      if st.get("l1_ratio") else "")
    state = "converged" if res.converged else f"NOT converged ({res.message})"
    print(f"fit:      {res.solver}, {pen}: {state} in {res.n_iter} iterations "
          f"({res.n_fev} passes over the data), {seconds:.3f} s")
    print(f"          objective {res.objective:.10g}, max |gradient| {res.grad_norm:.1e}, "
          f"{st.get('threads')} threads")


def _print_summary(res: Any, mode: str, alpha: float) -> Optional[dict]:
    """Print the summary table (or the largest coefficients); the inference for the model file."""
    if mode == "none":
        return None
    n_params = res.n_features + int(res.settings.get("fit_intercept", True))
    print()
    if mode == "full" or n_params <= SUMMARY_MAX_PARAMS:
        try:
            table = res.summary(alpha)
        except (ValueError, np.linalg.LinAlgError) as exc:
            print(f"standard errors unavailable: {one_line(exc)}")
            _print_coefs(res, limit=None if n_params <= SUMMARY_MAX_PARAMS else TOP_COEFS)
            return None
        print(table)
        return {"param_names": list(res.param_names), "bse": res.bse, "pvalues": res.pvalues,
                "alpha": alpha, "deviance": res.deviance, "null_deviance": res.null_deviance,
                "aic": res.aic, "bic": res.bic}
    print(f"{n_params:,} parameters: too many for the inference table (--summary full forces "
          f"it; the dense Hessian needs 8 x {n_params:,}^2 bytes)")
    _print_coefs(res, limit=TOP_COEFS)
    return None


def _print_coefs(res: Any, limit: Optional[int]) -> None:
    names = res.feature_names or tuple(f"x{j}" for j in range(res.n_features))
    coef = np.asarray(res.coef)
    order = np.arange(coef.size) if limit is None else np.argsort(-np.abs(coef),
                                                                   kind="stable")[:limit]
    nonzero = int(np.count_nonzero(coef))
    head = "coefficients" if limit is None else f"the {len(order)} largest coefficients"
    print(f"{head} ({nonzero:,} of {coef.size:,} nonzero):")
    width = min(max([len(names[j]) for j in order] + [9]), 32)
    if res.settings.get("fit_intercept", True):
        print(f"  {'Intercept':<{width}} {res.intercept:12.6g}")
    for j in order:
        print(f"  {names[j][:width]:<{width}} {coef[j]:12.6g}")


# -- predict ----------------------------------------------------------------------------------

def _add_predict(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "predict", parents=[common], help="success probabilities for the rows of a data file",
        description=(
            "Read MODEL (written by 'fastlogit fit --out') and write the success probability "
            "of every row of DATA, reading DATA in chunks (CSV: pandas chunks; Parquet: "
            "pyarrow batches; svmlight: byte ranges; npz is read whole) so files larger than "
            "memory work. Tabular files need the model's feature columns by name (and its "
            "offset column); svmlight and npz files have the features by position."),
    )
    p.add_argument("model", metavar="MODEL", help="model file (JSON) from fastlogit fit --out")
    p.add_argument("data", metavar="DATA", help="rows to predict (any format fit reads)")
    p.add_argument("--out", default="-", metavar="FILE",
                   help="CSV (.gz/.bz2/.xz compressed) or .parquet; '-' for stdout (default)")
    p.add_argument("--format", choices=["auto", "csv", "parquet", "svmlight", "npz"],
                   default="auto", help="DATA's format (default: from the file name)")
    p.add_argument("--sep", help="CSV delimiter (default ',' or tab for .tsv)")
    p.add_argument("--keep", metavar="COLS", action="append",
                   help="comma-separated columns of DATA to copy into the output (e.g. an id)")
    p.add_argument("--linear-predictor", action="store_true",
                   help="also write the linear predictor z (log-odds)")
    p.add_argument("--chunk-rows", type=int, default=100_000,
                   help="rows per chunk (default 100,000)")
    p.add_argument("--threads", type=int, default=None, help="kernel threads")
    p.add_argument("--quiet", action="store_true", help="no report on stderr")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="report rows done even when stderr is not a terminal")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress line")
    p.set_defaults(func=_predict_command)


def _predict_command(args: argparse.Namespace) -> int:
    from fastlogit._core._special import sigmoid
    from fastlogit.cli._io import detect_format, iter_chunks
    from fastlogit.cli._model import PredictionWriter, check_prediction_format, load_model

    if args.chunk_rows < 1:
        raise CliError(f"--chunk-rows must be >= 1, got {args.chunk_rows}")
    check_threads(args.threads)
    if args.out != "-":
        check_prediction_format(args.out)
    check_outputs(None if args.out == "-" else args.out, None, inputs=(args.model, args.data))
    model = load_model(args.model)
    fmt = detect_format(args.data, args.format)
    res = model.result()
    writer = PredictionWriter(args.out)
    live = args.progress is True or (args.progress is None and is_terminal(sys.stderr))
    bar = Progress(sys.stderr, label="predicting") if live and not args.quiet else None
    t0 = time.perf_counter()
    ok = False
    try:
        for chunk in iter_chunks(args.data, fmt, model, args.chunk_rows, sep=args.sep,
                                 keep=_split(args.keep) or ()):
            z = res.decision_function(chunk.X, offset=chunk.offset, threads=args.threads)
            cols = {"probability": sigmoid(z)}
            if args.linear_predictor:
                cols["linear_predictor"] = z
            writer.write(cols, chunk.keep)
            if bar is not None:
                bar.message(f"predicting: {writer.rows:,} rows done")
        if writer.rows == 0:
            raise CliError(f"{args.data} has no data rows")
        ok = True
    finally:
        if bar is not None:
            bar.close()
        writer.close(ok)
    if not args.quiet:
        where = "stdout" if args.out == "-" else args.out
        print(f"wrote {writer.rows:,} predictions to {where} in "
              f"{time.perf_counter() - t0:.2f} s", file=sys.stderr)
    return 0


# -- demo -------------------------------------------------------------------------------------

def _add_demo(sub: Any, common: argparse.ArgumentParser) -> None:
    from fastlogit.cli import _demo as _cli_demo

    p = sub.add_parser(
        "demo", parents=[common],
        help="fit a synthetic million-row sparse binomial problem (--toy: a 1-D toy)",
        description=_cli_demo.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _cli_demo.add_arguments(p)
    _progress_options(p)
    p.set_defaults(func=_cli_demo.run)


# -- main -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastlogit`` command (for --help and for tests).

    Examples
    --------
    >>> build_parser().parse_args(["fit", "data.csv", "--label", "y"]).lam
    1.0
    """
    parser = argparse.ArgumentParser(
        prog="fastlogit",
        description="Fast regularised logistic regression on binomial (X, n, k) data. "
                    "'fastlogit COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"fastlogit {fastlogit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common()
    _add_fit(sub, common)
    _add_predict(sub, common)
    _add_demo(sub, common)
    return parser


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                  line: Optional[str] = None) -> None:
    text = " ".join(str(message).split())
    print(f"fastlogit: warning: {text}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``fastlogit`` command; return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for an error in the input (reported as one line on
        stderr), 2 for a bad command line, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return int(args.func(args))
        except KeyboardInterrupt:
            if args.debug:
                raise
            print("\nfastlogit: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader went away (e.g. | head): stop quietly
            try:  # point stdout at devnull so that the exit-time flush cannot fail again
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 0
        except Exception as exc:
            if args.debug:
                raise
            expected = isinstance(exc, (CliError, ValueError, TypeError, OSError,
                                        ImportError, MemoryError))
            text = one_line(exc) if expected else (
                f"{type(exc).__name__}: {one_line(exc)} (an unexpected error: please report "
                "it, with the output of --debug)")
            print(f"fastlogit: error: {text}", file=sys.stderr)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
