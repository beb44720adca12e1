"""``fastlogit.glm``: R's ``glm(formula, family = binomial)`` on data frames.

formula + data -> model frame (_formula.py) -> aliased columns dropped
(_aliasing.py) -> ``fastlogit.fit`` (or Firth's method) on the sparse design
-> ``GLMResult`` (_glm_result.py), whose statistics are labelled by R-style
term names and follow R's summary.glm, sandwich, anova and MASS.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from fastlogit._core._threads import resolve_threads
from fastlogit._input._validate import as_design
from fastlogit._models._aliasing import aliased_columns
from fastlogit._models._robust import check_cov_type
from fastlogit._solvers._newton import NEWTON_MAX_FEATURES
from fastlogit.formula._frame import ModelFrame, model_frame
from fastlogit.formula._result import FAMILIES, GLMResult

METHODS = ("auto", "newton", "lbfgs", "newton-cg", "firth")
_AUTO_NEWTON_PARAMS = 2000


def glm(formula: str, data: Any, *, weights: Any = None, offset: Any = None,
        family: str = "binomial", cov_type: str = "nonrobust", groups: Any = None,
        na_action: str = "omit", lam: float = 0.0, method: str = "auto",
        threads: Optional[int] = None, max_iter: Optional[int] = None) -> GLMResult:
    """Fit a binomial (logistic) GLM from a formula and a data frame, as R's ``glm``.

    Parameters
    ----------
    formula : str
        ``response ~ terms``. The response is ``cbind(successes, failures)``,
        a proportion ``k / n`` (with ``weights=n``), or a 0/1, logical or
        two-level column (the first level is the failure, as in R). Terms are
        read by formulaic: numeric columns, categorical columns (pandas
        category, object or string: R's treatment contrasts, the first level
        the reference), ``C(g, contr.treatment("b"))``, interactions ``a:b``,
        ``a*b``, transforms (``np.log(x)``), ``- 1`` or ``0 +`` for no
        intercept; ``offset(expr)`` adds expr to the linear predictor.
    data : pandas.DataFrame
        The columns the formula names (or a dict of columns).
    weights : array_like of shape (n_rows,) or str, optional
        Prior weights (a column name or an array), as R's ``weights``: for a
        proportion response, the trials; otherwise multiplying the counts.
    offset : array_like of shape (n_rows,) or str, optional
        Added to the linear predictor (on top of any ``offset()`` term).
    family : {"binomial", "quasibinomial"}, default "binomial"
        "quasibinomial" estimates the dispersion as Pearson chi2 / df_resid
        and scales standard errors by its square root; Wald statistics are
        then t with df_resid degrees of freedom (R's summary.glm).
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"}, default "nonrobust"
        Covariance behind bse, tests and intervals: the model's own, R's
        ``sandwich::vcovHC`` types, or ``vcovCL`` (CR1) with ``groups``.
        ``with_cov()`` gives another without refitting.
    groups : array_like of shape (n_rows,) or str, optional
        Cluster labels for cov_type="cluster".
    na_action : {"omit", "drop", "raise"}, default "omit"
        Rows with a missing value in a column the model uses are dropped (R's
        na.omit; "drop" is the same) and counted in ``n_dropped``, or refused.
    lam : float, default 0.0
        An explicit ridge penalty (as in ``fastlogit.fit``); R's glm is
        unpenalised, and the summary says so when lam > 0.
    method : {"auto", "newton", "lbfgs", "newton-cg", "firth"}, default "auto"
        The solver of ``fastlogit.fit`` ("auto": Newton up to 2000
        parameters, L-BFGS-B above), or Firth's bias-reduced estimate (brglm2's
        AS_mean; finite on separated data).
    threads : int, optional
        Kernel threads, as in ``fastlogit.fit``.
    max_iter : int, optional
        Solver iterations (default: the solver's).

    Returns
    -------
    GLMResult

    Raises
    ------
    ImportError
        Without formulaic and pandas (``pip install fastlogit[formula]``).
    ValueError, TypeError
        For a formula that does not parse, columns not in data, a response
        that is not binomial, missing values with na_action="raise", an
        unknown family, cov_type or method, or groups without cov_type="cluster".

    Warns
    -----
    UserWarning
        When columns are aliased (their coefficients are NaN, as R's NA).
    SeparationWarning
        When fitted probabilities are numerically 0 or 1 (unpenalised fits).

    Examples
    --------
    >>> import pandas as pd, fastlogit
    >>> df = pd.DataFrame({"dose": [0, 1, 2, 3], "dead": [2, 4, 5, 8], "alive": [8, 6, 5, 2]})
    >>> m = fastlogit.glm("cbind(dead, alive) ~ dose", df)
    >>> m.params.round(4)
    Intercept   -1.4025
    dose         0.8534
    dtype: float64
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    check_cov_type(cov_type, groups)
    frame = model_frame(formula, data, weights, offset, groups, na_action)
    return fit_frame(frame, family=family, cov_type=cov_type, lam=lam, method=method,
                     threads=threads, max_iter=max_iter,
                     offset_column=offset if isinstance(offset, str) else None,
                     has_offset_array=offset is not None and not isinstance(offset, str))


def fit_frame(frame: ModelFrame, *, family: str, cov_type: str, lam: float, method: str,
              threads: Optional[int], max_iter: Optional[int],
              offset_column: Optional[str] = None, has_offset_array: bool = False,
              drop: Optional[np.ndarray] = None, extra_offset: Optional[np.ndarray] = None,
              warn_aliased: bool = True, x0: Any = None) -> GLMResult:
    """Fit a model frame: aliasing, solver, result. ``drop`` removes columns (drop1,
    profiles); ``extra_offset`` is added to the offset (profiles)."""
    from fastlogit._models._fit import fit as fit_arrays

    enc = frame.encoding
    n_threads = resolve_threads(threads)
    sn = frame.n
    dropping = drop is not None and bool(drop.any())
    # the columns that stay (copied once when some are dropped: drop1, profiles)
    X_kept = frame.X[:, np.flatnonzero(~drop)] if dropping else frame.X
    aliased_kept = aliased_columns(as_design(X_kept, "X"), sn, enc.intercept, n_threads)
    if dropping:
        aliased = np.zeros(drop.shape[0], dtype=bool)
        aliased[~drop] = aliased_kept
    else:
        aliased = aliased_kept
    if warn_aliased and aliased.any():
        names = [enc.column_names[j] for j in np.flatnonzero(aliased)]
        shown = ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10 else "")
        warnings.warn(f"{len(names)} coefficient(s) not defined because of singularities "
                      f"(aliased columns, NaN as R's NA): {shown}", UserWarning, stacklevel=3)
    removed = aliased if drop is None else (aliased | drop)
    keep = np.flatnonzero(~removed)
    if not aliased_kept.any():
        X = X_kept  # the kept columns are already there
    else:
        X = X_kept[:, np.flatnonzero(~aliased_kept)]
    offset = frame.offset
    if extra_offset is not None:
        offset = extra_offset if offset is None else offset + extra_offset
    P = keep.size + int(enc.intercept)
    solver = method
    if method == "auto":
        solver = "newton" if P <= min(_AUTO_NEWTON_PARAMS, NEWTON_MAX_FEATURES) else "lbfgs"
    kwargs: dict = dict(fit_intercept=enc.intercept, offset=offset, threads=threads,
                        feature_names=[enc.column_names[j] for j in keep])
    if max_iter is not None:
        kwargs["max_iter"] = max_iter
    if solver == "firth":
        res = fit_arrays(X, frame.n, frame.k, method="firth", **kwargs)
    else:
        res = fit_arrays(X, frame.n, frame.k, lam=lam, solver=solver, x0=x0, **kwargs)
    return GLMResult(fit=res, frame=frame, removed=removed, aliased=aliased, family=family,
                     cov_type=cov_type, method=solver, offset_column=offset_column,
                     has_offset_array=has_offset_array, extra_offset=extra_offset)
