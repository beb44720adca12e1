"""fastlogit's L1 / elastic-net engine side by side with R's glmnet: same data, same machine.

    python benchmarks/glmnet_compare.py                      # sub-100k, every case
    python benchmarks/glmnet_compare.py --rows 1000000 --nlambda 50 --only lasso_path \
        --glmnet-thresh 1e-7
    python benchmarks/glmnet_compare.py --quick              # 20k x 20k, a smoke run
    python benchmarks/glmnet_compare.py --only enet_path lasso_path --lambda-min-ratio 1e-2

Data: ``make_sparse_binomial(rows, features, 32)`` (one-hot CSR, binomial counts), written
once to a temporary directory as a binary triplet that the R side (benchmarks/glmnet_compare.R)
reads into a sparse Matrix. Both tools fit the same problem on one thread (glmnet is
single-threaded; fastlogit with threads=1), glmnet with standardize=FALSE (fastlogit
penalises the coefficients as given); fastlogit's lam is glmnet's lambda times sum(n).

Cases
-----
enet_path   elastic net (alpha 0.5): glmnet's own 20-lambda sequence (its default
            lambda.min.ratio), glmnet at thresh 1e-7 (its default) and 1e-10, fastlogit's
            default path on the same lambdas.
lasso_path  the same with alpha 1.
lasso_fit   one lasso fit at lam = 20 (glmnet lambda = 20 / sum(n)).

Every answer is scored by one function (``score``) at every lambda: the KKT residual
(fastlogit's ``grad_norm``: the largest violation of the optimality conditions per unit of
sum(n), in standardised coordinates) and the objective gap (F - F_best) / |F_best|, F_best
the least F any run reached at that lambda. Times are wall-clock seconds of the fitting call
alone (glmnet: system.time around glmnet(); fastlogit: the path/fit call, including its
column copy and standardisation).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fastlogit  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from fastlogit._input._validate import as_design  # noqa: E402
from fastlogit._penalties._penalties import ElasticNet
from fastlogit._solvers import _cd  # noqa: E402
from fastlogit.backend._objective import Standardization  # noqa: E402
from fastlogit.datasets import make_sparse_binomial  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Scorer:
    """KKT residual and objective of any (b, w) on the benchmark problem: one function for
    both tools."""

    def __init__(self, X, n, k, threads):
        design = as_design(X, "X")
        std = Standardization.from_data(design, n, True, threads)
        self.problem = _cd.CDProblem(design, n, k, None, True, threads, std,
                                     columns=_NoColumns())
        self.p = design.n_features

    def score(self, lam, l1_ratio, b, w):
        pen = _cd.PenaltyVectors.make(ElasticNet(lam, l1_ratio), None, self.p)
        ps = self.problem.full_pass(float(b), np.asarray(w, dtype=np.float64))
        _, kkt = self.problem.violations(ps, pen)
        return kkt, ps.loss + pen.value(ps.w)


class _NoColumns:
    """The scorer needs no column access."""


def write_data(d, X, n, k):
    coo = X.tocoo()
    coo.row.astype(np.int32).tofile(os.path.join(d, "rows.i32"))
    coo.col.astype(np.int32).tofile(os.path.join(d, "cols.i32"))
    if not np.all(coo.data == 1):
        coo.data.astype(np.float64).tofile(os.path.join(d, "vals.f64"))
    n.astype(np.float64).tofile(os.path.join(d, "n.f64"))
    k.astype(np.float64).tofile(os.path.join(d, "k.f64"))
    with open(os.path.join(d, "dims.txt"), "w") as fh:
        fh.write(f"{X.shape[0]} {X.shape[1]}\n")


def run_glmnet(d, cases, p):
    job, out = os.path.join(d, "job.json"), os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    with open(job, "w") as fh:
        json.dump({"cases": cases}, fh)
    subprocess.run(["Rscript", os.path.join(HERE, "glmnet_compare.R"), d, job, out],
                   check=True)
    with open(os.path.join(out, "timings.json")) as fh:
        meta = json.load(fh)
    res = {}
    for case in cases:
        name = case["name"]

        def rd(suffix, dtype, name=name):
            return np.fromfile(os.path.join(out, f"{name}.{suffix}"), dtype=dtype)

        lam = rd("lambda.f64", np.float64)
        beta = sp.csr_matrix((rd("bx.f64", np.float64), (rd("bi.i32", np.int32) - 1,
                                                          rd("bj.i32", np.int32) - 1)),
                             shape=(p, len(lam))).toarray().T
        res[name] = dict(lambda_=lam, a0=rd("a0.f64", np.float64), beta=beta,
                         seconds=meta["timings"][name]["seconds"])
    return res, meta["meta"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=100_000)
    ap.add_argument("--nlambda", type=int, default=20)
    ap.add_argument("--lambda-min-ratio", type=float, default=None,
                    help="glmnet's lambda.min.ratio (default: glmnet's own rule)")
    ap.add_argument("--only", nargs="*", default=["enet_path", "lasso_path", "lasso_fit"])
    ap.add_argument("--glmnet-thresh", nargs="+", default=["1e-7", "1e-10"],
                    help="glmnet's thresh values to run (the first makes the lambdas)")
    ap.add_argument("--quick", action="store_true", help="20k x 20k")
    ap.add_argument("--out", default=None, help="write the per-lambda figures as JSON here")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows = args.features = 20_000
    print(describe(), flush=True)
    prob = make_sparse_binomial(args.rows, args.features, 32)
    X, n, k = prob.X, prob.n, prob.k
    S = float(n.sum())
    print(f"data: {args.rows} x {args.features} one-hot CSR, {X.nnz} stored values, "
          f"sum(n) = {S:.0f}")
    scorer = Scorer(X, n, k, threads=1)
    report = {"rows": args.rows, "features": args.features, "cases": {}}
    with tempfile.TemporaryDirectory() as d:
        write_data(d, X, n, k)
        for case in args.only:
            alpha = 0.5 if case == "enet_path" else 1.0
            first_t, *other_t = args.glmnet_thresh
            if case == "lasso_fit":
                lam_g = [20.0 / S]
                jobs = [dict(name=f"{case}_{t}", alpha=alpha, thresh=float(t),
                             **{"lambda": lam_g}) for t in args.glmnet_thresh]
                g, meta = run_glmnet(d, jobs, X.shape[1])
            else:
                # the first run makes glmnet's own sequence; the others fit the same lambdas
                job = dict(name=f"{case}_{first_t}", alpha=alpha, thresh=float(first_t),
                           nlambda=args.nlambda)
                if args.lambda_min_ratio is not None:
                    job["lambda_min_ratio"] = args.lambda_min_ratio
                g, meta = run_glmnet(d, [job], X.shape[1])
                lam_g = g[f"{case}_{first_t}"]["lambda_"].tolist()
                for t in other_t:
                    more, _ = run_glmnet(d, [dict(name=f"{case}_{t}", alpha=alpha,
                                                  thresh=float(t), **{"lambda": lam_g})],
                                         X.shape[1])
                    g.update(more)
            lams = np.asarray(lam_g) * S
            t0 = time.perf_counter()
            if case == "lasso_fit":
                r = fastlogit.fit(X, n, k, lam=float(lams[0]), l1_ratio=alpha, threads=1)
                fl_b, fl_w = np.array([r.intercept]), r.coef[None, :]
            else:
                fp = fastlogit.path(X, n, k, lams=lams, l1_ratio=alpha, threads=1)
                fl_b, fl_w = fp.intercept, fp.coef
            fl_t = time.perf_counter() - t0
            runs = {f"glmnet thresh {t}": (g[f"{case}_{t}"]["a0"], g[f"{case}_{t}"]["beta"],
                                          g[f"{case}_{t}"]["seconds"])
                    for t in args.glmnet_thresh}
            runs["fastlogit default"] = (fl_b, fl_w, fl_t)
            scores = {name: [scorer.score(lam, alpha, b[i], w[i]) for i, lam in enumerate(lams)]
                      for name, (b, w, _) in runs.items()}
            best = np.min([[f for _, f in sc] for sc in scores.values()], axis=0)
            print(f"\n{case}: alpha {alpha}, {len(lams)} lambda(s), lam {lams[0]:.4g} .. "
                  f"{lams[-1]:.4g} (glmnet lambda x sum(n))")
            print(f"  {'run':22s} {'seconds':>8s} {'max KKT':>10s} {'max gap':>10s} "
                  f"{'nonzero at last lam':>20s}")
            entry = {"lams": lams.tolist()}
            for name, (_, w, secs) in runs.items():
                kkt = np.array([s[0] for s in scores[name]])
                gap = (np.array([s[1] for s in scores[name]]) - best) / np.abs(best)
                print(f"  {name:22s} {secs:8.2f} {kkt.max():10.2e} {gap.max():10.2e} "
                      f"{int(np.count_nonzero(w[-1])):20d}")
                entry[name] = dict(seconds=secs, kkt=kkt.tolist(), gap=gap.tolist())
            report["cases"][case] = entry
    report["glmnet"] = meta
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    return report


if __name__ == "__main__":
    main()
