"""The scikit-learn estimators: scikit-learn's own estimator checks, agreement with
scikit-learn's LogisticRegression, and use in Pipeline, GridSearchCV, clone and pickle."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastlogit  # noqa: E402
from fastlogit.sklearn import (  # noqa: E402
    BinomialRegressor,
    LogisticRegression,
    LogisticRegressionCV,
)

# Every check below fits a regressor to continuous targets (make_regression, or
# integer labels like [1, 2, 3]); BinomialRegressor's y is a proportion k/n in
# [0, 1] and anything else is refused with a ValueError. scikit-learn has no
# tag for a bounded target, so these checks are marked as expected failures
# here, and run in full on _UnitIntervalTargets below, which differs from
# BinomialRegressor only by squashing the check's targets into (0, 1).
_CONTINUOUS_Y = "fits continuous targets outside [0, 1]; BinomialRegressor's y is a proportion"
_BINOMIAL_EXPECTED_FAILURES = {name: _CONTINUOUS_Y for name in [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag", "check_estimators_dtypes",
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_predict1d",
    "check_fit_check_is_fitted", "check_fit_idempotent", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_n_features_in", "check_n_features_in_after_fitting",
    "check_non_transformer_estimators_n_iter", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_regressor_data_not_an_array",
    "check_regressors_int", "check_regressors_no_decision_function", "check_regressors_train",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data", "check_sample_weights_list",
    "check_sample_weights_not_an_array", "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series", "check_sample_weights_shape",
    "check_supervised_y_2d", "check_estimators_partial_fit_n_features",
]}
class _UnitIntervalTargets(BinomialRegressor):
    """BinomialRegressor with the checks' targets mapped into (0, 1) by a logistic squash."""

    @staticmethod
    def _squash(y):
        y = None if y is None else np.asarray(y)
        if y is not None and y.dtype.kind != "c":  # complex: let fit refuse it
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                return y  # not numbers: let fit refuse it
            # a fixed map (weights = repetitions still holds); NaN/inf stay invalid
            y = np.where(np.isfinite(y), 1.0 / (1.0 + np.exp(-y / 10.0)), y)
        return y

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, self._squash(y), sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        return super().partial_fit(X, self._squash(y), sample_weight)

    def score(self, X, y, sample_weight=None):
        return super().score(X, self._squash(y), sample_weight)


def _expected_failures(estimator):
    if type(estimator) is BinomialRegressor:
        return _BINOMIAL_EXPECTED_FAILURES
    return {}


@parametrize_with_checks(
    [LogisticRegression(), LogisticRegression(aggregate=True),
     LogisticRegressionCV(Cs=3, cv=3, n_jobs=1), BinomialRegressor(),
     _UnitIntervalTargets(), _UnitIntervalTargets(aggregate=True)],
    expected_failed_checks=_expected_failures, xfail_strict=True,
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ---------------------------------------------------------------------------
# agreement with scikit-learn


def _data(K, m=400, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    W = rng.normal(size=(p, K))
    y = np.argmax(X @ W + rng.gumbel(size=(m, K)), axis=1)
    return X, np.array(["ant", "bee", "cat", "dog"])[y]


@pytest.mark.parametrize("K", [2, 3, 4])
@pytest.mark.parametrize("sparse", [False, True])
def test_matches_sklearn_logistic_regression(K, sparse):
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    X, y = _data(K)
    Xf = sp.csr_matrix(X) if sparse else X
    s = np.random.default_rng(1).uniform(0.5, 2.0, size=X.shape[0])
    ours = LogisticRegression(C=0.3, tol=1e-10, class_weight="balanced", n_jobs=1)
    ours.fit(Xf, y, sample_weight=s)
    ref = SkLogisticRegression(C=0.3, tol=1e-10, max_iter=10000, class_weight="balanced")
    ref.fit(Xf, y, sample_weight=s)
    assert ours.coef_.shape == ref.coef_.shape and ours.intercept_.shape == ref.intercept_.shape
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(Xf), ref.predict_proba(Xf), atol=1e-6)
    np.testing.assert_allclose(ours.predict_log_proba(Xf), ref.predict_log_proba(Xf), atol=1e-5)
    np.testing.assert_allclose(ours.decision_function(Xf), ref.decision_function(Xf),
                               atol=1e-5)
    np.testing.assert_array_equal(ours.predict(Xf), ref.predict(Xf))
    assert ours.score(Xf, y) == pytest.approx(ref.score(Xf, y))
    assert ours.n_iter_.shape == (1,)


def test_lam_penalty_none_and_bad_parameters():
    X, y = _data(3)
    a = LogisticRegression(lam=2.0, tol=1e-10).fit(X, y)
    b = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        c = LogisticRegression(penalty=None, tol=1e-10).fit(X, y)
    d = LogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(c.coef_, d.coef_, atol=1e-6)
    assert np.abs(c.coef_).max() > np.abs(b.coef_).max()
    for bad, match in [(dict(C=2.0, lam=1.0), "C or lam"), (dict(C=-1.0), "'C' parameter"),
                       (dict(penalty="l3"), "'penalty' parameter"),
                       (dict(penalty="elasticnet", l1_ratio=None), "must be specified"),
                       (dict(l1_ratio=1.5), "'l1_ratio' parameter"),
                       (dict(dual=True), "dual=True"),
                       (dict(intercept_scaling=0.0), "'intercept_scaling' parameter")]:
        with pytest.raises(ValueError, match=match), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            LogisticRegression(**bad).fit(X, y)


@pytest.mark.parametrize(("penalty", "l1_ratio"), [("l1", None), ("elasticnet", 0.5),
                                                   ("deprecated", 0.3), ("deprecated", 1.0)])
@pytest.mark.filterwarnings("ignore:'penalty' was deprecated:FutureWarning")
@pytest.mark.filterwarnings("ignore:Inconsistent values:UserWarning")
def test_l1_and_elastic_net_match_sklearn_saga(penalty, l1_ratio):
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    X, y = _data(2, m=300, p=8, seed=4)
    X = np.column_stack([X, np.random.default_rng(5).normal(size=(300, 4))])  # 4 noise columns
    ours = LogisticRegression(penalty=penalty, l1_ratio=l1_ratio, C=0.05, tol=1e-10).fit(X, y)
    ratio = 1.0 if penalty == "l1" else l1_ratio
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogisticRegression(C=0.05, l1_ratio=ratio, solver="saga", tol=1e-12,
                                   max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=2e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=2e-5)
    assert np.count_nonzero(ours.coef_ == 0.0) >= 1  # exact zeros, not 1e-9
    np.testing.assert_array_equal(ours.coef_ == 0.0, np.abs(ref.coef_) < 1e-6)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.zeros(X.shape[0]))


