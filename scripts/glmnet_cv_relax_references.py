"""Write tests/fixtures/glmnet_cv_relax.json: cv.glmnet(relax = TRUE) on star98.

    PYTHONPATH=src python scripts/glmnet_cv_relax_references.py   # needs R with glmnet, jsonlite

The cases (star98 from statsmodels, columns standardised, stored by name and loaded by the
test; fixed folds and a fixed lambda sequence) are cross-validated by
scripts/r_glmnet_cv_relax.R with every fit at thresh = 1e-18. The lambda mapping is that of
the other glmnet references: fastlogit's lam is glmnet's lambda times sum(n) here; each of
cv.glmnet's folds is penalised by lambda per trial of its own training rows (see
tests/test_cv_relax.py). binomial mse and mae are left out: on counts glmnet's are errors of
the proportion k / n, fastlogit's errors of each trial.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from glmnet_references import run_r_jobs, star98  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "glmnet_cv_relax.json")
GAMMA = [0.0, 0.25, 0.5, 0.75, 1.0]  # cv.glmnet's default


def cases():
    """The options of every case: 5 fixed folds, 15 lambdas from lambda_max down."""
    X, n, _ = star98()
    folds = (np.random.default_rng(98).permutation(X.shape[0]) % 5 + 1).tolist()
    base = dict(data="star98", foldid=folds, gamma=GAMMA, n_lambda=15)
    return [dict(base, name="star98_lasso_deviance", alpha=1.0, measure="deviance",
                 lambda_min_ratio=1e-3),
            dict(base, name="star98_enet_class", alpha=0.5, measure="class",
                 lambda_min_ratio=1e-3)]


def lam_sequence(case, X, n, k):
    """glmnet's lambdas: log-spaced from the lasso's (or the elastic net's) lambda_max."""
    z = np.log(k.sum() / (n - k).sum())
    grad = X.T @ (n / (1 + np.exp(-z)) - k)
    top = np.max(np.abs(grad)) / case["alpha"] / n.sum()
    return np.geomspace(top, top * case["lambda_min_ratio"], case["n_lambda"])


def main():
    X, n, k = star98()
    specs = cases()
    jobs = []
    for case in specs:
        lam = lam_sequence(case, X, n, k)
        case["glmnet_lambda"] = lam.tolist()
        case["lams"] = (lam * n.sum()).tolist()
        jobs.append({"name": case["name"], "X": X.tolist(), "n": n.tolist(),
                     "k": k.tolist(), "lambda": case["glmnet_lambda"],
                     "foldid": case["foldid"], "gamma": case["gamma"],
                     "measure": case["measure"], "alpha": case["alpha"]})
    res = run_r_jobs(jobs, "r_glmnet_cv_relax.R")
    out = []
    for case, ref in zip(specs, res["results"]):
        entry = dict(case)
        for key in ("gamma", "cvm", "cvsd", "lasso_cvm", "lasso_cvsd", "lambda_min",
                    "gamma_min", "lambda_1se", "gamma_1se"):
            entry[key + "_ref" if key != "gamma" else "gamma_ref"] = ref[key]
        np.testing.assert_allclose(ref["lambda"], case["glmnet_lambda"], rtol=1e-12)
        out.append(entry)
    with open(OUT, "w") as fh:
        json.dump({"generated_by": "scripts/glmnet_cv_relax_references.py", "meta": res["meta"],
                   "thresh": 1e-18, "cases": out}, fh, separators=(",", ":"))
    print(f"wrote {OUT}: {len(out)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
