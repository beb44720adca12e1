"""fastlogit.LogisticRegressionCV against scikit-learn's LogisticRegressionCV.

    python -m benchmarks.sklearn_cv_compare [--cases breast_cancer,dense,sparse] [--quick]
                                            [--n-jobs N] [--tol TOL]

Both estimators get the same settings -- Cs=20, the same 5 folds (StratifiedKFold(5),
unshuffled), ridge (l1_ratios=(0,)), neg_log_loss scoring, scikit-learn's default tol and
max_iter -- and are timed once each on:

    breast_cancer   569 x 30, standardised (scikit-learn's data set)
    dense           200,000 x 100, N(0, 1) columns, 0/1 labels from a logistic model
    sparse          100,000 x 100,000 one-hot CSR: 10 fields of 10,000 levels each
                    (10 stored ones per row), 0/1 labels from a logistic model

Printed per case: seconds for each, the ratio, the chosen C of each, and the difference
of the mean held-out scores at scikit-learn's chosen C (at very large C, where neither
reaches tol within max_iter, the scores of the two differ more). The machine, thread
count and versions are printed first. --quick shrinks the two large problems tenfold (a
smoke run); --n-jobs sets fastlogit's threads (default: OpenMP's); --tol both
estimators' tol (default 1e-4, scikit-learn's; below it max_iter rises to 10,000 for
both).
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp


def breast_cancer() -> tuple[Any, np.ndarray]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def dense(rows: int = 200_000, cols: int = 100, seed: int = 0) -> tuple[Any, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols))
    w = rng.normal(scale=1.0 / np.sqrt(cols), size=cols) * 3
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(X @ w - 0.5)))).astype(np.int64)
    return X, y


def sparse_one_hot(rows: int = 100_000, fields: int = 10, levels: int = 10_000,
                   seed: int = 0) -> tuple[Any, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, size=(rows, fields)) + np.arange(fields) * levels
    indices = np.sort(codes, axis=1).ravel().astype(np.int32)
    indptr = np.arange(0, rows * fields + 1, fields, dtype=np.int32)
    X = sp.csr_matrix((np.ones(rows * fields), indices, indptr), shape=(rows, fields * levels))
    effect = rng.normal(scale=0.5, size=fields * levels)
    z = np.asarray(X @ effect).ravel() - 0.3
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return X, y


def run(name: str, X: Any, y: np.ndarray, n_jobs: Any = None, tol: float = 1e-4) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV as SkCV
    from sklearn.model_selection import StratifiedKFold

    from fastlogit import LogisticRegressionCV as FlCV

    settings = dict(Cs=20, cv=StratifiedKFold(5), l1_ratios=(0.0,), scoring="neg_log_loss",
                    use_legacy_attributes=False, tol=tol,
                    max_iter=100 if tol >= 1e-4 else 10_000)
    out: dict = {"case": name, "shape": X.shape}
    for label, cls in (("fastlogit", FlCV), ("sklearn", SkCV)):
        est = cls(n_jobs=n_jobs, **settings) if label == "fastlogit" else cls(**settings)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            est.fit(X, y)
            out[f"{label}_s"] = time.perf_counter() - start
        out[f"{label}_C"] = float(est.C_)
        out[f"{label}_scores"] = est.scores_.mean(axis=0).ravel()
        out[f"{label}_Cs"] = np.asarray(est.Cs_)
        out[f"{label}_warnings"] = sum(issubclass(w.category, ConvergenceWarning)
                                       for w in caught)
    return out


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="breast_cancer,dense,sparse")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args(argv)
    from benchmarks.machine import describe

    print(describe())
    print(f"fastlogit n_jobs={args.n_jobs}, tol={args.tol}")
    scale = 10 if args.quick else 1
    makers = {
        "breast_cancer": breast_cancer,
        "dense": lambda: dense(rows=200_000 // scale),
        "sparse": lambda: sparse_one_hot(rows=100_000 // scale, levels=10_000 // scale),
    }
    print(f"{'case':14s} {'shape':>18s} {'fastlogit s':>12s} {'sklearn s':>10s} "
          f"{'ratio':>7s} {'C fastlogit':>12s} {'C sklearn':>10s} {'|dscore| at C':>13s} "
          f"{'conv. warnings (fl/sk)':>22s}")
    for name in args.cases.split(","):
        X, y = makers[name]()
        r = run(name, X, y, args.n_jobs, args.tol)
        at = int(np.flatnonzero(r["sklearn_Cs"] == r["sklearn_C"])[0])
        diff = float(abs(r["fastlogit_scores"][at] - r["sklearn_scores"][at]))
        print(f"{name:14s} {str(r['shape']):>18s} {r['fastlogit_s']:12.2f} "
              f"{r['sklearn_s']:10.2f} {r['sklearn_s'] / r['fastlogit_s']:7.1f} "
              f"{r['fastlogit_C']:12.4g} {r['sklearn_C']:10.4g} {diff:13.2e} "
              f"{r['fastlogit_warnings']:>10d}/{r['sklearn_warnings']}", flush=True)


if __name__ == "__main__":
    main()
