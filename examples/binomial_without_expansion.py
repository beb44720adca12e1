"""
Binomial data without expansion
===============================

Two rows of (x, n, k) instead of eight 0/1 rows.

Two groups, each with 4 trials: group A (x = [1, 0]) had 3 successes, group B
(x = [0, 1]) had 1. fastlogit fits the two binomial rows directly,

    X = [[1, 0], [0, 1]],  n = [4, 4],  k = [3, 1],  lam = 1/10,

while scikit-learn's LogisticRegression takes 0/1 labels only, so the data
must first be expanded into 8 rows (3 ones and 1 zero for A, 1 one and 3
zeros for B), with C = 1/lam = 10. Both minimise the same penalised
negative log-likelihood, so they must agree; a third, independent check
solves the optimality condition by hand: by symmetry the intercept is 0 and
the coefficients are (w, -w) with

    4 sigmoid(w) - 3 + lam w = 0.

    python examples/binomial_without_expansion.py

Exits with status 1 if the answers disagree by more than 1e-6.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

import fastlogit


def expand(X: np.ndarray, n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row i -> n_i copies of x_i, k_i labelled 1 and n_i - k_i labelled 0."""
    rows, labels = [], []
    for x, ni, ki in zip(X, n.astype(int), k.astype(int)):
        rows += [x] * ni
        labels += [1] * ki + [0] * (ni - ki)
    return np.array(rows), np.array(labels)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="accepted for uniformity with the other examples (already tiny)")
    parser.parse_args(argv)

    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    n = np.array([4.0, 4.0])
    k = np.array([3.0, 1.0])
    lam = 0.1

    res = fastlogit.fit(X, n, k, lam=lam, factr=10.0, pgtol=1e-12)
    X8, y8 = expand(X, n, k)

    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("scikit-learn is not installed (pip install scikit-learn): skipping its column")
        sk = None
    else:
        clf = LogisticRegression(C=1.0 / lam, tol=1e-12, max_iter=10_000).fit(X8, y8)
        sk = np.concatenate((clf.intercept_, clf.coef_.ravel()))

    w = brentq(lambda w: 4.0 * expit(w) - 3.0 + lam * w, 0.0, 10.0, xtol=1e-15)
    by_hand = np.array([0.0, w, -w])
    ours = np.concatenate(([res.intercept], res.coef))

    print(f"fastlogit on {X.shape[0]} binomial rows (n = {n.astype(int).tolist()}, "
          f"k = {k.astype(int).tolist()}), lam = {lam}")
    print(f"scikit-learn on the {len(y8)} expanded 0/1 rows, C = {1 / lam:g}\n")
    print(f"{'parameter':<10} {'fastlogit':>12} {'scikit-learn':>13} {'by hand':>12}")
    for i, name in enumerate(["intercept", "w_A", "w_B"]):
        sk_text = f"{sk[i]:13.6f}" if sk is not None else f"{'-':>13}"
        print(f"{name:<10} {ours[i]:12.6f} {sk_text} {by_hand[i]:12.6f}")
    p = res.predict_proba(X)
    print(f"\nfitted success probability: A {p[0]:.4f} (observed 3/4), B {p[1]:.4f} (observed "
          "1/4): shrunk towards 1/2 by the penalty")

    gaps = {"by hand": np.max(np.abs(ours - by_hand))}
    if sk is not None:
        gaps["scikit-learn"] = np.max(np.abs(ours - sk))
    print("max |difference| from fastlogit: "
          + ", ".join(f"{name} {gap:.1e}" for name, gap in gaps.items()))
    ok = all(gap < 1e-6 for gap in gaps.values())
    print("agree" if ok else "DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    status = main()
    if status:  # a disagreement: fail loudly (also when the docs run this example)
        sys.exit(status)
