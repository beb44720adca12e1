"""The coordinate-descent engine (solver "cd", the default for L1 and bounds) against R's glmnet.

References: glmnet run to thresh = 1e-18 (scripts/glmnet_references.py and
scripts/r_glmnet_references.R), stored in tests/fixtures/glmnet_references.json; one case is
also refitted live when R with glmnet is installed. fastlogit's lam is glmnet's lambda times
sum(s * n); the fixture's penalty factors are glmnet's rescaled ones (summing to the number
of features). At fastlogit's defaults every coefficient must be within 1e-6 of glmnet's,
relative to the largest (intercept included), with the same exact zeros.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import r_has_glmnet, star98_standardised

import fastlogit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE = os.path.join(HERE, "fixtures", "glmnet_references.json")
with open(FIXTURE) as fh:
    REFS = json.load(fh)
CASES = {c["name"]: c for c in REFS["cases"]}


def load(case):
    """(X, n, k) of a case: loaded by name, or stored in the fixture (one-hot)."""
    if case["data"] == "breast_cancer":
        datasets = pytest.importorskip("sklearn.datasets")
        X, y = datasets.load_breast_cancer(return_X_y=True)
        return (X - X.mean(0)) / X.std(0), np.ones(len(y)), y.astype(float)
    if case["data"] == "breast_cancer_raw":
        datasets = pytest.importorskip("sklearn.datasets")
        X, y = datasets.load_breast_cancer(return_X_y=True)
        return X, np.ones(len(y)), y.astype(float)
    if case["data"] == "star98":
        return star98_standardised()
    s = case["sparse"]
    X = sp.csr_matrix((s["value"], (s["row"], s["col"])), shape=(s["n_rows"], s["n_features"]))
    return X, np.asarray(case["n"], float), np.asarray(case["k"], float)


def options(case):
    kw = dict(l1_ratio=case["alpha"], fit_intercept=case["intercept"])
    if "weights" in case:
        kw["sample_weight"] = np.asarray(case["weights"])
    if "offset" in case:
        kw["offset"] = np.asarray(case["offset"])
    if "penalty_factor" in case:
        kw["penalty_factor"] = np.asarray(case["penalty_factor"])
    if case.get("standardize"):
        kw["standardize_penalty"] = True
    if "lower" in case:
        kw["bounds"] = (np.asarray(case["lower"], float), np.asarray(case["upper"], float))
    return kw


def reference(case, i):
    b = case["intercept_ref"][i] if case["intercept"] else 0.0
    return np.r_[b, case["coef_ref"][i]]


def assert_matches(got, ref, what):
    scale = np.max(np.abs(ref))
    err = np.max(np.abs(got - ref)) / scale if scale > 0 else np.max(np.abs(got))
    assert err < 1e-6, f"{what}: relative error {err:.2e}"
    zeros_got, zeros_ref = got[1:] == 0, ref[1:] == 0
    assert np.array_equal(zeros_got, zeros_ref), (
        f"{what}: exact zeros differ at features "
        f"{np.flatnonzero(zeros_got != zeros_ref).tolist()}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_path_matches_glmnet(name):
    case = CASES[name]
    X, n, k = load(case)
    fp = fastlogit.path(X, n, k, lams=case["lams"], **options(case))
    assert fp.settings["solver"] == "cd"
    assert fp.converged.all()
    for i in range(len(fp)):
        assert_matches(np.r_[fp.intercept[i], fp.coef[i]], reference(case, i),
                       f"{name}, lam {fp.lams[i]:.4g}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_fits_match_glmnet(name):
    case = CASES[name]
    X, n, k = load(case)
    for i in sorted({len(case["lams"]) // 2, len(case["lams"]) - 1}):
        res = fastlogit.fit(X, n, k, lam=case["lams"][i], **options(case))
        assert res.converged and res.solver == "cd"
        assert_matches(np.r_[res.intercept, res.coef], reference(case, i),
                       f"{name}, lam {case['lams'][i]:.4g}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_dev_ratio_matches_glmnet(name):
    """glmnet's null deviance (the intercept-only model's, or the offset alone's without an
    intercept), also with unpenalised features, weights and offsets."""
    case = CASES[name]
    X, n, k = load(case)
    fp = fastlogit.path(X, n, k, lams=case["lams"], **options(case))
    np.testing.assert_allclose(fp.dev_ratio, case["dev_ratio_ref"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fp.null_deviance, case["nulldev_ref"], rtol=1e-10)


@pytest.mark.parametrize("name", [c for c in sorted(CASES) if CASES[c].get("glmnet_stop")])
def test_default_sequence_stops_where_glmnet_stops(name):
    """glmnet's own stopping rules (fdev = 1e-5, devmax = 0.999) on its default sequence:
    the same lams, as many of them, the same coefficients."""
    case = CASES[name]
    X, n, k = load(case)
    fp = fastlogit.path(X, n, k, n_lams=case["nlambda"], **options(case))
    assert len(fp) == len(case["lams"]) < case["nlambda"]
    assert fp.stop_reason.startswith("fdev")
    np.testing.assert_allclose(fp.lams, case["lams"], rtol=1e-12)
    for i in range(len(fp)):
        assert_matches(np.r_[fp.intercept[i], fp.coef[i]], reference(case, i), f"lam {i}")


def test_dfmax_matches_glmnet():
    case = CASES["bcraw_std_lasso_dfmax"]
    X, n, k = load(case)
    fp = fastlogit.path(X, n, k, n_lams=case["nlambda"], lam_min_ratio=case["lambda_min_ratio"],
                        dfmax=case["dfmax"], fdev=0, devmax=1, **options(case))
    assert len(fp) == len(case["lams"]) < case["nlambda"]
    assert fp.n_nonzero[-1] == case["dfmax"] + 1 and fp.n_nonzero[-2] <= case["dfmax"]
    np.testing.assert_allclose(fp.lams, case["lams"], rtol=1e-12)
    for i in range(len(fp)):
        assert_matches(np.r_[fp.intercept[i], fp.coef[i]], reference(case, i), f"lam {i}")


def test_relaxed_fits_match_glmnet():
    case = CASES["onehot_relax"]
    X, n, k = load(case)
    fp = fastlogit.path(X, n, k, lams=case["lams"], relax=True, **options(case))
    for i in range(len(fp)):
        ref = np.r_[case["relaxed_intercept_ref"][i], case["relaxed_coef_ref"][i]]
        assert_matches(np.r_[fp.relaxed.intercept[i], fp.relaxed.coef[i]], ref,
                       f"relaxed, lam {i}")
        b, w = fp.blend(0.3)
        mix = 0.3 * reference(case, i) + 0.7 * ref
        np.testing.assert_allclose(np.r_[b[i], w[i]], mix, rtol=0,
                                   atol=1e-6 * np.max(np.abs(mix)))


@pytest.mark.skipif(not r_has_glmnet(), reason="needs R with the glmnet and jsonlite packages")
@pytest.mark.parametrize("name", ["onehot_enet_weights_offset", "onehot_std_lasso_factors"])
def test_live_glmnet(tmp_path, name):
    """Refit a weighted one-hot case in R now and compare (the second with glmnet's
    standardize = TRUE and unpenalised features)."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        import glmnet_references as gr
    finally:
        sys.path.pop(0)
    case = dict(CASES[name])
    job = {key: v for key, v in case.items()
           if key in ("name", "sparse", "n", "k", "alpha", "nlambda", "lambda_min_ratio",
                      "intercept", "weights", "offset", "standardize", "penalty_factor")}
    job["family"] = "binomial"
    job_path, out_path = tmp_path / "job.json", tmp_path / "out.json"
    job_path.write_text(json.dumps({"cases": [job]}))
    subprocess.run(["Rscript", os.path.join(ROOT, "scripts", "r_glmnet_references.R"),
                    str(job_path), str(out_path)], check=True, capture_output=True)
    ref = json.loads(out_path.read_text())["results"][0]
    X, n, k = load(case)
    total = float(np.sum(np.asarray(case["weights"]) * n))
    lams = np.asarray(ref["lambda"]) * total
    fp = fastlogit.path(X, n, k, lams=lams, **options(case))
    for i in range(len(lams)):
        assert_matches(np.r_[fp.intercept[i], fp.coef[i]],
                       np.r_[ref["a0"][i], ref["beta"][i]], f"live, lam {lams[i]:.4g}")
    assert gr.OUT.endswith("glmnet_references.json")


