"""Inference on fitted models against statsmodels' GLM Binomial (R's conventions), finite
differences and direct formulas; the summary table, size limits and separation."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import xlogy

import fastlogit
from fastlogit.backend import _curvature

sm = pytest.importorskip("statsmodels.api")


def binomial_problem(seed, m=400, p=4, weights=True, offset=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p)) * rng.uniform(0.5, 3, size=p) + rng.normal(size=p)
    n = rng.integers(1, 25, size=m).astype(float)
    o = rng.normal(scale=0.3, size=m) if offset else None
    s = rng.integers(1, 4, size=m).astype(float) if weights else None
    beta = rng.normal(scale=0.4, size=p)
    z = (X - X.mean(0)) @ beta - 0.4 + (0 if o is None else o)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-z))).astype(float)
    return X, n, k, s, o


def statsmodels_fit(X, n, k, s=None, o=None, const=True, weights="freq"):
    exog = sm.add_constant(X, has_constant="add") if const else X
    kw = {} if s is None else {f"{weights}_weights": s}
    return sm.GLM(np.column_stack([k, n - k]), exog, family=sm.families.Binomial(), offset=o,
                  **kw).fit(tol=1e-14, maxiter=100)


def log_p(p):
    return np.log(np.maximum(p, 1e-300))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_matches_statsmodels(seed, solver):
    X, n, k, s, o = binomial_problem(seed, weights=seed % 2 == 0, offset=seed < 2)
    ref = statsmodels_fit(X, n, k, s, o)
    extra = dict(factr=1.0, pgtol=1e-12) if solver == "lbfgs" else {}
    res = fastlogit.fit(X, n, k, lam=0.0, sample_weight=s, offset=o, solver=solver, **extra)
    rtol = 1e-6
    np.testing.assert_allclose(res.params, ref.params, rtol=rtol)
    np.testing.assert_allclose(res.cov_params(), ref.cov_params(), rtol=rtol,
                               atol=rtol * np.abs(ref.cov_params()).max())
    np.testing.assert_allclose(res.bse, ref.bse, rtol=rtol)
    np.testing.assert_allclose(res.zvalues, ref.tvalues, rtol=rtol)
    np.testing.assert_allclose(res.tvalues, ref.tvalues, rtol=rtol)
    # tiny p-values amplify relative errors by |z|^2: compare their logarithms
    np.testing.assert_allclose(log_p(res.pvalues), log_p(ref.pvalues), rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(res.conf_int(), ref.conf_int(), rtol=rtol, atol=1e-9)
    np.testing.assert_allclose(res.conf_int(0.1), ref.conf_int(0.1), rtol=rtol, atol=1e-9)
    for mine, theirs in [("deviance", "deviance"), ("null_deviance", "null_deviance"),
                         ("aic", "aic"), ("loglik", "llf")]:
        assert getattr(res, mine) == pytest.approx(getattr(ref, theirs), rel=1e-9), mine
    # not stationary at the optimum: first-order in the coefficients' last digits
    assert res.pearson_chi2 == pytest.approx(ref.pearson_chi2, rel=1e-7)
    assert res.df_model == ref.df_model
    if s is None:  # with frequency weights statsmodels counts sum(s) observations, R rows
        assert res.nobs == ref.nobs and res.df_resid == ref.df_resid
        assert res.bic == pytest.approx(ref.bic_llf, rel=1e-9)  # R's BIC
    # R's BIC, for any weights: -2 loglik + log(rows with trials) * parameters
    assert res.bic == pytest.approx(-2 * ref.llf + np.log(np.count_nonzero(n)) * 5, rel=1e-9)


def test_residuals_match_statsmodels():
    # residuals with weights: statsmodels' var_weights are R's prior weights
    X, n, k, s, o = binomial_problem(4)
    res = fastlogit.fit(X, n, k, lam=0.0, sample_weight=s, offset=o, solver="newton")
    ref = statsmodels_fit(X, n, k, s, o, weights="var")
    np.testing.assert_allclose(res.resid_pearson, ref.resid_pearson, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(res.resid_deviance, ref.resid_deviance, rtol=1e-7, atol=1e-12)
    # statsmodels reports n * (k/n - p); R (and fastlogit) k/n - p
    np.testing.assert_allclose(res.resid_response, ref.resid_response / n, rtol=1e-7,
                               atol=1e-12)
    np.testing.assert_array_equal(res.residuals(), res.resid_deviance)
    np.testing.assert_array_equal(res.residuals("pearson"), res.resid_pearson)
    np.testing.assert_array_equal(res.residuals("response"), res.resid_response)
    assert res.pearson_chi2 == pytest.approx(np.sum(res.resid_pearson ** 2), rel=1e-14)
    assert res.deviance == pytest.approx(np.sum(res.resid_deviance ** 2), rel=1e-10)
    with pytest.raises(ValueError, match="kind must be one of"):
        res.residuals("working")


def test_deviance_residuals_accurate_for_well_fitted_rows():
    # a row whose fitted proportion is within 1e-6 of k/n: against mpmath
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    from fastlogit._core._special import unit_deviances

    z = np.array([np.log(2.0) + 1e-6, -40.0, 35.0, 0.3])
    n, k = np.array([3.0, 5.0, 4.0, 0.0]), np.array([2.0, 0.0, 4.0, 0.0])
    got = unit_deviances(n, k, np.ones(4), z)
    for i in range(3):
        p = 1 / (1 + mp.exp(-mp.mpf(z[i])))
        ni, ki = mp.mpf(n[i]), mp.mpf(k[i])
        ref = 2 * ((ki * mp.log(ki / (ni * p)) if ki else 0)
                   + ((ni - ki) * mp.log((ni - ki) / (ni * (1 - p))) if ni > ki else 0))
        assert got[i] == pytest.approx(float(ref), rel=1e-9)
    assert got[3] == 0.0


def test_star98_real_data():
    # a binomial data set shipped inside statsmodels: raw, badly scaled columns
    data = sm.datasets.star98.load_pandas()
    k = data.endog["NABOVE"].to_numpy(float)
    n = k + data.endog["NBELOW"].to_numpy(float)
    ref = sm.GLM(data.endog[["NABOVE", "NBELOW"]], sm.add_constant(data.exog),
                 family=sm.families.Binomial()).fit(tol=1e-14)
    res = fastlogit.fit(data.exog, n, k, lam=0.0, solver="newton")
    assert res.converged and res.n_iter <= 8
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-7)
    np.testing.assert_allclose(res.conf_int(), ref.conf_int(), rtol=1e-7)
    np.testing.assert_allclose(log_p(res.pvalues), log_p(ref.pvalues), rtol=1e-6)
    for mine, theirs in [("deviance", "deviance"), ("null_deviance", "null_deviance"),
                         ("aic", "aic"), ("loglik", "llf"), ("bic", "bic_llf"),
                         ("pearson_chi2", "pearson_chi2")]:
        assert getattr(res, mine) == pytest.approx(getattr(ref, theirs), rel=1e-9), mine
    assert res.param_names == ("Intercept", *data.exog.columns)
    table = str(res.summary())
    assert "PERSPEN_PTRATIO_PCTAF" in table and "Null deviance" in table


def test_no_intercept_follows_r():
    X, n, k, _, o = binomial_problem(5, p=3, weights=False)
    ref = statsmodels_fit(X, n, k, None, o, const=False)
    res = fastlogit.fit(X, n, k, lam=0.0, offset=o, fit_intercept=False, solver="newton")
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-9)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-7)
    assert res.cov_params().shape == (3, 3) and res.param_names == ("x0", "x1", "x2")
    assert res.aic == pytest.approx(ref.aic, rel=1e-10) and res.df_resid == ref.df_resid
    # R's null model without an intercept is the offset alone (statsmodels fits an intercept)
    p0 = 1 / (1 + np.exp(-o))
    null = 2 * np.sum(xlogy(k, k / (n * p0)) + xlogy(n - k, (n - k) / (n * (1 - p0))))
    assert res.null_deviance == pytest.approx(null, rel=1e-10)


def test_null_deviance_is_the_intercept_only_fit():
    # property: the null deviance is the deviance of fitting no features (with the offset)
    X, n, k, s, o = binomial_problem(6)
    res = fastlogit.fit(X, n, k, lam=0.0, sample_weight=s, offset=o, solver="newton")
    null = fastlogit.fit(np.zeros((len(n), 0)), n, k, lam=0.0, sample_weight=s, offset=o,
                         solver="newton")
    assert res.null_deviance == pytest.approx(null.deviance, rel=1e-12)
    # no failures at all: the null model fits every row
    allk = fastlogit.fit(X, n, n, lam=1.0, offset=o)
    assert allk.null_deviance == 0.0


def test_penalised_covariance_is_the_inverse_penalised_hessian():
    # reference: central differences of the penalised gradient, inverted by numpy
    X, n, k, s, o = binomial_problem(7, p=3)
    lam = 25.0
    res = fastlogit.fit(X, n, k, lam=lam, sample_weight=s, offset=o, solver="newton")

    def grad(theta):
        z = X @ theta[1:] + theta[0] + o
        r = s * (n / (1 + np.exp(-z)) - k)
        return np.r_[r.sum(), X.T @ r + lam * theta[1:]]

    h = 1e-6
    H = np.column_stack([(grad(res.params + h * e) - grad(res.params - h * e)) / (2 * h)
                         for e in np.eye(4)])
    np.testing.assert_allclose(res.cov_params(), np.linalg.inv(H), rtol=1e-6)
    unpen = fastlogit.fit(X, n, k, lam=0.0, sample_weight=s, offset=o, solver="newton")
    assert np.all(res.bse[1:] < unpen.bse[1:])  # the prior adds information
    table = str(res.summary())
    assert "lam=25" in table and "posterior" in table


def test_cov_params_read_only_cached_and_thread_independent():
    X, n, k, s, o = binomial_problem(8, m=3000, p=6)
    one = fastlogit.fit(sp.csr_matrix(X), n, k, lam=0.0, solver="newton", threads=1)
    two = fastlogit.fit(X, n, k, lam=0.0, solver="newton", threads=2)
    cov = one.cov_params()
    assert cov is one.cov_params() and not cov.flags.writeable
    np.testing.assert_allclose(cov, two.cov_params(), rtol=1e-9)


def test_summary_table():
    pd = pytest.importorskip("pandas")
    X, n, k, _, _ = binomial_problem(9, p=2, weights=False, offset=False)
    df = pd.DataFrame(X, columns=["dose", "a_rather_long_feature_name_" * 3])
    res = fastlogit.fit(df, n, k, lam=0.0, solver="newton")
    summary = res.summary(alpha=0.1)
    text = str(summary)
    assert text == repr(summary)
    for word in ("Binomial logistic regression", "Observations", "Deviance", "AIC", "BIC",
                 "Iterations", "Converged", "std err", "P>|z|", "[0.05", "0.95]", "Intercept",
                 "dose", "a_rather_long_feature_name_a_..."):
        assert word in text, word
    frame = summary.to_frame()
    assert list(frame.index) == ["Intercept", "dose", df.columns[1]]
    np.testing.assert_allclose(frame["std err"], res.bse)
    np.testing.assert_allclose(frame.iloc[:, 4:], res.conf_int(0.1))
    named = fastlogit.fit(X, n, k, lam=0.0, feature_names=["u", "v"], solver="newton")
    assert named.param_names == ("Intercept", "u", "v")
    with pytest.warns(fastlogit.ConvergenceWarning):
        unconverged = fastlogit.fit(X, n, k, lam=0.0, max_iter=1, solver="newton")
    assert "did not converge" in str(unconverged.summary())


def test_bad_arguments():
    X, n, k, _, _ = binomial_problem(10, p=2, weights=False, offset=False)
    res = fastlogit.fit(X, n, k, solver="newton")
    for alpha in (0.0, 1.0, -0.1, 2.0):
        with pytest.raises(ValueError, match="alpha must be in"):
            res.conf_int(alpha)


def test_wide_sparse_inference_names_the_memory_it_would_need():
    p = 12_000  # a 12001 x 12001 Hessian: 1.15 GB, above the 1 GiB limit
    rng = np.random.default_rng(11)
    X = sp.random(200, p, density=0.002, format="csr", random_state=rng)
    n = np.full(200, 5.0)
    k = rng.binomial(5, 0.3, size=200).astype(float)
    with warnings.catch_warnings():  # a few iterations are enough to have a result
        warnings.simplefilter("ignore", fastlogit.ConvergenceWarning)
        res = fastlogit.fit(X, n, k, lam=1.0, max_iter=3)
    assert res.coef.shape == (p,)
    with pytest.raises(ValueError, match=r"12001 x 12001 Hessian.*1\.2 GB.*limit of 1\.1 GB"):
        _ = res.bse
    with pytest.raises(ValueError, match="MAX_HESSIAN_BYTES"):
        res.summary()
    assert _curvature.hessian_nbytes(12_001) > _curvature.MAX_HESSIAN_BYTES


def test_singular_hessian_is_a_clear_error():
    X, n, k, _, _ = binomial_problem(12, p=2, weights=False, offset=False)
    X = np.column_stack([X, np.zeros(len(n))])  # a column of zeros, unpenalised
    res = fastlogit.fit(X, n, k, lam=0.0, solver="newton")
    with pytest.raises(ValueError, match="singular"):
        res.cov_params()
    ok = fastlogit.fit(X, n, k, lam=1.0, solver="newton")  # the penalty makes it regular
    assert np.isfinite(ok.bse).all()


def test_separation_warns_like_r_and_names_the_feature():
    X = np.array([[-2.0, 0.3], [-1.0, -0.2], [-0.5, 0.1], [0.5, 0.4], [1.0, -0.3], [2.0, 0.0]])
    y = np.array([0, 0, 0, 1, 1, 1.0])
    for solver in ("newton", "lbfgs"):
        with pytest.warns(fastlogit.SeparationWarning,
                          match=r"fitted probabilities numerically 0 or 1.*dose"):
            fastlogit.fit(X, y=y, lam=0.0, solver=solver, feature_names=["dose", "noise"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastlogit.fit(X, y=y, lam=1.0, solver="newton")  # penalised: a finite optimum
        Xo, n, k, _, _ = binomial_problem(13, p=2, weights=False, offset=False)
        fastlogit.fit(Xo, n, k, lam=0.0, solver="newton")  # ordinary data: no warning


def test_quasi_separation_names_the_rare_indicator():
    rng = np.random.default_rng(14)
    X = np.column_stack([rng.normal(size=2000), (rng.random(2000) < 0.01).astype(float)])
    n = np.full(2000, 5.0)
    k = rng.binomial(5, 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    k[X[:, 1] == 1] = 0  # every trial with the indicator fails
    with pytest.warns(fastlogit.SeparationWarning, match=r"x1 \(coef -"):
        fastlogit.fit(X, n, k, lam=0.0, solver="newton")


def test_without_training_data():
    X, n, k, _, _ = binomial_problem(15, p=2, weights=False, offset=False)
    res = fastlogit.fit(X, n, k, solver="newton")
    bare = fastlogit.LogitResult(**{f: getattr(res, f) for f in (
        "coef", "intercept", "objective", "grad_norm", "n_iter", "n_fev", "converged",
        "message", "solver", "settings", "n_rows", "n_features")})
    with pytest.raises(ValueError, match="no training data"):
        _ = bare.bse
    np.testing.assert_array_equal(bare.params, res.params)
