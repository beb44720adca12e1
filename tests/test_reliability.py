"""The reliability promises (README, "Reliability"), each with its proof.

- kernels agree with a 50-digit mpmath reference at extreme scores (binomial, softmax);
- thread safety: 8 Python threads fitting different problems at once give bitwise the
  results of serial fits;
- determinism: bitwise the same coefficients across processes;
- no leaks: 1,000 fits in a loop leave resident memory flat;
- no hidden copy of X in any supported layout (tracemalloc sees numpy's allocations);
- values beyond float64's range for squares are refused with a clear error.

Fuzzing of the public API is in test_fuzz.py, Ctrl-C in test_interrupt.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import examples

import fastlogit
from fastlogit._core import _kernels, _softmax
from fastlogit._input._validate import as_design

mpmath = pytest.importorskip("mpmath")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# ---------------------------------------------------------------------------
# Kernels against mpmath at 50 digits
#
# One row with x = 1 and w = z makes the score exact (z = 0 + 1 * z), so the reference
# sees exactly the kernel's z and any difference is the kernel's own rounding. Scores
# run from -1e4 to 1e4 and include the branch points of log1pexp (-37, 18, 33.3).

SCORES = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False),
    st.sampled_from([-745.0, -709.0, -37.0, -36.9, 0.0, 1e-300, 17.9, 18.0, 18.1, 33.3, 33.4,
                     709.0, 745.0]),
)


def _mp_log1pexp(z):
    return mpmath.log1p(mpmath.exp(z))


def _rel_err(got, ref):
    ref = mpmath.mpf(ref)
    if ref == 0:
        return abs(mpmath.mpf(got))
    return float(abs((mpmath.mpf(got) - ref) / ref))


@settings(max_examples=examples(150))
@given(z=SCORES, n=st.floats(0, 1e6), frac=st.floats(0, 1), weight=st.floats(0.1, 10))
def test_binomial_kernel_matches_mpmath_at_extreme_scores(z, n, frac, weight):
    mpmath.mp.dps = 50
    k = n * frac
    X = np.ones((1, 1))
    d = as_design(X)
    g = np.empty(1)
    sn, sk = np.array([weight * n]), np.array([weight * k])
    loss, gb = _kernels.binomial_loss_grad(*d.kernel_args, sn, sk, None, np.array([z]), 0.0,
                                           g, 1)
    zm = mpmath.mpf(z)
    ref_loss = mpmath.mpf(sn[0]) * _mp_log1pexp(zm) - mpmath.mpf(sk[0]) * zm
    ref_r = mpmath.mpf(sn[0]) / (1 + mpmath.exp(-zm)) - mpmath.mpf(sk[0])
    # a few ulp, measured against the size of the terms (the loss is a difference of two)
    scale_loss = abs(ref_loss) + abs(mpmath.mpf(sk[0]) * zm) * mpmath.mpf(2) ** -52
    assert abs(loss - ref_loss) <= 8 * 2.0**-53 * scale_loss + 1e-300
    # r = n sigmoid(z) - k cancels when the two are close: a few ulp of n, or of r
    assert abs(gb - ref_r) <= 8 * 2.0**-53 * (abs(ref_r) + sn[0]) + 1e-300
    assert g[0] == gb  # x = 1: the gradient is r itself


@settings(max_examples=examples(60))
@given(z=st.lists(SCORES, min_size=2, max_size=5), counts=st.lists(st.floats(0, 100),
                                                                   min_size=5, max_size=5))
def test_softmax_kernel_matches_mpmath_at_extreme_scores(z, counts):
    mpmath.mp.dps = 50
    K = len(z)
    c = np.array(counts[:K])
    X = np.ones((1, 1))
    d = as_design(X)
    g, gb = np.empty(K), np.empty(K)
    loss = _softmax.softmax_loss_grad(*d.kernel_args, K, c, None, None, None,
                                      np.array(z, dtype=float), np.zeros(K), g, gb, 1)
    zm = [mpmath.mpf(v) for v in z]
    N = mpmath.fsum(mpmath.mpf(v) for v in c)
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in zm))
    ref_loss = N * lse - mpmath.fsum(mpmath.mpf(ci) * zi for ci, zi in zip(c, zm))
    # terms up to N * max|z|: the loss is their (exact-sign) difference
    scale = N * max(abs(v) for v in zm) + abs(ref_loss)
    assert abs(loss - ref_loss) <= 16 * 2.0**-53 * scale + 1e-300
    for j in range(K):
        ref_d = N * mpmath.exp(zm[j] - lse) - mpmath.mpf(c[j])
        assert abs(gb[j] - ref_d) <= 16 * 2.0**-53 * (abs(ref_d) + N + 1e-300), j
        assert g[j] == gb[j]


@settings(max_examples=examples(40))
@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([1.0, 30.0, 300.0]))
def test_binomial_kernel_matches_mpmath_on_random_problems(seed, spread):
    """Several rows and features (the sums and the dot products too), scores up to +-1e3."""
    mpmath.mp.dps = 50
    rng = np.random.default_rng(seed)
    m, p = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    X = rng.normal(size=(m, p))
    w = rng.normal(size=p) * spread
    b = float(rng.normal())
    n = rng.uniform(0, 20, size=m)
    k = n * rng.uniform(0, 1, size=m)
    d = as_design(X)
    g = np.empty(p)
    loss, gb = _kernels.binomial_loss_grad(*d.kernel_args, n, k, None, w, b, g, 1)
    ref_loss, ref_g, ref_gb, bound_g, bound_b = mpmath.mpf(0), [mpmath.mpf(0)] * p, 0, [0] * p, 0
    for i in range(m):
        terms = [mpmath.mpf(X[i, j]) * mpmath.mpf(w[j]) for j in range(p)]
        z = mpmath.mpf(b) + mpmath.fsum(terms)
        # the kernel's z is this z rounded after |b| + sum |x w|: its error moves r by
        # at most n/4 per unit of z
        dz = 4 * 2.0**-53 * (abs(b) + float(sum(abs(t) for t in terms)))
        ref_loss += n[i] * _mp_log1pexp(z) - k[i] * z
        r = n[i] / (1 + mpmath.exp(-z)) - k[i]
        err_r = n[i] / 4 * dz + 4 * 2.0**-53 * (abs(r) + n[i])
        ref_gb += r
        bound_b += err_r
        for j in range(p):
            ref_g[j] += r * X[i, j]
            bound_g[j] += err_r * abs(X[i, j])
    assert _rel_err(loss, ref_loss) < 1e-12 or abs(loss - ref_loss) < 1e-12
    assert abs(gb - ref_gb) <= bound_b + 1e-300
    for j in range(p):
        assert abs(g[j] - ref_g[j]) <= bound_g[j] + 1e-300


# ---------------------------------------------------------------------------
# Thread safety and determinism


# The problems and the fit, as source: the determinism test runs the same code in fresh
# interpreters that import nothing but numpy, scipy and fastlogit.
PROBLEMS = textwrap.dedent(
    """
    import hashlib
    import numpy as np
    import scipy.sparse as sp
    import fastlogit


    def problems(count, seed=0, m=3000):
        \"\"\"Different problems: dense and CSR, binomial, a few thousand rows.\"\"\"
        out = []
        for i in range(count):
            rng = np.random.default_rng(seed + i)
            p = 15 + i
            X = rng.normal(size=(m, p))
            if i % 2:
                X[rng.random((m, p)) > 0.3] = 0.0
                X = sp.csr_matrix(X)
            n = rng.integers(1, 8, size=m).astype(float)
            eta = (X @ rng.normal(size=p)) * 0.5
            k = rng.binomial(n.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
            out.append((X, n, k))
        return out


    def fit(prob, threads):
        X, n, k = prob
        return fastlogit.fit(X, n, k, lam=0.5, threads=threads)


    def digest(res):
        raw = res.coef.tobytes() + np.float64(res.intercept).tobytes()
        return hashlib.sha256(raw).hexdigest()
    """
)
_ns: dict = {}
exec(PROBLEMS, _ns)
_problems, _fit, _digest = _ns["problems"], _ns["fit"], _ns["digest"]


def test_eight_python_threads_fit_different_problems_like_serial_fits():
    probs = _problems(8)
    serial = [_fit(p, 2) for p in probs]
    barrier = threading.Barrier(8)

    def work(prob):
        barrier.wait()  # all eight fits really run at once
        return _fit(prob, 2)

    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(work, probs))
    for a, b in zip(serial, concurrent):
        assert np.array_equal(a.coef, b.coef) and a.intercept == b.intercept
        assert a.n_fev == b.n_fev and a.objective == b.objective


def test_bitwise_identical_coefficients_across_processes():
    """A fresh interpreter and this one: the same bytes, two kernel threads."""
    run = 'print(" ".join(digest(fit(p, 2)) for p in problems(2, seed=100, m=1000)))'
    local = " ".join(_digest(_fit(p, 2)) for p in _problems(2, seed=100, m=1000))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", PROBLEMS + "\n" + run], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == local


# ---------------------------------------------------------------------------
# Resident memory: no leaks, no hidden copies


def _rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux /proc needed")
@pytest.mark.skipif(bool(os.environ.get("FASTLOGIT_SANITIZED")),
                    reason="AddressSanitizer's quarantine holds freed memory by design")
def test_a_thousand_fits_leave_resident_memory_flat():
    """Every entry point that allocates in the kernels (loss/gradient, Hessian, softmax,
    predictions, inference); a leak of one kernel buffer per evaluation (>= 2 KB, tens of
    evaluations a fit) would add tens of MB over 1,000 fits."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    Xs = sp.csr_matrix(np.where(rng.random((60, 4)) < 0.5, X, 0.0))
    n = np.full(60, 3.0)
    k = rng.integers(0, 4, size=60).astype(float)
    y = np.arange(60) % 3
    calls = [
        lambda: fastlogit.fit(X, n, k, threads=1).predict_proba(X),
        lambda: fastlogit.fit(Xs, n, k, solver="newton", threads=1).bse,
        lambda: fastlogit.fit_multinomial(X, y, threads=1).predict_proba(X),
        lambda: fastlogit.fit(Xs, n, k, l1_ratio=0.5, threads=1),
    ]
    for i in range(40):  # warm-up: caches, allocator pools, lazily loaded modules
        calls[i % 4]()
    before = _rss_bytes()
    for i in range(1000):
        calls[i % 4]()
    grown = _rss_bytes() - before
    assert grown < 4 << 20, f"resident memory grew by {grown / 2**20:.1f} MB over 1,000 fits"


def _layouts(m=20000, p=60):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(m, p))
    X[rng.random((m, p)) > 0.5] = 0.0
    Xs = sp.csr_matrix(X)
    X64 = Xs.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    return {
        "dense C f64": np.ascontiguousarray(X),
        "dense F f64": np.asfortranarray(X),
        "dense C f32": X.astype(np.float32),
        "dense F f32": np.asfortranarray(X, dtype=np.float32),
        "csr f64 i32": Xs,
        "csr f32 i32": sp.csr_matrix(Xs, dtype=np.float32),
        "csr f64 i64": X64,
        "csr_array": sp.csr_array(Xs),
    }


