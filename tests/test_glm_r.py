"""fastlogit.glm against R: glm, summary.glm, sandwich, anova/drop1, car, MASS, brglm2.

The references are tests/fixtures/r_glm.json (made by scripts/make_glm_fixtures.py);
when Rscript is installed the same script also runs live and its fresh output must
equal the stored one. Coefficients are compared to 1e-8, standard errors and statistics
to 1e-6 (relative).
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")

import fastlogit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "r_glm.json"
COEF = dict(rtol=1e-8, atol=1e-10)
STAT = dict(rtol=1e-6, atol=1e-9)


def _live_r(tmp_dir: Path) -> dict:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed: the stored R fixtures are checked instead")
    pytest.importorskip("statsmodels")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from make_glm_fixtures import run_r
    finally:
        sys.path.pop(0)
    try:
        return run_r(tmp_dir / "r_glm.json")
    except Exception as exc:  # missing R packages
        pytest.skip(f"the R reference script failed (R packages missing?): {exc}")


@pytest.fixture(scope="module")
def refs():
    with open(FIXTURE) as fh:
        return json.load(fh)


def _close(a, b, path):
    """Every number of a (live R) equals b's (the stored fixture), recursively."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for key in a:
            if key != "versions":
                _close(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-8, abs=1e-12), path
    else:
        assert a == b, path


def test_stored_fixture_is_what_r_computes_now(refs, tmp_path):
    """The checks below use the stored fixture; here it is recomputed by R, when installed."""
    _close(_live_r(tmp_path), refs, "")


def frame(columns: dict, levels: dict) -> pd.DataFrame:
    df = pd.DataFrame({k: [np.nan if v is None else v for v in vals]
                       for k, vals in columns.items()})
    for name, lev in levels.items():
        if name in df:
            df[name] = pd.Categorical(df[name], categories=lev)
    return df


