"""Penalty benchmarks (L1, elastic-net paths, bounds): one run, one table (medians of repeats).

    python benchmarks/penalties_report.py                 # everything (long: ~1 h on 2 cores)
    python benchmarks/penalties_report.py --only l1 path20
    python benchmarks/penalties_report.py --quick         # small sizes, a smoke run

Cases
-----
l1       L1 fit on "sub-100k" (make_sparse_binomial(100_000, 100_000, 32)) at lam = 20
         (scikit-learn C = 0.05), to fastlogit's defaults; time, passes, KKT residual.
path20   20-lam elastic-net path (l1_ratio = 0.5, default sequence lam_max .. 1e-2 lam_max)
         on sub-100k with warm starts, against 20 cold fits at the same lams, fastlogit's
         ridge path on the same lams, and scikit-learn's warm-started lbfgs path (ridge: the
         only penalty its lbfgs has; two-row encoding, tol 1e-6, C = 1/lam) on them; and
         the same path stopped at pgtol = 1e-6 (a KKT residual of 1e-6).
path50   50-lam lasso path (default sequence, lam_max .. 1e-4 lam_max) on the 1M-row problem
         (make_sparse_binomial()), against cold fits at every ``--cold-every``-th lam,
         extrapolated to all 50 (the sampled lams are spread over the whole path).

KKT residuals are fastlogit's ``grad_norm``: the largest violation of the optimality
conditions, per unit of sum(s n), in standardised coordinates (what pgtol bounds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fastlogit  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from fastlogit.datasets import make_sparse_binomial  # noqa: E402


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def case_l1(prob, lam, repeats, threads):
    times, res = [], None
    for _ in range(repeats):
        res, dt = timed(fastlogit.fit, prob.X, prob.n, prob.k, lam=lam, l1_ratio=1.0,
                        threads=threads)
        times.append(dt)
    return dict(case="L1 fit", lam=lam, median_s=float(np.median(times)), times=times,
                n_iter=res.n_iter, n_fev=res.n_fev, kkt=res.grad_norm,
                converged=res.converged, nonzero=float(np.mean(res.coef != 0)))


def sklearn_warm_path(prob, lams, tol, max_iter=10_000):
    from sklearn.linear_model import LogisticRegression

    X, n, k = prob.X, prob.n, prob.k
    X2 = sp.vstack([X, X]).tocsr()
    y2 = np.r_[np.ones(len(n)), np.zeros(len(n))]
    w2 = np.r_[k, n - k]
    model = LogisticRegression(solver="lbfgs", tol=tol, warm_start=True, max_iter=max_iter)
    n_iter, t0 = [], time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lam in lams:
            model.set_params(C=1.0 / lam)
            model.fit(X2, y2, sample_weight=w2)
            n_iter.append(int(model.n_iter_[0]))
    return time.perf_counter() - t0, n_iter


def case_path(prob, name, n_lams, l1_ratio, lam_min_ratio, cold_every, threads,
              sklearn=False, ridge_compare=False, loose_compare=False):
    fp, t_path = timed(fastlogit.path, prob.X, prob.n, prob.k, n_lams=n_lams,
                       l1_ratio=l1_ratio, lam_min_ratio=lam_min_ratio, threads=threads)
    out = dict(case=name, n_lams=len(fp), l1_ratio=l1_ratio, lam_max=fp.lam_max,
               lam_min=float(fp.lams[-1]), path_s=t_path, path_fev=int(fp.n_fev.sum()),
               path_iter=int(fp.n_iter.sum()), all_converged=bool(fp.converged.all()),
               kkt_max=float(fp.grad_norm.max()), nonzero_last=int(fp.n_nonzero[-1]),
               per_lam_s=[round(float(t), 3) for t in fp.elapsed])
    idx = np.arange(0, len(fp), cold_every)
    cold_t, cold_fev, cold_kkt = [], [], []
    for i in idx:
        r, dt = timed(fastlogit.fit, prob.X, prob.n, prob.k, lam=float(fp.lams[i]),
                      l1_ratio=l1_ratio, threads=threads)
        cold_t.append(dt)
        cold_fev.append(r.n_fev)
        cold_kkt.append(r.grad_norm)
        diff = float(np.max(np.abs(r.coef - fp.coef[i])))
        out.setdefault("max_coef_diff_vs_cold", 0.0)
        out["max_coef_diff_vs_cold"] = max(out["max_coef_diff_vs_cold"], diff)
    # extrapolate the sampled cold fits to every lam (the sample spans the whole path)
    scale = len(fp) / len(idx)
    out.update(cold_sampled=len(idx), cold_s=float(np.sum(cold_t) * scale),
               cold_fev=int(np.sum(cold_fev) * scale), cold_kkt_max=float(np.max(cold_kkt)),
               ratio_cold_over_path=float(np.sum(cold_t) * scale / t_path),
               fev_ratio=float(np.sum(cold_fev) * scale / fp.n_fev.sum()))
    if loose_compare:  # the same path stopped at a projected gradient of 1e-6
        lp, t_loose = timed(fastlogit.path, prob.X, prob.n, prob.k, lams=fp.lams,
                            l1_ratio=l1_ratio, pgtol=1e-6, threads=threads)
        out.update(pgtol_1e6_path_s=t_loose, pgtol_1e6_path_fev=int(lp.n_fev.sum()),
                   pgtol_1e6_kkt_max=float(lp.grad_norm.max()),
                   pgtol_1e6_all_converged=bool(lp.converged.all()))
    if ridge_compare:
        rp, t_ridge = timed(fastlogit.path, prob.X, prob.n, prob.k, lams=fp.lams,
                            l1_ratio=0.0, threads=threads)
        out.update(ridge_path_s=t_ridge, ridge_path_fev=int(rp.n_fev.sum()),
                   ridge_kkt_max=float(rp.grad_norm.max()))
    if sklearn:
        t_sk, it_sk = sklearn_warm_path(prob, fp.lams, tol=1e-6)
        out.update(sklearn_warm_ridge_s=t_sk, sklearn_iters=it_sk,
                   speedup_vs_sklearn=t_sk / t_path)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=["l1", "path20", "path50"])
    ap.add_argument("--quick", action="store_true", help="small problems (smoke run)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the L1 fit")
    ap.add_argument("--cold-every", type=int, default=1,
                    help="path20: cold fit at every N-th lam (1 = all)")
    ap.add_argument("--cold-every-1m", type=int, default=10,
                    help="path50: cold fit at every N-th lam, extrapolated")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)

    print(describe(), flush=True)
    rows = []
    if args.quick:
        sub = make_sparse_binomial(20_000, 5_000, 32, seed=0)
        big = make_sparse_binomial(50_000, 5_000, 32, seed=0)
    else:
        sub = make_sparse_binomial(100_000, 100_000, 32, seed=0)
        big = None
    if "l1" in args.only:
        rows.append(case_l1(sub, 20.0, args.repeats, args.threads))
        print(json.dumps(rows[-1]), flush=True)
    if "path20" in args.only:
        rows.append(case_path(sub, "EN path sub-100k", 20, 0.5, None, args.cold_every,
                              args.threads, sklearn=not args.no_sklearn, ridge_compare=True,
                              loose_compare=True))
        print(json.dumps(rows[-1]), flush=True)
    if "path50" in args.only:
        if big is None:
            big = make_sparse_binomial(seed=0)
        rows.append(case_path(big, "lasso path 1M", 50, 1.0, None, args.cold_every_1m,
                              args.threads))
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(machine=describe(), results=rows), fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