def _nbytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes


def _peak_traced(fn):
    """Peak bytes allocated (through numpy/Python's allocators) while fn runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layout", list(_layouts(m=10, p=2)))
def test_no_hidden_copy_of_X_in_any_supported_layout(layout):
    """A fit and a prediction allocate O(n_rows + n_features), never a copy of X: the
    peak of everything numpy allocates stays well below X's own size."""
    X = _layouts()[layout]
    m = X.shape[0]
    rng = np.random.default_rng(0)
    n = np.full(m, 5.0)
    k = rng.integers(0, 6, size=m).astype(float)
    X_bytes = _nbytes(X)
    # a dozen row-length float64 vectors (n, k, weights, scores, predictions) is the budget
    budget = 12 * 8 * m
    assert budget < X_bytes / 2
    peak = _peak_traced(lambda: fastlogit.fit(X, n, k, threads=2).predict_proba(X))
    assert peak < budget, f"{layout}: peak {peak / 1e6:.1f} MB, X is {X_bytes / 1e6:.1f} MB"


def test_the_copy_detector_sees_a_documented_copy():
    """The measurement above can fail: an int64 matrix is converted (one copy of X)."""
    X = np.round(_layouts()["dense C f64"] * 3).astype(np.int64)
    n = np.full(X.shape[0], 5.0)
    k = np.floor(n / 2)
    peak = _peak_traced(lambda: fastlogit.fit(X, n, k, threads=1))
    assert peak >= X.nbytes


