"""Write tests/fixtures/glmnet_references.json: reference fits from R's glmnet.

    python scripts/glmnet_references.py        # needs R with glmnet and jsonlite

The cases (data, options) are built here, fitted by scripts/r_glmnet_references.R at
thresh = 1e-18, and stored with glmnet's answers. Breast cancer (scikit-learn) and star98
(statsmodels) are stored by name and loaded by the test; the small one-hot problem, the
weights and offsets are stored in full. The lambda mapping: fastlogit's lam is glmnet's
lambda times sum(s * n), and glmnet rescales penalty.factor to sum to the number of
features, so the fixture records the rescaled factors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "glmnet_references.json")


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return X, np.ones(len(y)), y.astype(float)


def breast_cancer_raw():
    """Breast cancer unscaled: columns from about 1e-3 to 4e3, for glmnet's standardize."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X, np.ones(len(y)), y.astype(float)


def star98():
    import statsmodels.api as sm

    d = sm.datasets.star98.load()
    Y, X = np.asarray(d.endog, float), np.asarray(d.exog, float)
    X = (X - X.mean(0)) / X.std(0)
    return X, Y.sum(1), Y[:, 0]


def onehot(seed=7, n_rows=300, n_vars=5, levels=8):
    """Counts on a one-hot design: n_vars categorical variables of ``levels`` levels."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, size=(n_rows, n_vars))
    # level 0 of each variable is the baseline, with no column: a full set of indicators
    # per variable would sum to the intercept's column, and the lasso's optimum would not
    # be unique (shifting a variable's levels against the intercept can leave F unchanged)
    width = levels - 1
    cols = codes - 1 + width * np.arange(n_vars)
    rows = np.repeat(np.arange(n_rows), n_vars).reshape(n_rows, n_vars)
    keep = codes > 0
    beta = rng.normal(scale=0.7, size=n_vars * width) * (rng.random(n_vars * width) < 0.4)
    z = np.where(keep, beta[np.where(keep, cols, 0)], 0.0).sum(1) - 0.3
    n = 1.0 + rng.poisson(3.0, size=n_rows)
    k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-z))).astype(float)
    return dict(row=rows[keep].tolist(), col=cols[keep].tolist(),
                value=[1.0] * int(keep.sum()), n_rows=n_rows,
                n_features=n_vars * width), n, k


def onehot_dense(sparse):
    X = np.zeros((sparse["n_rows"], sparse["n_features"]))
    X[sparse["row"], sparse["col"]] = sparse["value"]
    return X


def loaders():
    return {"breast_cancer": breast_cancer, "breast_cancer_raw": breast_cancer_raw,
            "star98": star98}


def cases():
    rng = np.random.default_rng(2024)
    out = []
    bc_X, bc_n, bc_k = breast_cancer()
    m, p = bc_X.shape
    w_bc = rng.uniform(0.5, 2.0, m).round(3)
    off_bc = rng.normal(scale=0.3, size=m).round(3)
    pf = np.ones(p)
    pf[[0, 5]] = 0.0
    pf[[1, 2, 3]] = 2.0
    lower = np.full(p, -np.inf)
    upper = np.full(p, np.inf)
    lower[[7, 8, 9, 10]] = -0.3
    upper[[20, 21, 22]] = 0.4
    lower[[27]] = 0.0
    out += [
        dict(name="bc_lasso_path", data="breast_cancer", alpha=1.0, nlambda=20,
             lambda_min_ratio=0.02, intercept=True),
        dict(name="bc_enet_path_weights_offset", data="breast_cancer", alpha=0.5, nlambda=12,
             lambda_min_ratio=0.05, intercept=True, weights=w_bc.tolist(),
             offset=off_bc.tolist()),
        dict(name="bc_lasso_factors_limits", data="breast_cancer", alpha=1.0, nlambda=10,
             lambda_min_ratio=0.05, intercept=True, penalty_factor=pf.tolist(),
             lower=lower.tolist(), upper=upper.tolist()),
        dict(name="bc_enet_no_intercept", data="breast_cancer", alpha=0.5, nlambda=10,
             lambda_min_ratio=0.05, intercept=False),
    ]
    s_X, s_n, s_k = star98()
    out += [
        dict(name="star98_lasso_fit", data="star98", alpha=1.0,
             lam=[5070.82], intercept=True),
        dict(name="star98_enet_path", data="star98", alpha=0.5, nlambda=15,
             lambda_min_ratio=1e-3, intercept=True),
    ]
    sparse, n1, k1 = onehot()
    w1 = rng.uniform(0.5, 2.0, len(n1)).round(3)
    off1 = rng.normal(scale=0.2, size=len(n1)).round(3)
    out += [
        dict(name="onehot_lasso_path", data="onehot", sparse=sparse, n=n1.tolist(),
             k=k1.tolist(), alpha=1.0, nlambda=20, lambda_min_ratio=1e-3, intercept=True),
        dict(name="onehot_enet_weights_offset", data="onehot", sparse=sparse, n=n1.tolist(),
             k=k1.tolist(), alpha=0.5, nlambda=12, lambda_min_ratio=1e-2, intercept=True,
             weights=w1.tolist(), offset=off1.tolist()),
        dict(name="onehot_lasso_no_intercept_limits", data="onehot", sparse=sparse,
             n=n1.tolist(), k=k1.tolist(), alpha=1.0, nlambda=10, lambda_min_ratio=1e-2,
             intercept=False, lower=[-0.5] * 35, upper=[1.0] * 35),
    ]
    # glmnet's standardize = TRUE (standardize_penalty), its path-stopping rules, dfmax and
    # the relaxed lasso
    r_X, r_n, r_k = breast_cancer_raw()
    pf1 = np.ones(35)
    pf1[[0, 9]] = 0.0
    pf1[[3, 4]] = 3.0
    out += [
        dict(name="bcraw_std_enet_weights", data="breast_cancer_raw", alpha=0.7, nlambda=10,
             lambda_min_ratio=0.01, intercept=True, standardize=True, weights=w_bc.tolist()),
        dict(name="bcraw_std_enet_no_intercept", data="breast_cancer_raw", alpha=0.7,
             nlambda=10, lambda_min_ratio=0.01, intercept=False, standardize=True,
             offset=off_bc.tolist()),
        dict(name="bcraw_std_lasso_dfmax", data="breast_cancer_raw", alpha=1.0, nlambda=30,
             lambda_min_ratio=0.01, intercept=True, standardize=True, dfmax=4),
        dict(name="onehot_std_lasso_factors", data="onehot", sparse=sparse, n=n1.tolist(),
             k=k1.tolist(), alpha=1.0, nlambda=12, lambda_min_ratio=1e-2, intercept=True,
             standardize=True, penalty_factor=pf1.tolist(), weights=w1.tolist()),
        dict(name="onehot_std_default_stop", data="onehot", sparse=sparse, n=n1.tolist(),
             k=k1.tolist(), alpha=1.0, nlambda=100, intercept=True, standardize=True,
             glmnet_stop=True),
        dict(name="onehot_relax", data="onehot", sparse=sparse, n=n1.tolist(), k=k1.tolist(),
             alpha=1.0, nlambda=15, lambda_min_ratio=1e-2, intercept=True, relax=True,
             offset=off1.tolist()),
    ]
    return out, {"breast_cancer": (bc_X, bc_n, bc_k), "star98": (s_X, s_n, s_k),
                 "breast_cancer_raw": (r_X, r_n, r_k)}


def r_job(case, data):
    job = {k: v for k, v in case.items() if k not in ("data", "lam")}
    job["family"] = "binomial"
    if case["data"] in data:
        X, n, k = data[case["data"]]
        job.update(X=X.tolist(), n=n.tolist(), k=k.tolist())
    for key in ("lower", "upper"):  # JSON has no infinity: glmnet's own "big"
        if key in job:
            job[key] = np.clip(job[key], -9.9e35, 9.9e35).tolist()
    if "lam" in case:
        n = data[case["data"]][1] if case["data"] in data else np.asarray(case["n"])
        s = np.asarray(case.get("weights", np.ones(len(n))))
        job["lambda"] = (np.asarray(case["lam"]) / float(np.sum(s * n))).tolist()
    return job


def run_r_jobs(jobs, script="r_glmnet_references.R"):
    """glmnet's answers to the jobs, through the R script (in this folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = os.path.join(tmp, "job.json"), os.path.join(tmp, "out.json")
        with open(job_path, "w") as fh:
            json.dump({"cases": jobs}, fh)
        subprocess.run(["Rscript", os.path.join(HERE, script), job_path, out_path],
                       check=True)
        with open(out_path) as fh:
            return json.load(fh)