def test_layouts_and_dtypes_agree():
    """Dense C, dense F, CSR int32 / int64 give the same answer; float32 close to float64."""
    case = CASES["onehot_enet_weights_offset"]
    X, n, k = load(case)
    kw = options(case)
    lam = case["lams"][6]
    base = fastlogit.fit(X, n, k, lam=lam, **kw)
    dense = X.toarray()
    csr64 = X.copy()
    csr64.indices = csr64.indices.astype(np.int64)
    csr64.indptr = csr64.indptr.astype(np.int64)
    for other in (dense, np.asfortranarray(dense), csr64):
        res = fastlogit.fit(other, n, k, lam=lam, **kw)
        np.testing.assert_allclose(res.coef, base.coef, rtol=0, atol=1e-9)
        assert np.array_equal(res.coef == 0, base.coef == 0)
    res32 = fastlogit.fit(X.astype(np.float32), n, k, lam=lam, **kw)
    np.testing.assert_allclose(res32.coef, base.coef, rtol=0, atol=1e-6)


def test_deterministic_and_thread_count_independent_answers():
    case = CASES["bc_enet_path_weights_offset"]
    X, n, k = load(case)
    kw = options(case)
    lam = case["lams"][-1]
    a = fastlogit.fit(X, n, k, lam=lam, threads=1, **kw)
    b = fastlogit.fit(X, n, k, lam=lam, threads=1, **kw)
    c = fastlogit.fit(X, n, k, lam=lam, threads=2, **kw)
    assert np.array_equal(a.coef, b.coef) and a.intercept == b.intercept
    np.testing.assert_allclose(c.coef, a.coef, rtol=0, atol=1e-7 * np.max(np.abs(a.coef)))
