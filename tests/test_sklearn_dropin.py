"""fastlogit's LogisticRegression and LogisticRegressionCV as drop-ins for scikit-learn's:
the constructor and its precedence rules, dtypes, warnings, max_iter=0, sparsify,
zero-weight classes, multiclass L1 and partial_fit, and the CV's choices against
scikit-learn's own."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from sklearn import linear_model  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastlogit  # noqa: E402
from fastlogit.sklearn import (  # noqa: E402
    BinomialRegressor,
    LogisticRegression,
    LogisticRegressionCV,
)


def _iris(standardise=True):
    X, y = load_iris(return_X_y=True)
    return (StandardScaler().fit_transform(X) if standardise else X), y


@pytest.mark.parametrize(("ours", "theirs"), [
    (LogisticRegression, linear_model.LogisticRegression),
    (LogisticRegressionCV, linear_model.LogisticRegressionCV),
])
def test_constructor_is_scikit_learns(ours, theirs):
    mine = inspect.signature(ours.__init__).parameters
    ref = inspect.signature(theirs.__init__).parameters
    for name, param in ref.items():
        assert name in mine, name
        assert mine[name].default == param.default or (
            mine[name].default is param.default), name
        assert mine[name].kind == param.kind, name
    extra = set(mine) - set(ref)
    assert extra <= {"lam", "aggregate"}
    # every parameter round-trips, so grids written for scikit-learn run unchanged
    est = ours(**{k: v.default for k, v in ref.items() if k != "self"})
    assert set(theirs().get_params()) <= set(est.get_params())


def _fit(**kw):
    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        return LogisticRegression(tol=1e-10, max_iter=1000, n_jobs=1, **kw).fit(X, y == 2)


def test_explicit_penalty_wins_over_l1_ratio_with_scikit_learns_warnings():
    X, y = _iris()
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"), \
            pytest.warns(UserWarning, match="Inconsistent values: penalty=l2"):
        ridge = LogisticRegression(penalty="l2", l1_ratio=0.5, tol=1e-10).fit(X, y == 2)
    np.testing.assert_allclose(ridge.coef_, _fit(l1_ratio=0.0).coef_, atol=1e-9)
    np.testing.assert_allclose(_fit(penalty="l1", l1_ratio=0.5).coef_,
                               _fit(l1_ratio=1.0).coef_, atol=1e-9)
    np.testing.assert_allclose(_fit(penalty="elasticnet", l1_ratio=0.5).coef_,
                               _fit(l1_ratio=0.5).coef_, atol=1e-9)
    with pytest.warns(UserWarning, match="Setting penalty=None will ignore the C"):
        none = LogisticRegression(penalty=None, C=0.01, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(none.coef_, _fit_multi(C=np.inf).coef_, rtol=1e-4)
    with pytest.warns(FutureWarning, match="'l1_ratio=None' was deprecated"):
        LogisticRegression(l1_ratio=None).fit(X, y)
    # a grid written for scikit-learn: every candidate fits (no NaN scores), l1 is lasso
    grid = GridSearchCV(LogisticRegression(solver="saga", n_jobs=1),
                        {"penalty": ["l1", "l2"], "l1_ratio": [0.5]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


def _fit_multi(**kw):
    X, y = _iris()
    return LogisticRegression(tol=1e-10, max_iter=1000, n_jobs=1, **kw).fit(X, y)


def test_parameters_without_effect_and_refused_options():
    X, y = _iris()
    base = _fit_multi()
    for kw in [dict(solver="newton-cholesky"), dict(solver="liblinear"),
               dict(intercept_scaling=100.0), dict(random_state=3), dict(solver="sag")]:
        np.testing.assert_array_equal(_fit_multi(**kw).coef_, base.coef_)
    with pytest.raises(ValueError, match="dual=True"):
        LogisticRegression(dual=True).fit(X, y)
    with pytest.raises(ValueError, match="'solver' parameter"):
        LogisticRegression(solver="fast").fit(X, y)


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_in_float32_out(K, sparse):
    X, y = _iris()
    y = y if K == 3 else y == 2
    X32 = X.astype(np.float32)
    X32 = sp.csr_matrix(X32) if sparse else X32
    clf = LogisticRegression(tol=1e-8).fit(X32, y)
    assert clf.coef_.dtype == clf.intercept_.dtype == np.float32
    for out in (clf.decision_function(X32), clf.predict_proba(X32),
                clf.predict_log_proba(X32)):
        assert out.dtype == np.float32
    ref = LogisticRegression(tol=1e-8).fit(X, y)
    assert ref.coef_.dtype == np.float64
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-4)
    assert clf.decision_function(X).dtype == np.float64  # float32 coef_, float64 X


def test_zero_weight_classes_fit_and_are_never_predicted():
    X, y = _iris()
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = LogisticRegression(class_weight={"versicolor": 0.0}).fit(X, labels)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert "versicolor" not in set(clf.predict(X))
    proba = clf.predict_proba(X)
    assert np.all(proba[:, 1] == 0.0) and np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.coef_[1], 0.0)
    # the same model as the (symmetric) multinomial fit without that class's rows
    keep = labels != "versicolor"
    two = fastlogit.fit_multinomial(X[keep], y=labels[keep], lam=1.0, pgtol=1e-10)
    ref = LogisticRegression(tol=1e-10, class_weight={"versicolor": 0.0}).fit(X, labels)
    np.testing.assert_allclose(ref.predict_proba(X)[:, [0, 2]], two.predict_proba(X),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"\['virginica'\]"):
        LogisticRegression(class_weight={"setosa": 0, "versicolor": 0}).fit(X, labels)


def test_convergence_warning_matches_scikit_learns_filters():
    X, y = _iris(standardise=False)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 2 iteration"):
        clf = LogisticRegression(max_iter=2, tol=1e-12).fit(X, y)
    assert clf.n_iter_.shape == (1,) and clf.n_iter_[0] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="lbfgs failed to converge")
        LogisticRegression(max_iter=2, tol=1e-12).fit(X, y)


def test_max_iter_zero_returns_the_starting_model():
    X, y = _iris()
    with pytest.warns(ConvergenceWarning, match="failed to converge after 0"):
        clf = LogisticRegression(max_iter=0).fit(X, y == 1)
    assert clf.n_iter_[0] == 0
    np.testing.assert_array_equal(clf.coef_, 0.0)
    np.testing.assert_allclose(clf.predict_proba(X), 0.5)
    warm = LogisticRegression(warm_start=True).fit(X, y)
    coef = warm.coef_.copy()
    warm.set_params(max_iter=0)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    np.testing.assert_array_equal(warm.coef_, coef)


def test_sparsify_and_densify_keep_predictions():
    X, y = _iris()
    clf = LogisticRegression(l1_ratio=1.0, C=0.1).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.count_nonzero(clf.coef_ == 0) > 0
    assert sp.issparse(clf.sparsify().coef_)
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-15)
    assert isinstance(clf.densify().coef_, np.ndarray)
    with pytest.raises(Exception, match="must be fitted"):
        LogisticRegression().sparsify()


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_multiclass_l1_and_elastic_net_match_saga(l1_ratio):
    X, y = _iris()
    ours = LogisticRegression(C=0.3, l1_ratio=l1_ratio, tol=1e-10, max_iter=1000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = linear_model.LogisticRegression(C=0.3, l1_ratio=l1_ratio, solver="saga",
                                              tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=2e-5)
    np.testing.assert_array_equal(ours.coef_ == 0.0, np.abs(ref.coef_) < 1e-6)


def test_multiclass_partial_fit_approaches_the_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 5))
    y = np.argmax(X @ rng.normal(size=(5, 3)) + rng.gumbel(size=(20000, 3)), axis=1)
    full = LogisticRegression(tol=1e-10).fit(X, y)
    clf = LogisticRegression()
    for rows in np.array_split(np.arange(20000), 10):  # one pass over a stream
        clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    assert np.abs(clf.coef_ - full.coef_).max() < 0.3
    assert clf.score(X, y) > full.score(X, y) - 0.01
    with pytest.raises(ValueError, match="4 features"):
        clf.partial_fit(X[:10, :4], y[:10])


def test_softmax_row_range_kernel_equals_the_full_kernel():
    from fastlogit._core import _softmax
    from fastlogit._input._validate import as_design

    rng = np.random.default_rng(1)
    X = sp.random(300, 20, density=0.3, format="csr", random_state=2)
    design = as_design(X, "X")
    labels = rng.integers(0, 4, size=300).astype(np.intp)
    w = rng.uniform(0.5, 2.0, size=300)
    W, b = rng.normal(size=20 * 4), rng.normal(size=4)
    g1, gb1, g2, gb2 = np.empty(80), np.empty(4), np.empty(80), np.empty(4)
    full = _softmax.softmax_loss_grad(*design.kernel_args, 4, None, labels, w, None, W, b,
                                      g1, gb1, 1)
    rows = _softmax.softmax_loss_grad_rows(*design.kernel_args, 4, None, labels, w, None, W,
                                           b, g2, gb2, 0, 300)
    assert full == rows
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(gb1, gb2)
    part = _softmax.softmax_loss_grad_rows(*design.kernel_args, 4, None, labels, w, None, W,
                                           b, g2, gb2, 100, 200)
    sub = as_design(X[100:200], "X")
    ref = _softmax.softmax_loss_grad(*sub.kernel_args, 4, None, labels[100:200], w[100:200],
                                     None, W, b, g1, gb1, 1)
    assert part == pytest.approx(ref, rel=1e-13)
    np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-12)


def test_binomial_regressor_score_is_d2():
    from sklearn.metrics import d2_log_loss_score

    X, y = _iris()
    y01 = (y == 2).astype(float)
    reg = BinomialRegressor(alpha=0.01).fit(X, y01)
    p = reg.predict(X)
    expected = d2_log_loss_score(y01, np.column_stack([1 - p, p]))
    assert reg.score(X, y01) == pytest.approx(expected, rel=1e-10)


def _sparse_problem():
    rng = np.random.default_rng(0)
    cats = rng.integers(0, 10, size=(400, 3))
    rows = np.repeat(np.arange(400), 3)
    X = sp.csr_matrix((np.ones(1200), (rows, (cats + [0, 10, 20]).ravel())), shape=(400, 30))
    y = (X @ rng.normal(size=30) + rng.logistic(size=400) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("case", ["iris", "breast_cancer", "sparse", "sparse_elastic_net"])
def test_cv_chooses_scikit_learns_c_and_l1_ratio(case):
    """The same folds, Cs and scores to 1e-6 as scikit-learn's LogisticRegressionCV. The
    grids stay where scikit-learn's solvers converge at tol=1e-10 (at very large C its
    lbfgs stops early on breast cancer, and saga's intercept lags at strong L1)."""
    kw = dict(l1_ratios=(0.0,), Cs=np.logspace(-3, 2, 8), cv=3)
    if case == "iris":
        X, y = load_iris(return_X_y=True)
    elif case == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        kw["Cs"] = np.logspace(-3, 1, 8)
    else:
        X, y = _sparse_problem()
        if case == "sparse_elastic_net":
            kw = dict(l1_ratios=(0.0, 0.5, 1.0), Cs=np.logspace(-1, 1, 3), solver="saga",
                      cv=3)
    common = dict(scoring="neg_log_loss", use_legacy_attributes=False, tol=1e-10, **kw)
    ours = LogisticRegressionCV(max_iter=1000, n_jobs=1, **common).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = linear_model.LogisticRegressionCV(max_iter=100_000, **common).fit(X, y)
    assert ours.C_ == ref.C_ and ours.l1_ratio_ == ref.l1_ratio_
    np.testing.assert_allclose(ours.scores_, ref.scores_, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours.Cs_, ref.Cs_)
    assert ours.coefs_paths_.shape == ref.coefs_paths_.shape
    assert ours.n_iter_.shape == ref.n_iter_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-4 * np.abs(ref.coef_).max())


