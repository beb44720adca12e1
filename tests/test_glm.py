"""Properties of fastlogit.glm: the formula layer equals the array fit, factors stay sparse,
missing values, new data, names, errors. (R references: test_glm_r.py.)"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")

import fastlogit  # noqa: E402
from fastlogit.formula import _bigfactor  # noqa: E402
from fastlogit.formula import _result as _glm_result  # noqa: E402


def table(m=400, seed=0, levels=4):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, levels, m)
    df = pd.DataFrame({
        "x": rng.normal(size=m),
        "z": rng.uniform(1, 3, size=m),
        "g": pd.Categorical([f"l{i}" for i in g], categories=[f"l{i}" for i in range(levels)]),
        "h": rng.choice(["u", "v"], size=m),
        "n": rng.integers(1, 8, size=m),
    })
    eta = 0.3 * df.x - 0.2 * (g % 4) + 0.5 * (df.h == "v")
    df["k"] = rng.binomial(df.n, 1 / (1 + np.exp(-eta)))
    df["f"] = df.n - df.k
    df["cl"] = rng.integers(0, 25, size=m)
    return df


def test_formula_fit_equals_array_fit_on_the_same_design():
    df = table()
    m = fastlogit.glm("cbind(k, f) ~ x + np.log(z) + g * h", df)
    g = df.g.cat.codes.to_numpy()
    v = (df.h == "v").to_numpy(float)
    cols = [df.x, np.log(df.z)] + [(g == j).astype(float) for j in (1, 2, 3)] + [v]
    cols += [(g == j) * v for j in (1, 2, 3)]
    X = np.column_stack(cols)
    a = fastlogit.fit(X, df.n, df.k, lam=0.0, solver="newton")
    np.testing.assert_allclose(m.params.to_numpy(), a.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.bse.to_numpy(), a.bse, rtol=1e-9)
    assert m.deviance == pytest.approx(a.deviance, rel=1e-12)
    assert list(m.params.index) == [
        "Intercept", "x", "np.log(z)", "g[T.l1]", "g[T.l2]", "g[T.l3]", "h[T.v]",
        "g[T.l1]:h[T.v]", "g[T.l2]:h[T.v]", "g[T.l3]:h[T.v]"]
    # the response as proportions with weights, and as 0/1 rows, give the same fit
    df["prop"] = df.k / df.n
    p = fastlogit.glm("prop ~ x + np.log(z) + g * h", df, weights="n")
    np.testing.assert_allclose(p.params, m.params, rtol=1e-9, atol=1e-12)
    assert p.aic == pytest.approx(m.aic, rel=1e-12)


def test_responses_logical_two_level_and_no_intercept():
    df = table(seed=1)
    df["y"] = df.k > df.f
    df["ys"] = np.where(df.y, "yes", "no")
    a = fastlogit.glm("y ~ x + g", df)
    b = fastlogit.glm("ys ~ x + g", df)  # "no" < "yes": "no" is the failure, as in R
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    c = fastlogit.glm("y ~ 0 + g + x", df)  # full dummy coding of the first factor
    assert list(c.params.index[:4]) == ["g[l0]", "g[l1]", "g[l2]", "g[l3]"]
    assert c.deviance == pytest.approx(a.deviance, rel=1e-10)
    with pytest.raises(ValueError, match="3 levels"):
        fastlogit.glm("tri ~ x", df.assign(tri=np.resize(["a", "b", "c"], len(df))))
    with pytest.raises(ValueError, match=r"0/1 values or proportions"):
        fastlogit.glm("k ~ x", df)


def test_missing_values_omitted_and_counted_or_refused():
    df = table(seed=2)
    df.loc[[3, 10], "x"] = np.nan
    df.loc[20, "g"] = np.nan
    m = fastlogit.glm("cbind(k, f) ~ x + g", df)
    assert m.n_dropped == 3 and m.nobs == len(df) - 3
    assert "3 observations deleted due to missingness" in str(m.summary())
    assert 3 not in m.fittedvalues.index
    full = fastlogit.glm("cbind(k, f) ~ x + g", df.dropna())
    np.testing.assert_allclose(m.params, full.params, rtol=1e-12)
    with pytest.raises(ValueError, match="na_action='raise'"):
        fastlogit.glm("cbind(k, f) ~ x + g", df, na_action="raise")
    # unused columns with missing values do not drop rows
    assert fastlogit.glm("cbind(k, f) ~ h", df).n_dropped == 0


def test_predict_reapplies_the_encoding():
    df = table(seed=3)
    m = fastlogit.glm("cbind(k, f) ~ x + np.log(z) + g + h", df)
    new = df.iloc[:5][["x", "z", "g", "h"]].copy()
    new["g"] = new["g"].astype(str)  # plain strings: same levels by name
    np.testing.assert_allclose(m.predict(new), m.fittedvalues.iloc[:5], rtol=1e-12)
    new.loc[new.index[1], "x"] = np.nan
    p = m.predict(new, type="link", se_fit=True)
    assert np.isnan(p["fit"].iloc[1]) and np.isfinite(p["fit"].iloc[0])
    bad = new.assign(g=["l0", "l1", "l9", "l2", "l3"])
    with pytest.raises(ValueError, match=r"column 'g' .* level 'l9'"):
        m.predict(bad)
    with pytest.raises(ValueError, match="lacks the column"):
        m.predict(new.drop(columns="h"))


def test_offsets_from_formula_argument_and_column():
    df = table(seed=4)
    df["o"] = 0.1 * df.z
    a = fastlogit.glm("cbind(k, f) ~ x + offset(o)", df)
    b = fastlogit.glm("cbind(k, f) ~ x", df, offset="o")
    c = fastlogit.glm("cbind(k, f) ~ x", df, offset=df.o.to_numpy())
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.params, c.params, rtol=1e-12)
    new = df.iloc[:3]
    np.testing.assert_allclose(a.predict(new), b.predict(new), rtol=1e-12)
    with pytest.raises(ValueError, match="pass offset="):
        c.predict(new)
    np.testing.assert_allclose(c.predict(new, offset=new.o), a.predict(new), rtol=1e-12)


def test_penalised_fit_says_so():
    df = table(seed=5)
    m = fastlogit.glm("cbind(k, f) ~ x + g", df, lam=2.0)
    assert "Penalised fit (lam=2)" in str(m.summary())
    assert abs(m.params["x"]) < abs(fastlogit.glm("cbind(k, f) ~ x + g", df).params["x"])


def test_bad_arguments_are_named():
    df = table(seed=6)
    with pytest.raises(ValueError, match="one '~'"):
        fastlogit.glm("k + x", df)
    with pytest.raises(ValueError, match="'nope'"):
        fastlogit.glm("cbind(k, f) ~ x + nope", df)
    with pytest.raises(ValueError, match="family"):
        fastlogit.glm("cbind(k, f) ~ x", df, family="poisson")
    with pytest.raises(ValueError, match="groups"):
        fastlogit.glm("cbind(k, f) ~ x", df, cov_type="cluster")
    with pytest.raises(ValueError, match="cov_type"):
        fastlogit.glm("cbind(k, f) ~ x", df, cov_type="HC9")
    with pytest.raises(TypeError, match="DataFrame"):
        fastlogit.glm("cbind(k, f) ~ x", [1, 2, 3])
    with pytest.raises(ValueError, match="same rows"):
        fastlogit.anova(fastlogit.glm("cbind(k, f) ~ x", df),
                        fastlogit.glm("cbind(k, f) ~ x", df.iloc[:50]))


def test_many_level_factor_path_equals_formulaic_and_absorbed_ses_are_exact(monkeypatch):
    df = table(m=900, seed=7, levels=20)
    ref = fastlogit.glm("cbind(k, f) ~ x + h + g", df)
    monkeypatch.setattr(_bigfactor, "MANY_LEVELS", 10)
    monkeypatch.setattr(_glm_result, "ABSORB_MIN_PARAMS", 0)
    big = fastlogit.glm("cbind(k, f) ~ x + h + g", df)
    assert big.frame.encoding.big_factors and big._absorbed is not None
    np.testing.assert_allclose(big.params[ref.params.index], ref.params, rtol=1e-9, atol=1e-12)
    for cov_type in ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"):
        groups = df.cl if cov_type == "cluster" else None
        a = ref.with_cov(cov_type, groups).bse
        b = big.with_cov(cov_type, groups).bse[a.index]
        numeric = ["Intercept", "x", "h[T.v]"]
        np.testing.assert_allclose(b[numeric], a[numeric], rtol=1e-9, err_msg=cov_type)
        if cov_type == "nonrobust":
            np.testing.assert_allclose(b, a, rtol=1e-9)
    with pytest.raises(ValueError, match="many-level factor"):
        big.cov_params()


def test_a_100000_level_factor_never_densifies():
    m, L = 200_000, 100_000
    rng = np.random.default_rng(8)
    g = rng.permutation(np.arange(m) % L)
    x = rng.normal(size=m)
    eta = 0.5 * x + rng.normal(scale=0.3, size=L)[g]
    k = rng.binomial(6, 1 / (1 + np.exp(-eta)))
    df = pd.DataFrame({"x": x, "g": pd.Categorical.from_codes(g, [f"s{i}" for i in range(L)]),
                       "k": k, "f": 6 - k})
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fastlogit.glm("cbind(k, f) ~ x + g", df, lam=1.0, cov_type="HC1")
            se = res.bse["x"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense = 8 * m * L  # 160 GB
    assert res.rank == L + 1
    assert np.isfinite(se) and se > 0
    assert peak < 600e6 and peak < dense / 200


def test_import_works_without_formulaic():
    code = (
        "import sys; sys.modules['formulaic'] = None\n"
        "import fastlogit\n"
        "try:\n"
        "    fastlogit.glm('y ~ x', {'y': [0, 1], 'x': [1.0, 2.0]})\n"
        "except ImportError as e:\n"
        "    assert 'fastlogit[formula]' in str(e), e\n"
        "    print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_command_line_formula_failures_na_cov_family_firth(tmp_path, capsys):
    from fastlogit.cli import main

    df = table(m=120, seed=9)
    df.loc[5, "x"] = np.nan
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    assert main(["fit", str(path), "--formula", "cbind(k, f) ~ x + g", "--cov-type", "HC3"]) == 0
    out = capsys.readouterr().out
    ref = fastlogit.glm("cbind(k, f) ~ x + g", pd.read_csv(path), cov_type="HC3")
    assert f"{ref.params['x']:.4f}" in out and "1 observation deleted" in out
    assert "HC3 sandwich" in out
    assert main(["fit", str(path), "--successes", "k", "--failures", "f", "--features", "x,h",
                 "--family", "quasibinomial"]) == 0
    assert "quasibinomial family taken to be" in capsys.readouterr().out
    assert main(["fit", str(path), "--formula", "cbind(k, f) ~ h", "--firth"]) == 0
    assert "Firth" in capsys.readouterr().out
    assert main(["fit", str(path), "--formula", "cbind(k, f) ~ x", "--na", "raise"]) == 1
    assert "na_action='raise'" in capsys.readouterr().err
