"""``fastlogit fit --formula``: R-style GLMs from a CSV or Parquet file.

    fastlogit fit esoph.csv --formula "cbind(ncases, ncontrols) ~ agegp + alcgp"
    fastlogit fit admissions.csv --successes admitted --failures rejected --family quasibinomial
    fastlogit fit trials.csv --formula "y ~ dose + C(site)" --cov-type cluster --groups site
    fastlogit fit sep.csv --formula "y ~ x" --firth

Categorical columns (text) become treatment-coded factors; missing values are
dropped (--na drop, the count is printed) or refused (--na raise). The summary
is R's summary.glm.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from fastlogit._models._robust import COV_TYPES
from fastlogit.cli._util import CliError, one_line

GLM_FLAGS = ("formula", "failures", "na", "cov_type", "family", "firth", "groups")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The formula/GLM options of ``fastlogit fit``."""
    g = p.add_argument_group(
        "formula models (R's glm; CSV or Parquet; needs formulaic; --lam defaults to 0)")
    g.add_argument("--formula", metavar="FORMULA",
                   help="an R-style formula, e.g. \"cbind(k, n - k) ~ dose + group\" or "
                        "\"y ~ x * g\"; categorical columns become factors")
    g.add_argument("--failures", metavar="COL",
                   help="column of failures, with --successes COL (instead of --trials)")
    g.add_argument("--na", choices=["drop", "raise"], default=None,
                   help="rows with missing values: drop them and report how many (default) "
                        "or refuse them")
    g.add_argument("--cov-type", choices=COV_TYPES,
                   default=None, help="covariance of the estimates (sandwich types; "
                                      "cluster needs --groups)")
    g.add_argument("--groups", metavar="COL", help="cluster column for --cov-type cluster")
    g.add_argument("--family", choices=["binomial", "quasibinomial"], default=None,
                   help="quasibinomial estimates the dispersion (overdispersed counts)")
    g.add_argument("--firth", action="store_true", default=None,
                   help="Firth's bias-reduced estimate (finite under separation)")


def wanted(args: argparse.Namespace) -> bool:
    """Whether the command asks for the formula path."""
    return any(getattr(args, name, None) not in (None, False) for name in GLM_FLAGS)


def _quote(name: str) -> str:
    return name if name.isidentifier() else f"`{name}`"


def _formula(args: argparse.Namespace, columns: Any) -> str:
    if args.formula:
        if args.label or args.successes or args.trials or args.failures:
            raise CliError("--formula names the response itself: drop --label, --successes, "
                           "--trials and --failures")
        return str(args.formula)
    if args.failures:
        if not args.successes or args.trials:
            raise CliError("--failures goes with --successes COL (and without --trials)")
        response = f"cbind({_quote(args.successes)}, {_quote(args.failures)})"
        used = {args.successes, args.failures}
    elif args.successes and args.trials:
        response = f"cbind({_quote(args.successes)}, {_quote(args.trials)} - " \
                   f"{_quote(args.successes)})"
        used = {args.successes, args.trials}
    elif args.label:
        response, used = _quote(args.label), {args.label}
    else:
        raise CliError("give --formula, or the outcome: --label COL, --successes COL with "
                       "--failures COL or --trials COL")
    extra = {c for c in (args.weights, args.offset, args.groups) if c}
    features = [c.strip() for item in (args.features or []) for c in item.split(",")
                if c.strip()] or [c for c in columns if c not in used | extra]
    if not features:
        raise CliError("no feature columns left for the model")
    return f"{response} ~ " + " + ".join(_quote(c) for c in features)


def run(args: argparse.Namespace) -> int:
    """Read the table, fit ``fastlogit.glm`` and print R's summary."""
    import fastlogit
    from fastlogit.cli._io import _read_table, detect_format

    fmt = detect_format(args.data, args.format)
    if fmt not in ("csv", "parquet"):
        raise CliError(f"formula models read CSV or Parquet files, not {fmt}")
    if args.out or args.plot:
        raise CliError("--out and --plot are not available with formula models yet")
    t0 = time.perf_counter()
    df = _read_table(args.data, fmt, args.sep, None)
    seconds = time.perf_counter() - t0
    formula = _formula(args, df.columns)
    cov_type = args.cov_type or "nonrobust"
    if (cov_type == "cluster") != bool(args.groups):
        raise CliError("--cov-type cluster and --groups COL go together")
    print(f"data:     {args.data} ({fmt}): {len(df):,} rows x {df.shape[1]} columns, "
          f"read in {seconds:.2f} s")
    t0 = time.perf_counter()
    try:
        m = fastlogit.glm(formula, df, weights=args.weights, offset=args.offset,
                          family=args.family or "binomial", cov_type=cov_type,
                          groups=args.groups, na_action="raise" if args.na == "raise" else "omit",
                          lam=args.lam if getattr(args, "lam_given", False) else 0.0,
                          method="firth" if args.firth else "auto", threads=args.threads)
    except (ValueError, TypeError, ImportError) as exc:
        raise CliError(one_line(exc)) from None
    state = "converged" if m.converged else f"NOT converged ({m.fit.message})"
    print(f"fit:      {m.method}: {state} in {m.fit.n_iter} iterations, "
          f"{time.perf_counter() - t0:.3f} s; {m.nobs:,} observations"
          + (f" ({m.n_dropped:,} rows with missing values dropped)" if m.n_dropped else ""))
    print()
    if args.summary != "none":
        print(m.summary(args.alpha))
    return 0
