"""LogisticRegressionCV's scikit-learn side: parameters and their deprecations, held-out
scoring, metadata routing and the fitted attributes in scikit-learn's layouts."""

from __future__ import annotations

import inspect
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import scipy.sparse as sp
from sklearn.utils import metadata_routing

from fastlogit.sklearn._classifier import FoldModel
from fastlogit.sklearn._engine import Fitted
from fastlogit.sklearn._params import constraints


def cv_constraints() -> dict:
    """scikit-learn's LogisticRegressionCV parameter constraints."""
    from sklearn.metrics import get_scorer_names
    from sklearn.utils._param_validation import Hidden, Interval, StrOptions

    out = {k: v for k, v in constraints().items()
           if k not in ("C", "warm_start", "l1_ratio", "lam", "aggregate")}
    out.update({
        "Cs": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None,
                    Hidden(StrOptions({"warn"}))],
        "refit": ["boolean"],
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), Hidden(StrOptions({"deprecated"}))],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    })
    return out


@dataclass(frozen=True)
class CVOptions:
    penalty: str  # the penalty in force: "l2", "l1" or "elasticnet"
    l1_ratios: Optional[list]  # as given (None: no l1 axis in the legacy attributes)
    grid: list  # l1_ratios_ (scikit-learn's attribute; [None] without a grid)
    effective_ratios: list  # the L1 share each grid entry fits
    scoring: Any
    legacy: bool


def resolve_cv_options(est: Any) -> CVOptions:
    """scikit-learn's reading of penalty / l1_ratios / scoring / use_legacy_attributes,
    with its FutureWarnings and UserWarnings."""
    l1_ratios = est.l1_ratios
    if isinstance(l1_ratios, str) and l1_ratios == "warn":
        l1_ratios = None
        warnings.warn("The default value for l1_ratios will change from None to (0.0,) in "
                      "version 1.10. From version 1.10 onwards, only array-like with values "
                      "in [0, 1] will be allowed, None will be forbidden. To avoid this "
                      "warning, explicitly set a value, e.g. l1_ratios=(0,).",
                      FutureWarning, stacklevel=3)
    if est.penalty == "deprecated":
        if est.l1_ratios is None:
            warnings.warn("'l1_ratios=None' was deprecated in version 1.8 and will trigger an "
                          "error in 1.10. Use an array-like with values in [0, 1] instead.",
                          FutureWarning, stacklevel=3)
        if l1_ratios is None or np.all(np.asarray(l1_ratios) == 0):
            penalty = "l2"
        elif np.all(np.asarray(l1_ratios) == 1):
            penalty = "l1"
        else:
            penalty = "elasticnet"
    else:
        penalty = est.penalty
        warnings.warn("'penalty' was deprecated in version 1.8 and will be removed in 1.10. "
                      "To avoid this warning, leave 'penalty' set to its default value and use "
                      "'l1_ratios' and 'Cs' instead. Use l1_ratios=(0,) instead of "
                      "penalty='l2', l1_ratios=(1,) instead of penalty='l1', l1_ratios set "
                      "to floats between 0 and 1 instead of penalty='elasticnet', and "
                      "Cs=(np.inf,) instead of penalty=None.", FutureWarning, stacklevel=3)
    scoring = est.scoring
    if isinstance(scoring, str) and scoring == "warn":
        warnings.warn("The default value of the parameter 'scoring' will change from None, "
                      "i.e. accuracy, to 'neg_log_loss' in version 1.11. To silence this "
                      "warning, explicitly set the scoring parameter: scoring='neg_log_loss' "
                      "for the new, scoring='accuracy' or scoring=None for the old default.",
                      FutureWarning, stacklevel=3)
        scoring = None
    legacy = est.use_legacy_attributes
    if isinstance(legacy, str) and legacy == "warn":
        name = type(est).__name__
        warnings.warn(f"The fitted attributes of {name} will be simplified in scikit-learn "
                      "1.10 to remove redundancy. Set`use_legacy_attributes=False` to enable "
                      "the new behavior now, or set it to `True` to silence this warning "
                      "during the transition period while keeping the deprecated behavior "
                      "for the time being. The default value of use_legacy_attributes will "
                      "change from True to False in scikit-learn 1.10. See the docstring of "
                      f"{name} for more details.", FutureWarning, stacklevel=3)
        legacy = True
    if penalty == "elasticnet":
        if l1_ratios is None or len(l1_ratios) == 0 or any(
                not isinstance(r, numbers.Number) or isinstance(r, bool) or not 0 <= r <= 1
                for r in l1_ratios):
            raise ValueError("l1_ratios must be an array-like of numbers between 0 and 1; got "
                             f"(l1_ratios={l1_ratios!r})")
    elif l1_ratios is not None and est.penalty != "deprecated":
        warnings.warn("l1_ratios parameter is only used when penalty is 'elasticnet'. Got "
                      f"(penalty={penalty})", UserWarning, stacklevel=3)
    grid = [None] if l1_ratios is None else list(l1_ratios)
    if penalty == "elasticnet":
        effective = [float(r) for r in grid]
    else:
        effective = [1.0 if penalty == "l1" else 0.0] * len(grid)
    return CVOptions(penalty, None if l1_ratios is None else list(l1_ratios), grid,
                     effective, scoring, bool(legacy))