def main():
    specs, data = cases()
    res = run_r_jobs([r_job(c, data) for c in specs])
    fixtures = []
    for case, ref in zip(specs, res["results"]):
        if case["data"] in data:
            n = data[case["data"]][1]
        else:
            n = np.asarray(case["n"])
        s = np.asarray(case.get("weights", np.ones(len(n))))
        total = float(np.sum(s * n))
        lam = np.atleast_1d(np.asarray(ref["lambda"], dtype=float))
        entry = {key: v for key, v in case.items() if key != "lam"}
        if "penalty_factor" in case:
            pf = np.asarray(case["penalty_factor"])
            entry["penalty_factor"] = (pf * len(pf) / pf.sum()).tolist()
        entry["lams"] = (lam * total).tolist()
        entry["glmnet_lambda"] = lam.tolist()
        entry["intercept_ref"] = np.atleast_1d(ref["a0"]).tolist()
        entry["coef_ref"] = np.asarray(ref["beta"], dtype=float).reshape(len(lam), -1).tolist()
        entry["dev_ratio_ref"] = np.atleast_1d(ref["dev_ratio"]).tolist()
        entry["nulldev_ref"] = ref["nulldev"]
        if case.get("relax"):
            entry["relaxed_intercept_ref"] = np.atleast_1d(ref["relaxed_a0"]).tolist()
            entry["relaxed_coef_ref"] = np.asarray(ref["relaxed_beta"], dtype=float).reshape(
                len(lam), -1).tolist()
        fixtures.append(entry)
    with open(OUT, "w") as fh:
        json.dump({"generated_by": "scripts/glmnet_references.py", "meta": res["meta"],
                   "thresh": 1e-18, "cases": fixtures}, fh, separators=(",", ":"))
    print(f"wrote {OUT}: {len(fixtures)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