# ---------------------------------------------------------------------------
# Magnitudes: what float64 cannot hold is refused, clearly


def test_columns_too_large_for_float64_squares_are_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    X[:, 1] *= 1e200
    n = np.full(30, 4.0)
    k = np.floor(n * rng.uniform(size=30))
    for Xl in (X, sp.csr_matrix(X)):
        with pytest.raises(ValueError, match="column 1 of X holds values too large"):
            fastlogit.fit(Xl, n, k)
        with pytest.raises(ValueError, match="column 1 of X holds values too large"):
            fastlogit.fit_multinomial(Xl, np.arange(30) % 3)
    # up to ~1e150 is fine and matches the rescaled fit (the penalty rescaled with it)
    X[:, 1] /= 1e50
    res = fastlogit.fit(X, n, k, lam=1e-6)
    Xr = X.copy()
    Xr[:, 1] /= 1e150
    ref = fastlogit.fit(Xr, n, k, lam=1e-6, penalty_factor=[1.0, 1e-300, 1.0])
    np.testing.assert_allclose(res.coef * [1, 1e150, 1], ref.coef, rtol=1e-6)


@pytest.mark.filterwarnings("ignore::fastlogit.ConvergenceWarning")  # saturated: slow, finite
def test_multinomial_hessian_stays_positive_definite_with_saturated_classes():
    """Regression (found by test_fuzz.py): with |x| ~ 1e150 the fitted probabilities are 0
    or 1 to double precision; the Newton polish's Hessian used 1 - p_a there, which
    cancels, and its Cholesky failed with LinAlgError."""
    X = np.zeros((11, 4))
    X[0] = [5.72654863e-002, 0, -8.66769406e+149, 0]
    X[1] = [0, -1.85186327e+008, 0, 2.72800569e-001]
    X[2] = [8.07460437e-001, -7.95991472e+007, 0, 1.47795093e+000]
    X[3] = [0, 9.04993098e+006, 0, 0]
    X[4] = [2.17552747e-001, -1.85408498e+007, 0, 0]
    X[5] = [-1.03835801e+000, 0, 1.47703316e+150, 0]
    X[6] = [0, 1.70743643e+007, 0, 7.31272423e-001]
    X[7] = [0, 7.98374674e+007, -1.54667597e+150, 0]
    X[9] = [0, 0, 0, -6.73327852e-001]
    y = np.random.default_rng(79).integers(0, 2, size=11)
    res = fastlogit.fit_multinomial(X, y, lam=0.1)
    assert np.all(np.isfinite(res.coef))
