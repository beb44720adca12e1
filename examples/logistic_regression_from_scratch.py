"""
Logistic regression from scratch
================================

Plain gradient ascent, written out in numpy, against fastlogit and scikit-learn.

Two classes of 5,000 points each, drawn from correlated Gaussians with means
(0, 0) and (1, 4) and covariance [[1, .75], [.75, 1]]. The model is
P(class 1 | x) = sigmoid(w0 + w1 x1 + w2 x2), fitted without a penalty by

* plain gradient ascent on the log-likelihood, written out below in numpy
  (w += learning_rate * X^T (y - sigmoid(X w))): the textbook method;
* fastlogit.fit(X, y=y, lam=0);
* scikit-learn's LogisticRegression with no penalty (C = inf).

The weights and accuracies are printed side by side (accuracy about 0.99),
and a PNG shows the points, the misclassified ones marked, and the decision
boundary w0 + w1 x1 + w2 x2 = 0.

    python examples/logistic_regression_from_scratch.py [--small] [--plot FILE.png]

Gradient ascent needs many small steps (the learning rate must stay below
about 2 / the largest curvature, and the problem is ill-conditioned), so
after its --steps it is close to, not at, the maximum likelihood weights that
fastlogit and scikit-learn agree on. Exits with status 1 if fastlogit and
scikit-learn disagree by more than 1e-4 in any weight.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from scipy.special import expit

import fastlogit


def make_data(per_class: int, seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cov = [[1.0, 0.75], [0.75, 1.0]]
    x0 = rng.multivariate_normal([0.0, 0.0], cov, per_class)
    x1 = rng.multivariate_normal([1.0, 4.0], cov, per_class)
    X = np.vstack([x0, x1])
    y = np.concatenate([np.zeros(per_class), np.ones(per_class)])
    return X, y


def gradient_ascent(X: np.ndarray, y: np.ndarray, steps: int, learning_rate: float
                    ) -> np.ndarray:
    """Maximise the log-likelihood by plain gradient ascent; returns [w0, w1, w2]."""
    A = np.hstack([np.ones((X.shape[0], 1)), X])  # a column of ones for the intercept
    w = np.zeros(A.shape[1])
    for step in range(1, steps + 1):
        p = expit(A @ w)
        w += learning_rate * (A.T @ (y - p))
        if step in (1, 10, 100, 1000, 10_000, 100_000, steps):
            loglik = np.sum(y * (A @ w) - np.logaddexp(0.0, A @ w))
            print(f"  step {step:>7,}: log-likelihood {loglik:12.4f}, w = {np.round(w, 4)}")
    return w


def linearly_separable(X: np.ndarray, y: np.ndarray) -> bool:
    """Is there (w0, w) with s_i (w0 + x_i . w) >= 1 for all i (s = +-1)? A feasibility LP."""
    from scipy.optimize import linprog

    s = np.where(y == 1, 1.0, -1.0)
    A = -s[:, None] * np.hstack([np.ones((X.shape[0], 1)), X])
    out = linprog(np.zeros(A.shape[1]), A_ub=A, b_ub=-np.ones(X.shape[0]),
                  bounds=[(None, None)] * A.shape[1], method="highs")
    return out.status == 0  # 0: feasible (separable); 2: infeasible


def accuracy(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean(((w[0] + X @ w[1:]) > 0) == (y == 1)))


def plot(path: str, X: np.ndarray, y: np.ndarray, w: np.ndarray, w_ga: np.ndarray) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib): no plot")
        return
    wrong = ((w[0] + X @ w[1:]) > 0) != (y == 1)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    for label, color in ((0, "C0"), (1, "C1")):
        sel = (y == label) & ~wrong
        ax.scatter(X[sel, 0], X[sel, 1], s=4, alpha=0.4, color=color, label=f"class {label}")
    ax.scatter(X[wrong, 0], X[wrong, 1], s=40, marker="x", color="red",
               label=f"misclassified ({wrong.sum()})")
    x1 = np.linspace(X[:, 0].min(), X[:, 0].max(), 2)
    ax.plot(x1, -(w[0] + w[1] * x1) / w[2], color="k", label="decision boundary (fastlogit)")
    ax.plot(x1, -(w_ga[0] + w_ga[1] * x1) / w_ga[2], color="0.5", ls="--",
            label="gradient ascent")
    ax.set_ylim(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"Logistic regression on {len(y):,} points: accuracy "
                 f"{1 - wrong.mean():.4f}", fontsize=10)
    ax.legend(fontsize=8, markerscale=2, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="500 points per class and 20,000 steps (for tests)")
    parser.add_argument("--steps", type=int, default=None,
                        help="gradient ascent steps (default 100,000; --small 20,000)")
    parser.add_argument("--learning-rate", type=float, default=5e-5,
                        help="gradient ascent step (default 5e-5, for 10,000 points)")
    parser.add_argument("--plot", default="logistic_regression_from_scratch.png",
                        help="PNG to write (default %(default)s); '' for none")
    args = parser.parse_args(argv)
    per_class = 500 if args.small else 5000
    steps = args.steps or (20_000 if args.small else 100_000)
    rate = args.learning_rate * (5000 / per_class)  # the same step per point

    X, y = make_data(per_class)
    print(f"{len(y):,} points, two correlated Gaussian classes of {per_class:,}\n")
    print(f"plain gradient ascent, learning rate {rate:g}, {steps:,} steps:")
    t0 = time.perf_counter()
    w_ga = gradient_ascent(X, y, steps, rate)
    t_ga = time.perf_counter() - t0

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", fastlogit.SeparationWarning)
        res = fastlogit.fit(X, y=y, lam=0.0, factr=10.0, pgtol=1e-10)
    t_fl = time.perf_counter() - t0
    w_fl = np.concatenate(([res.intercept], res.coef))
    if caught and not linearly_separable(X, y):
        # R's glm warns alike ("fitted probabilities numerically 0 or 1 occurred")
        print("\nnote: fastlogit warned of separation because points far from the boundary "
              "have fitted\nprobabilities within 1e-8 of 0 or 1. A linear program shows no "
              "line separates the classes,\nso the maximum likelihood estimate exists and the "
              "warning is a false alarm here.")

    columns = [("gradient ascent", w_ga, t_ga), ("fastlogit", w_fl, t_fl)]
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("scikit-learn is not installed (pip install scikit-learn): skipping it")
        w_sk = None
    else:
        t0 = time.perf_counter()
        clf = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
        w_sk = np.concatenate((clf.intercept_, clf.coef_.ravel()))
        columns.append(("scikit-learn", w_sk, time.perf_counter() - t0))

    print(f"\n{'':<10}" + "".join(f"{name:>17}" for name, _, _ in columns))
    for i, name in enumerate(["w0", "w1", "w2"]):
        print(f"{name:<10}" + "".join(f"{w[i]:17.6f}" for _, w, _ in columns))
    print(f"{'accuracy':<10}" + "".join(f"{accuracy(X, y, w):17.4f}" for _, w, _ in columns))
    print(f"{'seconds':<10}" + "".join(f"{t:17.3f}" for _, _, t in columns))
    print(f"\nfastlogit: {res.n_iter} L-BFGS-B iterations; gradient ascent is within "
          f"{np.max(np.abs(w_ga - w_fl)):.2g} of its weights after {steps:,} steps")
    if args.plot:
        plot(args.plot, X, y, w_fl, w_ga)
    if w_sk is not None:
        gap = float(np.max(np.abs(w_fl - w_sk)))
        print(f"fastlogit vs scikit-learn: max |weight difference| {gap:.1e}: "
              + ("agree" if gap < 1e-4 else "DISAGREE"))
        return 0 if gap < 1e-4 else 1
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # a disagreement: fail loudly (also when the docs run this example)
        sys.exit(status)