def nan(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def check_fit(m, ref, coef=True):
    if coef:
        np.testing.assert_allclose(m.params.to_numpy(), nan(ref["coef"]), **COEF)
    np.testing.assert_allclose(m.bse.to_numpy(), nan(ref["se"]), **STAT)
    np.testing.assert_allclose(m.tvalues.to_numpy(), nan(ref["stat"]), **STAT)
    np.testing.assert_allclose(m.pvalues.to_numpy(), nan(ref["p"]), rtol=1e-6, atol=1e-14)
    assert m.deviance == pytest.approx(ref["deviance"], rel=1e-9, abs=1e-9)
    assert m.null_deviance == pytest.approx(ref["null_deviance"], rel=1e-9)
    assert m.df_resid == ref["df_residual"]
    assert m.nobs == ref["nobs"]
    assert m.dispersion == pytest.approx(ref["dispersion"], rel=1e-6)
    assert m.pearson_chi2 == pytest.approx(ref["pearson"], rel=1e-6)
    if ref.get("aic") is not None:
        assert m.aic == pytest.approx(ref["aic"], rel=1e-9)
        assert m.llf == pytest.approx(ref["loglik"], rel=1e-9)
    else:
        assert np.isnan(m.aic)
    np.testing.assert_allclose(m.fittedvalues.to_numpy(), ref["fitted"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(m.resid_deviance.to_numpy(), ref["resid_deviance"],
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(m.resid_pearson.to_numpy(), ref["resid_pearson"],
                               rtol=1e-6, atol=1e-9)
    if ref.get("hat") is not None:
        np.testing.assert_allclose(m.hatvalues.to_numpy(), ref["hat"], rtol=1e-6, atol=1e-12)


def check_robust(m, robust, groups=None):
    for cov_type, se in robust.items():
        other = m.with_cov(cov_type, groups=groups if cov_type == "cluster" else None)
        np.testing.assert_allclose(other.bse.to_numpy(), nan(se), **STAT, err_msg=cov_type)


# -- esoph ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def esoph(refs):
    r = refs["esoph"]
    return r, frame(r["data"], r["levels"])


def test_esoph_factors_and_missing_rows(esoph):
    r, df = esoph
    m = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp + tobgp", df)
    assert m.n_dropped == r["main"]["n_dropped"] == 1
    check_fit(m, r["main"])
    assert list(m.params.index[:2]) == ["Intercept", "agegp[T.35-44]"]
    check_robust(m, r["main"]["robust"], groups=df["agegp"])


def test_esoph_interaction_offset_and_comparisons(esoph):
    r, df = esoph
    m1 = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp + tobgp", df)
    m2 = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp * tobgp", df)
    m4 = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp", df)
    check_fit(m2, r["interaction"])
    check_fit(fastlogit.glm("cbind(ncases, ncontrols) ~ alcgp + tobgp + offset(0.3 * agenum)",
                            df), r["offset"])
    for table, ref in ((fastlogit.anova(m1, m2, test="Chisq"), r["anova"]),
                       (fastlogit.anova(m4, m1, m2, test="Chisq"), r["anova3"])):
        np.testing.assert_array_equal(table["Resid. Df"], ref["resid_df"])
        np.testing.assert_allclose(table["Resid. Dev"], ref["resid_dev"], rtol=1e-9)
        np.testing.assert_allclose(table["Deviance"], nan(ref["deviance"]), rtol=1e-7)
        np.testing.assert_allclose(table["Pr(>Chi)"], nan(ref["p"]), rtol=1e-6)
    seq = fastlogit.anova(m2, test="Chisq")
    ref = r["anova_sequential"]
    assert list(seq.index) == ref["terms"]
    np.testing.assert_allclose(seq["Df"], nan(ref["df"]))
    np.testing.assert_allclose(seq["Deviance"], nan(ref["deviance"]), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(seq["Resid. Df"], ref["resid_df"])
    np.testing.assert_allclose(seq["Resid. Dev"], ref["resid_dev"], rtol=1e-9)
    np.testing.assert_allclose(seq["Pr(>Chi)"], nan(ref["p"]), rtol=1e-6)
    for model, ref in ((m1, r["drop1"]), (m2, r["drop1_interaction"])):
        d = fastlogit.drop1(model, test="Chisq")
        assert list(d.index) == ["<none>"] + [t for t in ref["terms"][1:]]
        np.testing.assert_allclose(d["Df"], nan(ref["df"]))
        np.testing.assert_allclose(d["Deviance"], ref["deviance"], rtol=1e-9)
        np.testing.assert_allclose(d["AIC"], ref["aic"], rtol=1e-9)
        np.testing.assert_allclose(d["LRT"], nan(ref["stat"]), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(d["Pr(>Chi)"], nan(ref["p"]), rtol=1e-6)


def test_esoph_wald_hypotheses_strings_and_matrix(esoph):
    r, df = esoph
    m = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp + tobgp", df)
    hyp = ["alcgp[T.40-79] = alcgp[T.80-119]", "`tobgp[T.30+]` = 0"]
    w = fastlogit.wald_test(m, hyp)
    assert w.statistic == pytest.approx(r["wald"]["chisq"], rel=1e-6)
    assert w.df == r["wald"]["df"] == 2
    assert w.pvalue == pytest.approx(r["wald"]["p"], rel=1e-6)
    f = fastlogit.wald_test(m, hyp, test="F")
    assert f.statistic == pytest.approx(r["wald"]["F"], rel=1e-6)
    assert f.pvalue == pytest.approx(r["wald"]["p_F"], rel=1e-6)
    names = list(m.param_names)
    L = np.zeros((2, len(names)))
    L[0, names.index("alcgp[T.40-79]")], L[0, names.index("alcgp[T.80-119]")] = 1, -1
    L[1, names.index("tobgp[T.30+]")] = 1
    assert fastlogit.wald_test(m, L).statistic == pytest.approx(w.statistic, rel=1e-12)
    with pytest.raises(ValueError, match="unknown coefficient"):
        fastlogit.wald_test(m, "alcgp[T.9] = 0")


def test_esoph_predict_se_fit(esoph):
    r, df = esoph
    m = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp + tobgp", df)
    new = pd.DataFrame(r["newdata"])
    link = m.predict(new, type="link", se_fit=True)
    np.testing.assert_allclose(link["fit"], r["predict_link"]["fit"], rtol=1e-8)
    np.testing.assert_allclose(link["se_fit"], r["predict_link"]["se"], rtol=1e-6)
    resp = m.predict(new, type="response", se_fit=True)
    np.testing.assert_allclose(resp["fit"], r["predict_response"]["fit"], rtol=1e-8)
    np.testing.assert_allclose(resp["se_fit"], r["predict_response"]["se"], rtol=1e-6)
    z = 1.959963984540054
    np.testing.assert_allclose(resp["lower"], 1 / (1 + np.exp(-(link["fit"] - z * link["se_fit"]))))
    assert ((resp["lower"] < resp["fit"]) & (resp["fit"] < resp["upper"])).all()


def test_esoph_profile_intervals(esoph):
    r, df = esoph
    m = fastlogit.glm("cbind(ncases, ncontrols) ~ agegp + alcgp", df)
    ci = m.conf_int(method="profile")
    np.testing.assert_allclose(ci.iloc[:, 0], r["profile_exact"]["lower"], rtol=1e-6)
    np.testing.assert_allclose(ci.iloc[:, 1], r["profile_exact"]["upper"], rtol=1e-6)
    # MASS interpolates a spline through a grid of the profile: close, not exact
    np.testing.assert_allclose(ci.iloc[:, 0], r["profile_mass"]["lower"], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(ci.iloc[:, 1], r["profile_mass"]["upper"], rtol=2e-3, atol=2e-3)
    assert list(ci.columns) == ["2.5 %", "97.5 %"]


# -- UCBAdmissions, Titanic, cbpp, star98 -------------------------------------------------------

def test_ucb_counts_proportions_quasi(refs):
    r = refs["ucb"]
    df = frame(r["data"], r["levels"])
    m = fastlogit.glm("cbind(Admitted, Rejected) ~ Gender + Dept", df)
    check_fit(m, r["counts"])
    check_robust(m, r["counts"]["robust"], groups=df["Dept"])
    check_fit(fastlogit.glm("Admitted / total ~ Gender + Dept", df, weights="total"),
              r["proportions"])
    q = fastlogit.glm("cbind(Admitted, Rejected) ~ Gender + Dept", df, family="quasibinomial")
    check_fit(q, r["quasi"])
    check_robust(q, r["quasi"]["robust"])
    q0 = fastlogit.glm("cbind(Admitted, Rejected) ~ Dept", df, family="quasibinomial")
    a = fastlogit.anova(q0, q, test="F")
    np.testing.assert_allclose(a["F"], nan(r["anova_f"]["stat"]), rtol=1e-6)
    np.testing.assert_allclose(a["Pr(>F)"], nan(r["anova_f"]["p"]), rtol=1e-6)
    seq = fastlogit.anova(q, test="F")
    ref = r["anova_sequential_f"]
    assert list(seq.index) == ref["terms"]
    np.testing.assert_allclose(seq["Resid. Dev"], ref["resid_dev"], rtol=1e-9)
    np.testing.assert_allclose(seq["F"], nan(ref["stat"]), rtol=1e-6)
    np.testing.assert_allclose(seq["Pr(>F)"], nan(ref["p"]), rtol=1e-6)
    d = fastlogit.drop1(q, test="F")
    np.testing.assert_allclose(d["Deviance"], r["drop1_f"]["deviance"], rtol=1e-9)
    np.testing.assert_allclose(d["F value"], nan(r["drop1_f"]["stat"]), rtol=1e-6)
    np.testing.assert_allclose(d["Pr(>F)"], nan(r["drop1_f"]["p"]), rtol=1e-6)
    ci = q.conf_int(method="profile")
    np.testing.assert_allclose(ci.iloc[:, 0], r["profile_exact"]["lower"], rtol=1e-6)
    np.testing.assert_allclose(ci.iloc[:, 1], r["profile_exact"]["upper"], rtol=1e-6)


def test_titanic_zero_trial_cells_and_frequency_weights(refs):
    r = refs["titanic"]
    wide = frame(r["wide"], r["levels"])
    m = fastlogit.glm("cbind(Yes, No) ~ Class + Sex + Age", wide)
    check_fit(m, r["counts"])
    check_robust(m, r["counts"]["robust"])
    long = frame(r["long"], r["levels"])
    w = fastlogit.glm("Survived ~ Class + Sex * Age", long, weights="Freq")
    check_fit(w, r["weighted"])


def test_cbpp_cluster_quasi_profile_predict(refs):
    r = refs["cbpp"]
    df = frame(r["data"], r["levels"])
    m = fastlogit.glm("cbind(incidence, size - incidence) ~ period", df)
    check_fit(m, r["main"])
    check_robust(m, r["main"]["robust"], groups=df["herd"])
    np.testing.assert_allclose(m.with_cov("cluster", groups="herd").bse,
                               r["main"]["robust"]["cluster"], **STAT)
    q = fastlogit.glm("cbind(incidence, size - incidence) ~ period", df,
                      family="quasibinomial", cov_type="cluster", groups="herd")
    np.testing.assert_allclose(q.bse, r["quasi"]["robust"]["cluster"], **STAT)
    check_fit(q.with_cov("nonrobust"), r["quasi"])
    ci = m.conf_int(method="profile")
    np.testing.assert_allclose(ci.iloc[:, 0], r["profile_exact"]["lower"], rtol=1e-6)
    np.testing.assert_allclose(ci.iloc[:, 1], r["profile_exact"]["upper"], rtol=1e-6)
    new = pd.DataFrame({"period": pd.Categorical(["1", "4"], categories=["1", "2", "3", "4"])})
    p = m.predict(new, se_fit=True)
    np.testing.assert_allclose(p["fit"], r["predict_response"]["fit"], rtol=1e-8)
    np.testing.assert_allclose(p["se_fit"], r["predict_response"]["se"], rtol=1e-6)


def test_star98_overdispersed(refs):
    sm = pytest.importorskip("statsmodels.api")
    r = refs["star98"]
    df = sm.datasets.star98.load_pandas().data
    formula = ("cbind(NABOVE, NBELOW) ~ LOWINC + PERASIAN + PERBLACK + PERHISP + PCTCHRT + "
               "PCTYRRND + PERMINTE * AVYRSEXP")
    m = fastlogit.glm(formula, df)
    check_fit(m, r["main"])
    check_robust(m, r["main"]["robust"])
    q = fastlogit.glm(formula, df, family="quasibinomial")
    check_fit(q, r["quasi"])
    assert q.dispersion > 10  # Pearson chi2 / df: SEs several times the binomial ones
    assert "t value" in str(q.summary())


def test_aliased_columns_are_nan_like_r(refs):
    r = refs["aliased"]
    df = frame(r["data"], r["levels"])
    with pytest.warns(UserWarning, match="x3"):
        m = fastlogit.glm("y ~ x1 + x2 + x3 + g", df)
    check_fit(m, r["main"])
    assert np.isnan(m.params["x3"]) and m.rank == 5
    assert "1 not defined because of singularities" in str(m.summary())
    assert m.cov_params().loc["x3"].isna().all()


def test_firth_matches_brglm2(refs):
    r = refs["firth"]
    endo = pd.DataFrame(r["endometrial"])
    m = fastlogit.glm("HG ~ NV + PI + EH", endo, method="firth")
    np.testing.assert_allclose(m.params, r["endometrial_fit"]["coef"], **COEF)
    np.testing.assert_allclose(m.bse, r["endometrial_fit"]["se"], **STAT)
    assert m.deviance == pytest.approx(r["endometrial_fit"]["deviance"], rel=1e-9)
    sep = pd.DataFrame(r["separated"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # finite: no separation warning
        f = fastlogit.glm("cbind(k, n - k) ~ x", sep, method="firth")
    np.testing.assert_allclose(f.params, r["separated_fit"]["coef"], **COEF)
    np.testing.assert_allclose(f.bse, r["separated_fit"]["se"], **STAT)
    # the same through the array API
    a = fastlogit.fit(sep[["x"]].to_numpy(float), sep["n"], sep["k"], method="firth")
    np.testing.assert_allclose(a.params, r["separated_fit"]["coef"], **COEF)
