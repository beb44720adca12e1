"""fastlogit.cv(..., relax=True): cross-validation of the relaxed lasso over gamma and lam.

References: R's cv.glmnet(relax = TRUE) on star98 with fixed folds and lambdas, every fit
at thresh = 1e-18 (scripts/glmnet_cv_relax_references.py, scripts/r_glmnet_cv_relax.R,
tests/fixtures/glmnet_cv_relax.json), refitted live when R with glmnet is installed.
glmnet's lambda is a penalty per trial of each fit's own training rows, so its folds are
penalised by lambda * (their training trials); fastlogit's folds all use the same ``lam``
on the summed loss. The reference curves are therefore rebuilt fold by fold with
``fastlogit.path(..., relax=True)`` at glmnet's per-fold penalties and scored by the
functions ``cv`` uses, and ``cv`` itself is checked against the same rebuild at its own
penalties. glmnet evaluates gamma = 0 as gamma = 1e-5 (blend.relaxed); so do the rebuilds.

Properties: gamma = [1] is the relax=False curve and choice, folds and curves are
deterministic, the refit is the blend at the chosen pair, glmnet's tie rules, bad gamma.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings

import numpy as np
import pytest
from conftest import r_has_glmnet, random_problem, star98_standardised

import fastlogit
from fastlogit._selection._cv_measures import held_out_total
from fastlogit._selection._cv_relax import choose_pair, curves

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
with open(os.path.join(HERE, "fixtures", "glmnet_cv_relax.json")) as fh:
    REFS = json.load(fh)
CASES = {c["name"]: c for c in REFS["cases"]}
GLMNET_GAMMA_0 = 1e-5  # blend.relaxed's epsilon


def rebuilt_curves(X, n, k, labels, lams, gammas, measure, glmnet_folds, **kw):
    """cv's curves rebuilt from one relaxed path per fold (held-out rows weight 0), at
    the same lams in every fold, or (glmnet_folds) at lams / sum(n) * training trials."""
    folds = np.unique(labels)
    totals = np.empty((len(folds), len(gammas), len(lams)))
    weight = np.empty(len(folds))
    for f, label in enumerate(folds):
        test = labels == label
        s = (~test).astype(float)
        scale = np.sum(s * n) / np.sum(n) if glmnet_folds else 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fp = fastlogit.path(X, n, k, sample_weight=s, lams=np.asarray(lams) * scale,
                                relax=True, **kw)
        weight[f] = np.sum(n[test])
        for g, gamma in enumerate(gammas):
            b, w = fp.blend(gamma)
            for j in range(len(lams)):
                totals[f, g, j] = held_out_total(measure, b[j] + X[test] @ w[j], n[test],
                                                 k[test], np.ones(int(test.sum())))
    return curves(totals, weight)[1:]


def check_against_glmnet(case, ref, X, n, k):
    gammas = np.array(ref["gamma"], float)
    ours = np.where(gammas == 0, GLMNET_GAMMA_0, gammas)
    mean, se = rebuilt_curves(X, n, k, np.asarray(case["foldid"]), case["lams"], ours,
                              case["measure"], True, l1_ratio=case["alpha"])
    cvm, cvsd = np.array(ref["cvm"]), np.array(ref["cvsd"])
    # the curves within 1e-6 of glmnet's; the standard errors, differences of nearly
    # equal fold values, within 1e-6 of the curve
    np.testing.assert_allclose(mean, cvm, rtol=1e-6, atol=0)
    np.testing.assert_allclose(se, cvsd, rtol=0, atol=1e-6 * np.max(cvm))
    lam = np.asarray(case["glmnet_lambda"])
    for (g, i), which in zip(choose_pair(mean, se, gammas), ("min", "1se")):
        assert gammas[g] == ref[f"gamma_{which}"], which
        assert lam[i] == pytest.approx(ref[f"lambda_{which}"], rel=1e-12), which
    # glmnet's choice rule on glmnet's own curves
    (g, i), (g1, i1) = choose_pair(cvm, cvsd, gammas)
    assert (gammas[g], gammas[g1]) == (ref["gamma_min"], ref["gamma_1se"])
    assert lam[[i, i1]] == pytest.approx([ref["lambda_min"], ref["lambda_1se"]], rel=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_relaxed_curves_and_choice_match_cv_glmnet(name):
    case = CASES[name]
    X, n, k = star98_standardised()
    ref = {key[:-4]: case[key] for key in case if key.endswith("_ref")}
    check_against_glmnet(case, ref, X, n, k)


def test_cv_is_the_rebuild_at_its_own_penalties():
    X, n, k = star98_standardised()
    case = CASES["star98_lasso_deviance"]
    labels = np.asarray(case["foldid"])
    gammas = [0.0, 0.5, 1.0]
    res = fastlogit.cv(X, n, k, lams=case["lams"][:8], folds=labels, relax=True,
                       gamma=gammas)
    mean, se = rebuilt_curves(X, n, k, labels, case["lams"][:8], gammas, "deviance", False)
    np.testing.assert_allclose(res.gamma_cv_mean, mean, rtol=1e-7)
    np.testing.assert_allclose(res.gamma_cv_se, se, rtol=0, atol=1e-7 * np.max(mean))
    np.testing.assert_allclose(res.cv_mean, mean[-1], rtol=1e-7)  # gamma = 1: the lasso
    (g, i), (g1, i1) = choose_pair(res.gamma_cv_mean, res.gamma_cv_se, res.gammas)
    assert (res.index_gamma_min, res.index_min, res.index_gamma_1se, res.index_1se) == (
        g, i, g1, i1)
    assert res.gamma_min == res.gammas[g] and res.lam_min == res.lams[i]
    assert res.gamma_cv_mean.shape == (3, 8) and res.gamma_fold_deviance.shape == (5, 3, 8)


def test_gamma_one_is_the_lasso_curve():
    X, n, k, s, o = random_problem(m=240, p=6, seed=4)
    kw = dict(sample_weight=s, offset=o, n_lams=10, n_folds=3, seed=2, threads=1)
    plain = fastlogit.cv(X, n, k, **kw)
    one = fastlogit.cv(X, n, k, relax=True, gamma=1, **kw)
    assert np.array_equal(one.gamma_cv_mean[0], plain.cv_mean)
    assert np.array_equal(one.cv_mean, plain.cv_mean)
    assert np.array_equal(one.gamma_cv_se[0], plain.cv_se)
    assert (one.lam_min, one.lam_1se, one.gamma_min, one.gamma_1se) == (
        plain.lam_min, plain.lam_1se, 1.0, 1.0)
    np.testing.assert_array_equal(one.result.coef, plain.result.coef)
    assert plain.gammas is None and plain.gamma_cv_mean is None and plain.gamma == 1.0


def test_deterministic_and_refit_at_the_chosen_pair():
    X, n, k, _, _ = random_problem(m=200, p=8, seed=9)
    kw = dict(n_lams=8, n_folds=4, seed=3, relax=True, gamma=[0.75, 0, 0.25, 0.75])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fastlogit.cv(X, n, k, **kw)
        b = fastlogit.cv(X, n, k, **kw)
        c = fastlogit.cv(X, n, k, rule="1se", **kw)
    assert np.array_equal(a.folds, b.folds) and np.array_equal(a.gammas, [0, 0.25, 0.75])
    assert np.array_equal(a.gamma_cv_mean, b.gamma_cv_mean)
    assert np.array_equal(a.gamma_fold_deviance, b.gamma_fold_deviance)
    for res, i, g in ((a, a.index_min, a.gamma_min), (c, c.index_1se, c.gamma_1se)):
        assert res.gamma == g and res.result.settings["lam"] == res.lams[i]
        ref = res.path.result(i, gamma=g)
        np.testing.assert_array_equal(res.result.coef, ref.coef)
        assert res.result.intercept == ref.intercept
    assert a.path.relaxed is not None and c.lam_1se >= c.lam_min
    assert "gamma_min=" in repr(a)


def test_choice_rule_ties_go_to_larger_lam_then_larger_gamma():
    gammas = np.array([0.0, 0.5, 1.0])
    mean = np.array([[3.0, 1.0, 1.0], [2.0, 1.0, 2.0], [1.2, 1.0, 5.0]])
    se = np.full((3, 3), 0.3)
    assert choose_pair(mean, se, gammas) == ((2, 1), (2, 0))
    mean[2, 0] = np.nan  # never chosen
    assert choose_pair(mean, se, gammas) == ((2, 1), (2, 1))


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(relax=True, gamma=[]), TypeError, "gamma"),
    (dict(relax=True, gamma=[0.5, 1.5]), ValueError, "gamma must lie in"),
    (dict(relax=True, gamma="0.5"), TypeError, "gamma"),
    (dict(gamma=[0.5]), ValueError, "relax=True"),
    (dict(relax="yes"), (TypeError, ValueError), "relax"),
    (dict(relax=True, relax_maxp=-1), ValueError, "relax_maxp"),
])
def test_bad_gamma(kw, exc, msg):
    X, n, k, _, _ = random_problem(m=60, p=3)
    with pytest.raises(exc, match=msg):
        fastlogit.cv(X, n, k, n_lams=3, **kw)


@pytest.mark.skipif(not r_has_glmnet(), reason="needs R with the glmnet and jsonlite packages")
def test_live_cv_glmnet_relax(tmp_path):
    """cv.glmnet(relax = TRUE) run now, on the fixture's folds with 6 lambdas, 3 gammas."""
    X, n, k = star98_standardised()
    case = dict(CASES["star98_lasso_deviance"])
    case.update(glmnet_lambda=case["glmnet_lambda"][2:8], lams=case["lams"][2:8])
    job = {"name": "live", "X": X.tolist(), "n": n.tolist(), "k": k.tolist(),
           "lambda": case["glmnet_lambda"], "foldid": case["foldid"],
           "gamma": [0.0, 0.5, 1.0], "measure": "deviance", "alpha": 1.0}
    job_path, out_path = tmp_path / "job.json", tmp_path / "out.json"
    job_path.write_text(json.dumps({"cases": [job]}))
    subprocess.run(["Rscript", os.path.join(ROOT, "scripts", "r_glmnet_cv_relax.R"),
                    str(job_path), str(out_path)], check=True, capture_output=True)
    ref = json.loads(out_path.read_text())["results"][0]
    check_against_glmnet(case, ref, X, n, k)
