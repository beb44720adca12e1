"""fastlogit's multinomial lasso (solver "cd") side by side with R's glmnet.

    python benchmarks/glmnet_multinomial_compare.py [--rows 20000] [--features 1000]
        [--classes 4] [--density 0.05] [--type ungrouped|grouped] [--threads 1]

A seeded sparse problem (CSR, float64); glmnet fits a 5-lambda path (lambda.min.ratio
0.1) at its default thresh (1e-7) and at 1e-12; fastlogit fits the same lambdas
(lam = lambda * n_rows), each warm-started from the previous answer. Reported per
engine: seconds, and the KKT residual of its answers (fastlogit's measure: per unit of
sum(s N), standardised coordinates, the largest over the path), computed alike for both.
R is driven through benchmarks/glmnet_multinomial_compare.R.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import fastlogit  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from fastlogit._input._validate import as_design  # noqa: E402
from fastlogit._solvers import _cd_multinomial as engine  # noqa: E402
from fastlogit.backend._objective import Standardization  # noqa: E402
from fastlogit.backend._softmax_objective import MultinomialLoss  # noqa: E402


def problem(rows, features, classes, density, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(rows, features, density=density, format="csr", random_state=seed,
                  data_rvs=rng.standard_normal)
    B = rng.normal(size=(features, classes)) * (rng.random((features, 1)) < 0.05)
    y = np.argmax(X @ B + rng.gumbel(size=(rows, classes)), axis=1)
    return X, y


def kkt(X, y, K, lam, b, W, grouped):
    """fastlogit's KKT residual at (b (K,), W (K, p)) for the lasso at lam."""
    design = as_design(X, "X")
    loss = MultinomialLoss(design, K, counts=None, labels=y.astype(np.intp), weights=None,
                           offset=None, threads=1)
    std = Standardization.from_data(design, loss.row_totals(), True, 1)
    prob = engine.MultinomialCDProblem(loss, True, std)
    pen = engine.MultiPenalty(np.full(X.shape[1], lam), np.zeros(X.shape[1]), grouped)
    _, gb, gW = prob.gradient(np.asarray(b), np.ascontiguousarray(W.T))
    return prob.violations(np.ascontiguousarray(W.T), gb, gW, pen)[1]


def run_glmnet(X, y, kind, thresh, tmp):
    coo = X.tocoo()
    coo.row.astype(np.int32).tofile(os.path.join(tmp, "rows.i32"))
    coo.col.astype(np.int32).tofile(os.path.join(tmp, "cols.i32"))
    coo.data.astype(np.float64).tofile(os.path.join(tmp, "vals.f64"))
    y.astype(np.int32).tofile(os.path.join(tmp, "y.i32"))
    with open(os.path.join(tmp, "dims.txt"), "w") as fh:
        fh.write(f"{X.shape[0]} {X.shape[1]}\n")
    subprocess.run(["Rscript", os.path.join(HERE, "glmnet_multinomial_compare.R"), tmp, tmp,
                    kind, repr(thresh)], check=True)
    lam = np.fromfile(os.path.join(tmp, "lambda.f64"))
    K, p = int(y.max()) + 1, X.shape[1]
    a0 = np.fromfile(os.path.join(tmp, "a0.f64")).reshape(len(lam), K)
    beta = np.stack([np.fromfile(os.path.join(tmp, f"beta{k + 1}.f64")).reshape(len(lam), p)
                     for k in range(K)], axis=1)
    with open(os.path.join(tmp, "seconds.txt")) as fh:
        seconds = float(fh.read())
    return lam, a0, beta, seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--features", type=int, default=1000)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--density", type=float, default=0.05)
    ap.add_argument("--type", default="ungrouped", choices=["ungrouped", "grouped"])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    print(describe())
    X, y = problem(args.rows, args.features, args.classes, args.density)
    K, grouped = args.classes, args.type == "grouped"
    print(f"{args.rows} x {args.features} CSR, density {args.density}, K={K}, {args.type} "
          f"lasso, 5 lambdas; fastlogit threads={args.threads}")
    with tempfile.TemporaryDirectory() as tmp:
        for thresh in (1e-7, 1e-12):
            lam, a0, beta, secs = run_glmnet(X, y, args.type, thresh, tmp)
            worst = max(kkt(X, y, K, lv * args.rows, a0[i], beta[i], grouped)
                        for i, lv in enumerate(lam))
            print(f"  glmnet thresh={thresh:g}: {secs:7.2f} s   KKT {worst:.2e}")
    res, worst, t0 = None, 0.0, time.perf_counter()
    for lv in lam:
        res = fastlogit.fit_multinomial(X, y, lam=lv * args.rows, l1_ratio=1.0,
                                        type_multinomial=args.type, threads=args.threads,
                                        x0=res)
        worst = max(worst, res.grad_norm)
    secs = time.perf_counter() - t0
    # coefficients are compared through the probabilities: with l1_ratio = 1 and an even
    # number of classes a feature's coefficients may shift between its two middle values
    Z = X @ beta[-1].T + a0[-1]
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    print(f"  fastlogit cd:           {secs:7.2f} s   KKT {worst:.2e}   "
          f"(nonzeros at the last lambda: {int(np.count_nonzero(res.coef))}, glmnet's "
          f"{int(np.count_nonzero(beta[-1]))}; max |probability diff| vs glmnet 1e-12: "
          f"{np.max(np.abs(res.predict_proba(X) - P)):.1e})")


if __name__ == "__main__":
    main()
