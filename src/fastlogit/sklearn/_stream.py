"""``partial_fit`` of the scikit-learn estimators, on ``fastlogit.partial_fit``.

Kept apart from sklearn.py (which holds the estimators' ``fit``): the estimators'
methods are one-line calls into here. scikit-learn's conventions, as in its
SGDClassifier: ``classes`` is required on the first call and must not change later;
later calls update the model with one pass of mini-batch steps over the new rows.

The stream's optimiser state lives on the estimator as ``_stream_``, a pair (the last
``partial_fit`` result, the ``coef_`` array it set). A later ``fit`` replaces ``coef_``,
which ends the stream: the next ``partial_fit`` starts a new one (with the classes of
that fit when ``classes`` is not given).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight

from fastlogit._models._sgd_api import partial_fit
from fastlogit.sklearn._common import _core_penalty, _proportions, _resolve_lam, _validate_data


def _stream_model(est: Any) -> Optional[Any]:
    """The stream to continue, or None when there is none (or a fit ended it)."""
    stream = getattr(est, "_stream_", None)
    if stream is None or getattr(est, "coef_", None) is not stream[1]:
        return None
    return stream[0]


def classifier_partial_fit(est: Any, X: Any, y: Any, classes: Any, sample_weight: Any,
                           threads: int) -> Any:
    """LogisticRegression.partial_fit: two classes, labels encoded by ``classes_``."""
    model = _stream_model(est)
    first = model is None
    if classes is not None:
        classes = np.unique(np.asarray(classes))
        known = getattr(est, "classes_", None)
        if not first and known is not None and not np.array_equal(classes, known):
            raise ValueError(f"classes={classes!r} is not the same as on the last call to "
                             f"partial_fit, was: {known!r}")
    elif first:
        classes = getattr(est, "classes_", None)
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit "
                             "(all labels the stream can contain, e.g. classes=[0, 1])")
    else:
        classes = est.classes_
    if classes.shape[0] != 2:
        raise ValueError(f"partial_fit fits the binomial model and needs exactly 2 classes; "
                         f"got {classes.shape[0]}: {classes!r}. For more classes use fit "
                         "(multinomial) on the data in memory or memory-mapped.")
    if _core_penalty(est.penalty, est.l1_ratio, True):
        raise ValueError(f"partial_fit (SGD) fits the L2 penalty only; penalty={est.penalty!r} "
                         f"with l1_ratio={est.l1_ratio!r} needs fit on the whole data")
    if est.class_weight == "balanced":
        raise ValueError("class_weight='balanced' needs the whole data set; partial_fit "
                         "takes a dict of class weights or None")
    X, y = _validate_data(est, X, y, reset=first)
    check_classification_targets(y)
    y = np.asarray(y)
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise ValueError(f"y contains label {y[unknown][0]!r} that is not in classes "
                         f"{classes!r}")
    y_enc = (y == classes[1]).astype(np.float64)
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if isinstance(est.class_weight, dict):
        cw = np.array([float(est.class_weight.get(c, 1.0)) for c in classes])
        sw = sw * cw[y_enc.astype(np.intp)]
    lam = _resolve_lam(est.C, est.lam, est.penalty)
    res = partial_fit(X, y=y_enc, sample_weight=sw, model=model,
                      lam=lam if first else None,
                      fit_intercept=bool(est.fit_intercept) if first else None,
                      threads=threads)
    est.classes_ = classes
    est.coef_ = np.ascontiguousarray(res.coef[None, :], dtype=np.float64)
    est.intercept_ = np.array([res.intercept])
    est.n_iter_ = np.array([res.n_iter])
    est._stream_ = (res, est.coef_)
    return est


def regressor_partial_fit(est: Any, X: Any, y: Any, sample_weight: Any,
                          threads: int) -> Any:
    """BinomialRegressor.partial_fit: proportions y, trials sample_weight.

    The regressor's objective is the *mean* deviance plus alpha/2 ||w||^2, a penalty
    per trial that does not depend on how much of the stream has been seen: the steps
    use lam / total_trials = alpha. With ``lam`` set instead, the penalty is on the
    summed loss of the rows streamed so far, as in fastlogit.partial_fit.
    """
    model = _stream_model(est)
    first = model is None
    X, y, n, alpha = _proportions(est, X, y, sample_weight, reset=first)
    lam, total = (float(est.lam), None) if alpha is None else (alpha, 1.0)
    res = partial_fit(X, n, n * y, model=model, lam=lam if first else None,
                      fit_intercept=bool(est.fit_intercept) if first else None,
                      total_trials=total, threads=threads)
    est.coef_ = res.coef
    est.intercept_ = float(res.intercept)
    est.n_iter_ = int(res.n_iter)
    est._stream_ = (res, est.coef_)
    return est
