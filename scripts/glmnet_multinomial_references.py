"""Write tests/fixtures/glmnet_multinomial.json: multinomial reference fits from R's glmnet.

    python scripts/glmnet_multinomial_references.py     # needs R with glmnet and jsonlite

The cases (iris and wine from scikit-learn, standardised, stored by name and loaded by
the test) are fitted by scripts/r_glmnet_references.R at thresh = 1e-18, family =
"multinomial", type.multinomial "ungrouped" or "grouped". The lambda mapping: fastlogit's
lam is glmnet's lambda times sum(s N) (glmnet normalises the weights to sum to n_rows,
so for labels lam = lambda * sum(weights)).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from glmnet_references import run_r_jobs  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "glmnet_multinomial.json")


def load(name):
    """(X standardised, y) of a scikit-learn data set bundled with the package."""
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def cases():
    rng = np.random.default_rng(11)
    out = []
    for data, lambdas in (("iris", [0.05, 0.01]), ("wine", [0.1, 0.02])):
        m = load(data)[0].shape[0]
        w = rng.uniform(0.5, 2.0, m).round(3).tolist()
        for kind in ("ungrouped", "grouped"):
            for alpha in (1.0, 0.5):
                out.append(dict(name=f"{data}_{kind}_a{alpha}", data=data, alpha=alpha,
                                type_multinomial=kind, lambda_=lambdas, intercept=True))
            out.append(dict(name=f"{data}_{kind}_weights", data=data, alpha=1.0,
                            type_multinomial=kind, lambda_=lambdas[:1], intercept=True,
                            weights=w))
            out.append(dict(name=f"{data}_{kind}_no_intercept", data=data, alpha=0.5,
                            type_multinomial=kind, lambda_=lambdas[:1], intercept=False))
    return out


def r_job(case):
    X, y = load(case["data"])
    K = int(y.max()) + 1
    job = {k: v for k, v in case.items() if k not in ("data", "lambda_")}
    job.update(family="multinomial", X=X.tolist(), counts=np.eye(K)[y].tolist(),
               standardize=False, nlambda=len(case["lambda_"]))
    job["lambda"] = case["lambda_"]
    return job


def main():
    specs = cases()
    res = run_r_jobs([r_job(c) for c in specs])
    fixtures = []
    for case, ref in zip(specs, res["results"]):
        m = load(case["data"])[0].shape[0]
        total = float(np.sum(case.get("weights", np.ones(m))))
        lam = np.atleast_1d(np.asarray(ref["lambda"], dtype=float))
        entry = {key: v for key, v in case.items() if key != "lambda_"}
        entry["lams"] = (lam * total).tolist()
        entry["glmnet_lambda"] = lam.tolist()
        a0 = np.asarray(ref["a0"], dtype=float).reshape(len(lam), -1)  # n_lambda x K
        beta = np.asarray(ref["beta"], dtype=float)  # K x n_lambda x p
        beta = beta.reshape(beta.shape[0], len(lam), -1).transpose(1, 0, 2)
        entry["intercept_ref"] = a0.tolist()
        entry["coef_ref"] = beta.tolist()  # n_lambda x K x p
        fixtures.append(entry)
    with open(OUT, "w") as fh:
        json.dump({"generated_by": "scripts/glmnet_multinomial_references.py",
                   "meta": res["meta"], "thresh": 1e-18, "cases": fixtures}, fh,
                  separators=(",", ":"))
    print(f"wrote {OUT}: {len(fixtures)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