def test_binomial_regressor_matches_core_fit_and_expanded_classifier():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    n = rng.integers(1, 8, size=50).astype(float)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-X @ [1.0, -1.0, 0.5]))).astype(float)
    reg = BinomialRegressor(alpha=0.01, tol=1e-10).fit(X, k / n, sample_weight=n)
    core = fastlogit.fit(X, n, k, lam=0.01 * n.sum(), pgtol=1e-10)
    np.testing.assert_allclose(reg.coef_, core.coef, atol=1e-7)
    np.testing.assert_allclose(reg.predict(X), core.predict_proba(X), atol=1e-7)
    # the same model as a classifier on the expanded 0/1 rows (C = 1 / lam)
    rows = np.repeat(np.arange(50), n.astype(int))
    labels = np.concatenate([np.r_[np.ones(int(kk)), np.zeros(int(nn - kk))]
                             for nn, kk in zip(n, k)])
    clf = LogisticRegression(C=1 / (0.01 * n.sum()), tol=1e-10).fit(X[rows], labels)
    np.testing.assert_allclose(clf.coef_[0], reg.coef_, atol=1e-6)
    lam = BinomialRegressor(lam=0.01 * n.sum(), tol=1e-10).fit(X, k / n, sample_weight=n)
    np.testing.assert_allclose(lam.coef_, reg.coef_, atol=1e-8)
    agg = BinomialRegressor(alpha=0.01, tol=1e-10, aggregate=True).fit(X, k / n, n)
    np.testing.assert_allclose(agg.coef_, reg.coef_, atol=1e-7)
    with pytest.raises(ValueError, match=r"proportion k/n in \[0, 1\]; sample 0 has y=3"):
        BinomialRegressor().fit(X, np.r_[3.0, np.zeros(49)])
    with pytest.raises(ValueError, match="number of trials n and must be >= 0; sample 1"):
        BinomialRegressor().fit(X, k / n, sample_weight=np.r_[1.0, -1.0, np.ones(48)])
    with pytest.raises(ValueError, match="alpha or lam"):
        BinomialRegressor(alpha=2.0, lam=1.0).fit(X, k / n)


@pytest.mark.parametrize("K", [2, 3])
def test_aggregate_option_gives_the_same_model(K):
    rng = np.random.default_rng(3)
    pool = (rng.random((20, 5)) < 0.4).astype(float)
    X = pool[rng.integers(0, 20, size=2000)]
    y = rng.integers(0, K, size=2000)
    plain = LogisticRegression(tol=1e-10).fit(X, y)
    agg = LogisticRegression(tol=1e-10, aggregate=True).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(agg.coef_, plain.coef_, atol=1e-7)
    np.testing.assert_allclose(agg.intercept_, plain.intercept_, atol=1e-7)


def test_warm_start_and_convergence_warning():
    X, y = _data(3, m=300)
    clf = LogisticRegression(tol=1e-10, warm_start=True).fit(X, y)
    first = clf.n_iter_[0]
    clf.fit(X, y)
    assert clf.n_iter_[0] < first
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        LogisticRegression(max_iter=1, tol=1e-12).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        LogisticRegression(max_iter=1, tol=1e-12).fit(X, y == "ant")


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _data(3, m=200, p=3)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = LogisticRegression().fit(df, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"] and clf.n_features_in_ == 3
    reg = BinomialRegressor().fit(df, (y == "ant").astype(float))
    assert list(reg.feature_names_in_) == ["a", "b", "c"]


def test_pipeline_grid_search_clone_pickle():
    X, y = _data(3, m=300)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    grid = GridSearchCV(pipe, {"logisticregression__C": [0.01, 1.0]}, cv=3).fit(X, y)
    assert grid.best_params_["logisticregression__C"] in (0.01, 1.0)
    assert grid.score(X, y) > 0.5
    clf = LogisticRegression(C=0.5).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "coef_")
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    reg = BinomialRegressor().fit(X, (y == "bee").astype(float))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    grid = GridSearchCV(BinomialRegressor(), {"alpha": [0.001, 0.1]}, cv=3)
    grid.fit(X, (y == "bee").astype(float))


def test_lazy_export_and_helpful_import_error():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import fastlogit\n"
        "fastlogit.fit_multinomial\n"
        "try:\n"
        "    fastlogit.LogisticRegression\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "pip install fastlogit[sklearn]" in out.stdout
    assert fastlogit.LogisticRegression is LogisticRegression
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fastlogit.nothing  # noqa: B018


def test_star_import_works_without_sklearn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from fastlogit import *\n"
            "import fastlogit; assert 'LogisticRegression' in dir(fastlogit)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
