"""Shared helpers: random binomial problems in every supported layout, and numpy references."""

from __future__ import annotations

import os

# Every test runs the kernels' multi-thread code paths, however small its data: without
# this, inputs under ~2^20 values of work per thread run on one thread (_rows.pxd,
# thread_count). Read once per compiled module, so it must be set before fastlogit loads.
os.environ.setdefault("FASTLOGIT_MIN_THREAD_WORK", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def random_problem(m=300, p=12, density=None, seed=0, mean_trials=6, scale=0.5):
    """(X dense float64 C-order, n, k, sample_weight, offset) with a sparse pattern if density."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    if density is not None:
        X[rng.random((m, p)) > density] = 0.0
    n = rng.integers(0, 2 * mean_trials, size=m).astype(float)
    n[:3] = [0.0, 1.0, 2.5]  # a row with no trials and a fractional one
    w = rng.normal(size=p) * scale
    prob = 1.0 / (1.0 + np.exp(-(X @ w - 0.3)))
    k = np.minimum(n, np.round(n * prob + rng.normal(size=m)).clip(0))
    k[2] = 1.25
    s = rng.uniform(0.2, 2.0, size=m)
    o = rng.normal(scale=0.3, size=m)
    return X, n, k, s, o


def layouts(X):
    """The same matrix in every supported layout: name -> matrix."""
    Xs = sp.csr_matrix(X)
    out = {
        "dense_c64": np.ascontiguousarray(X),
        "dense_f64": np.asfortranarray(X),
        "dense_c32": np.ascontiguousarray(X, dtype=np.float32),
        "dense_f32": np.asfortranarray(X, dtype=np.float32),
        "csr64_i32": Xs,
        "csr32_i32": sp.csr_matrix(Xs, dtype=np.float32),
    }
    X64 = Xs.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    out["csr64_i64"] = X64
    out["csr_array"] = sp.csr_array(Xs)
    return out


def numpy_loss_grad(X, n, k, s, o, w, b):
    """Reference: plain numpy, two passes, in float64 throughout."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    z = X @ w + b + (0 if o is None else o)
    s = np.ones_like(n) if s is None else s
    loss = np.sum(s * (n * np.logaddexp(0.0, z) - k * z))
    r = s * (n / (1.0 + np.exp(-z)) - k)
    return loss, X.T @ r, r.sum()


@pytest.fixture
def problem():
    return random_problem()


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """References (scikit-learn's newton-cholesky, statsmodels) on one BLAS thread: on a
    shared 2-core machine, multi-threaded BLAS on these small problems oversubscribes the
    cores (digits' newton-cholesky took 39 s instead of 0.8 s under load)."""
    try:
        import threadpoolctl
    except ImportError:  # optional: without it the references just run as they would
        yield
        return
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


# Hypothesis profiles for the property tests (tests/test_fuzz.py and others): the normal
# suite runs a few hundred examples in seconds; FASTLOGIT_HYPOTHESIS_PROFILE=fastlogit-long
# is the long run of the separate CI job. No deadline: timings on a shared machine vary.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass
else:
    settings.register_profile("fastlogit", deadline=None, derandomize=False,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("fastlogit-long", deadline=None, max_examples=20_000,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("FASTLOGIT_HYPOTHESIS_PROFILE", "fastlogit"))


def examples(n):
    """n hypothesis examples in the normal suite; the long profile's count under
    FASTLOGIT_HYPOTHESIS_PROFILE=fastlogit-long (an explicit max_examples in a test's
    @settings would otherwise win over the profile)."""
    if os.environ.get("FASTLOGIT_HYPOTHESIS_PROFILE") == "fastlogit-long":
        from hypothesis import settings as current

        return current.default.max_examples
    return n


def star98_standardised():
    """statsmodels' star98 with standardised columns, as (X, n, k) (skips without it)."""
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.star98.load()
    Y, X = np.asarray(d.endog, float), np.asarray(d.exog, float)
    return (X - X.mean(0)) / X.std(0), Y.sum(1), Y[:, 0]


def r_has_glmnet():
    """Whether Rscript runs with the glmnet and jsonlite packages."""
    import shutil
    import subprocess

    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(glmnet); library(jsonlite)"],
                           capture_output=True)
    return probe.returncode == 0