def routed_params(est: Any, sample_weight: Any, params: dict) -> tuple[dict, dict]:
    """(splitter params, scorer params) by scikit-learn's metadata routing when enabled;
    otherwise every extra parameter (and sample_weight) goes to the scorer."""
    from sklearn.utils.metadata_routing import _raise_for_params, _routing_enabled, process_routing

    _raise_for_params(params, est, "fit")
    if _routing_enabled():
        routed = process_routing(est, "fit", sample_weight=sample_weight, **params)
        return dict(routed.splitter.split), dict(routed.scorer.score)
    score = dict(params)
    if sample_weight is not None:
        score["sample_weight"] = sample_weight
    return {}, score


def _index_params(params: dict, n: int, idx: np.ndarray) -> dict:
    out = {}
    for key, value in params.items():
        if (sp.issparse(value) or hasattr(value, "__len__") or hasattr(value, "shape")) and \
                not isinstance(value, (str, dict)) and _length(value) == n:
            from sklearn.utils import _safe_indexing

            out[key] = _safe_indexing(value, idx)
        else:
            out[key] = value
    return out


def _length(value: Any) -> int:
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(value)
    except TypeError:
        return -1


def scorer_for_fold(scoring: Any, classes: np.ndarray, X: Any, y: np.ndarray,
                    test: np.ndarray, sw: Optional[np.ndarray], score_params: dict
                    ) -> Callable[[Fitted], float]:
    """A function scoring a fold's fit on the held-out rows the way scikit-learn does: a
    LogisticRegression holding the fit, scored by ``score`` (accuracy, weighted by
    sample_weight) or by the scorer, given all the labels when it takes ``labels``."""
    from sklearn.metrics import get_scorer, make_scorer

    X_test, y_test = X[test], y[test]
    holder = FoldModel()
    holder.classes_ = classes
    holder.n_features_in_ = X.shape[1]
    if scoring is None:
        sw_test = None if sw is None else sw[test]

        def run(est: Any) -> float:
            return est.score(X_test, y_test, sample_weight=sw_test)
    else:
        scorer = get_scorer(scoring)
        params = _index_params(score_params, X.shape[0], test)
        func = getattr(scorer, "_score_func", None)
        names = inspect.signature(func).parameters if func is not None else {}
        if "labels" in names:
            extra = {"pos_label": classes[-1]} if classes.shape[0] <= 2 and \
                "pos_label" in names else {}
            scorer = make_scorer(func, greater_is_better=scorer._sign == 1,
                                 response_method=scorer._response_method, labels=classes,
                                 **extra, **getattr(scorer, "_kwargs", {}))

        def run(est: Any) -> float:
            return scorer(est, X_test, y_test, **params)

    def score(fitted: Fitted) -> float:
        holder.coef_ = np.asarray(fitted.coef, dtype=np.float64)
        holder.intercept_ = np.asarray(fitted.intercept, dtype=np.float64)
        return float(run(holder))

    return score