@pytest.mark.parametrize("K", [2, 3])
def test_cv_legacy_attributes_and_refit_false(K):
    X, y = _iris()
    y = y if K == 3 else y == 2
    kw = dict(Cs=4, cv=3, l1_ratios=None, tol=1e-8, scoring="accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogisticRegressionCV(n_jobs=1, **kw).fit(X, y)
        ref = linear_model.LogisticRegressionCV(**kw).fit(X, y)
        ours_avg = LogisticRegressionCV(refit=False, n_jobs=1, **kw).fit(X, y)
    assert set(ours.scores_) == set(ref.scores_)
    for key in ref.scores_:
        assert ours.scores_[key].shape == ref.scores_[key].shape
        assert ours.coefs_paths_[key].shape == ref.coefs_paths_[key].shape
    assert ours.C_.shape == ref.C_.shape and ours.l1_ratio_.shape == ref.l1_ratio_.shape
    assert ours.n_iter_.shape == ref.n_iter_.shape
    np.testing.assert_array_equal(ours.l1_ratios_, ref.l1_ratios_)
    assert ours_avg.coef_.shape == ours.coef_.shape
    # the refit is LogisticRegression's fit at the chosen C
    single = LogisticRegression(C=float(ours.C_[0]), tol=1e-8, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, single.coef_)


def test_cv_lazy_export():
    assert fastlogit.LogisticRegressionCV is LogisticRegressionCV
    assert "LogisticRegressionCV" in dir(fastlogit)
