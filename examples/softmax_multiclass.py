"""
Softmax regression on the iris flowers
======================================

Softmax (multinomial) logistic regression on a small multiclass set: Fisher's iris.

150 flowers, 4 measurements, 3 species. fastlogit.fit_multinomial minimises

    F(b, W) = sum_i [logsumexp_k(z_ik) - z_i,y_i] + lam/2 ||W||^2,   z_ik = b_k + x_i . w_k,

in the symmetric parametrisation over all K classes that scikit-learn uses, so
lam = 1/C of LogisticRegression (checked here with its newton-cg solver) and the two
must agree. The script prints
both sets of coefficients, the accuracy and the confusion matrix, then fits
the same model from class *counts* of the distinct rows (iris has a few
duplicate flowers): the same optimum from fewer rows.

    python examples/softmax_multiclass.py [--lam 1.0]

The iris data ship with scikit-learn (no download). Exits with status 1 if
fastlogit and scikit-learn disagree by more than 1e-5.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import fastlogit


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--lam", type=float, default=1.0, help="L2 penalty (default 1)")
    parser.add_argument("--small", action="store_true",
                        help="accepted for uniformity with the other examples (already small)")
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("this example needs scikit-learn (for the iris data): pip install scikit-learn")
        return 1
    iris = load_iris()
    X, y = iris.data, iris.target
    names = [str(s) for s in iris.target_names]
    features = [f.replace(" (cm)", "").replace(" ", "_") for f in iris.feature_names]

    res = fastlogit.fit_multinomial(X, y, lam=args.lam, factr=10.0, pgtol=1e-12,
                                    feature_names=features)
    # newton-cg: scikit-learn's lbfgs stops ~1e-12 (relative) short of the optimum whatever
    # its tol (an internal ftol), which moves the intercepts here by ~2e-5
    clf = LogisticRegression(C=1.0 / args.lam, solver="newton-cg", tol=1e-12,
                             max_iter=10_000).fit(X, y)

    print(f"iris: {X.shape[0]} rows, {X.shape[1]} features, {len(names)} classes; "
          f"lam = {args.lam:g} (scikit-learn C = {1 / args.lam:g})\n")
    print(f"{'class':<11} {'parameter':<13} {'fastlogit':>11} {'scikit-learn':>13}")
    for k, cls in enumerate(names):
        rows = [("intercept", res.intercept[k], clf.intercept_[k])] + [
            (f, res.coef[k, j], clf.coef_[k, j]) for j, f in enumerate(features)]
        for i, (param, ours, theirs) in enumerate(rows):
            print(f"{cls if i == 0 else '':<11} {param:<13} {ours:11.5f} {theirs:13.5f}")
    pred = res.predict(X)
    print(f"\nfastlogit: {res.n_iter} L-BFGS-B iterations; accuracy {np.mean(pred == y):.4f} "
          f"(scikit-learn {clf.score(X, y):.4f})")
    print("confusion matrix (rows: true species, columns: predicted):")
    print(f"{'':<11}" + "".join(f"{c:>11}" for c in names))
    for k, cls in enumerate(names):
        print(f"{cls:<11}" + "".join(f"{np.sum((y == k) & (pred == j)):>11}"
                                     for j in range(len(names))))

    # the same fit from counts: one row per distinct flower, counts over the classes
    uniq, inverse = np.unique(X, axis=0, return_inverse=True)
    counts = np.zeros((uniq.shape[0], len(names)))
    np.add.at(counts, (inverse.ravel(), y), 1.0)
    res_counts = fastlogit.fit_multinomial(uniq, counts=counts, lam=args.lam, factr=10.0,
                                           pgtol=1e-12)
    same = float(np.max(np.abs(res_counts.coef - res.coef)))
    print(f"\nfrom counts on the {uniq.shape[0]} distinct rows (of {X.shape[0]}): "
          f"max |coefficient difference| {same:.1e}")

    gap = max(float(np.max(np.abs(res.coef - clf.coef_))),
              float(np.max(np.abs(res.intercept - clf.intercept_))))
    ok = gap < 1e-5 and same < 1e-6
    print(f"fastlogit vs scikit-learn: max |difference| {gap:.1e}: "
          + ("agree" if ok else "DISAGREE"))
    return 0 if ok else 1


if __name__ == "__main__":
    status = main()
    if status:  # a disagreement: fail loudly (also when the docs run this example)
        sys.exit(status)