def set_cv_attributes(est: Any, opts: CVOptions, paths: np.ndarray, scores: np.ndarray,
                      n_iter: np.ndarray, best: dict, p: int) -> None:
    """Fitted attributes in scikit-learn's layout. paths (n_folds, n_l1, n_cs, rows, n_dof),
    scores and n_iter (n_folds, n_l1, n_cs)."""
    classes = est.classes_
    K = classes.shape[0]
    rows = 1 if K == 2 else K
    keys = classes[1:] if K == 2 else classes
    est.coef_ = np.ascontiguousarray(best["coef"], dtype=np.float64).reshape(rows, p)
    est.intercept_ = np.asarray(best["intercept"], dtype=np.float64).reshape(rows)
    est.l1_ratios_ = np.asarray(opts.grid)
    if best.get("refit", True) and est.refit:
        l1_ratio = opts.grid[best["l1_index"][0]]
    elif opts.penalty == "elasticnet":
        l1_ratio = float(np.mean([opts.grid[r] for r in best["l1_index"]]))
    else:
        l1_ratio = 0.0
    if not opts.legacy:
        est.C_ = float(best["C"])
        if opts.l1_ratios is None:
            est.l1_ratio_ = 1.0 if est.penalty == "l1" else 0.0
        else:
            est.l1_ratio_ = float(l1_ratio)
        est.coefs_paths_ = paths.copy()
        est.scores_ = scores.copy()
        est.n_iter_ = n_iter.copy()
        return
    est.C_ = np.full(rows, best["C"])
    est.l1_ratio_ = np.asarray([l1_ratio] * rows)
    legacy_paths = paths.transpose(3, 0, 2, 1, 4)  # (rows, n_folds, n_cs, n_l1, n_dof)
    legacy_scores = scores.transpose(0, 2, 1)  # (n_folds, n_cs, n_l1)
    legacy_iter = n_iter.transpose(0, 2, 1)[None]
    if opts.l1_ratios is None:
        legacy_paths = legacy_paths[:, :, :, 0]
        legacy_scores = legacy_scores[:, :, 0]
        legacy_iter = legacy_iter[:, :, :, 0]
    est.coefs_paths_ = {k: legacy_paths[0 if K == 2 else i] for i, k in enumerate(keys)}
    est.scores_ = {k: legacy_scores.copy() for k in keys}
    est.n_iter_ = legacy_iter


class CVScoring:
    """score() with the ``scoring`` option and metadata routing, as scikit-learn's."""

    # score's sample_weight goes to the scorer, never to the estimator itself
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}

    def _get_scorer(self) -> Any:
        from sklearn.metrics import get_scorer

        scoring = getattr(self, "scoring", None)
        if isinstance(scoring, str) and scoring == "warn":
            return get_scorer("accuracy")
        return get_scorer(scoring or "accuracy")

    def score(self, X: Any, y: Any, sample_weight: Any = None, **score_params: Any) -> float:
        """Score on test data with the ``scoring`` option (accuracy by default).

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        sample_weight : array_like of shape (n_samples,), optional
        **score_params : dict
            Passed to the scorer (metadata routing).

        Returns
        -------
        float

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from fastlogit import LogisticRegressionCV
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogisticRegressionCV(Cs=3, cv=3, l1_ratios=(0.0,), scoring="accuracy",
        ...                            use_legacy_attributes=False).fit(X, y)
        >>> bool(clf.score(X, y) > 0.9)
        True
        """
        from sklearn.utils.metadata_routing import (
            _raise_for_params,
            _routing_enabled,
            process_routing,
        )

        _raise_for_params(score_params, self, "score")
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        if _routing_enabled():
            params = dict(process_routing(self, "score", **score_params).scorer.score)
        else:
            sw = score_params.get("sample_weight")
            params = {} if sw is None else {"sample_weight": sw}
        return self._get_scorer()(self, X, y, **params)

    def get_metadata_routing(self) -> Any:
        """scikit-learn's metadata routing: sample_weight and extra fit parameters go to the
        splitter (``split``) and the scorer (``score``).

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRouter

        Examples
        --------
        >>> from fastlogit import LogisticRegressionCV
        >>> type(LogisticRegressionCV().get_metadata_routing()).__name__
        'MetadataRouter'
        """
        from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

        return (MetadataRouter(owner=self).add_self_request(self)
                .add(splitter=self.cv,  # type: ignore[attr-defined]
                     method_mapping=MethodMapping().add(caller="fit", callee="split"))
                .add(scorer=self._get_scorer(),
                     method_mapping=MethodMapping().add(caller="score", callee="score")
                     .add(caller="fit", callee="score")))
