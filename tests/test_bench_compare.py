"""The comparison machinery of benchmarks/: each peer given the same problem (its mapping
checked against fastlogit on small problems), the common objective, the cached problems,
the memory meter and one end-to-end run of ``python -m benchmarks.compare``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit
from benchmarks import compare, peers, problems
from benchmarks.conftest import floor_table
from benchmarks.machine import PeakMemory
from fastlogit.datasets import make_dense_binomial, make_sparse_binomial

LAM = 3.0


@pytest.fixture(scope="module")
def small():
    """A small one-hot binomial problem and fastlogit's tight answer on it."""
    prob = make_sparse_binomial(3000, 200, 8, seed=5)
    res = fastlogit.fit(prob.X, prob.n, prob.k, lam=LAM, factr=10.0, pgtol=1e-11)
    return prob, res


def test_common_objective_is_fastlogits_objective(small):
    prob, res = small
    f = peers.common_objective(prob.X, prob.n, prob.k, LAM, res.intercept, res.coef)
    assert f == pytest.approx(res.objective, rel=1e-12)
    f_dense = peers.common_objective(prob.X.toarray(), prob.n, prob.k, LAM, res.intercept,
                                     res.coef)
    assert f_dense == pytest.approx(f, rel=1e-13)


@pytest.mark.parametrize("name", ["sklearn", "glum", "numpy"])
def test_each_peer_solves_the_same_problem(small, name):
    """The mappings (two-row encoding with C = 1/lam; y = k/n, weight n, alpha = lam/sum n;
    the numpy loss on F/sum n) reach fastlogit's optimum when run tight."""
    tool = peers.TOOLS[name]
    if tool.missing():
        pytest.skip(f"{tool.missing()} not installed")
    prob, res = small
    tight = {"sklearn": {"tol": 1e-11}, "glum": {"gradient_tol": 1e-11},
             "numpy": {"factr": 10.0, "pgtol": 1e-11}}[name]
    settings = peers.settings_for(tool, tight)
    answer = tool.fit(tool.prepare(prob.X, prob.n, prob.k, LAM, settings), LAM, settings, 1)
    f = peers.common_objective(prob.X, prob.n, prob.k, LAM, answer.intercept, answer.coef)
    assert (f - res.objective) / res.objective < 1e-10
    np.testing.assert_allclose(answer.coef, res.coef, atol=2e-4 * np.abs(res.coef).max())
    assert answer.intercept == pytest.approx(res.intercept, abs=2e-4)
    assert answer.n_eval is not None and answer.n_eval >= answer.n_iter >= 1


def test_glum_alpha_mapping_is_not_an_accident(small):
    """With the penalty off by a factor sum(n) (alpha = lam) glum lands elsewhere."""
    tool = peers.TOOLS["glum"]
    if tool.missing():
        pytest.skip("glum not installed")
    prob, res = small
    from glum import GeneralizedLinearRegressor

    model = GeneralizedLinearRegressor(family="binomial", alpha=LAM, solver="lbfgs",
                                       gradient_tol=1e-10).fit(prob.X, prob.k / prob.n,
                                                               sample_weight=prob.n)
    assert np.abs(model.coef_ - res.coef).max() > 0.1 * np.abs(res.coef).max()


def test_statsmodels_solves_the_unpenalised_problem():
    tool = peers.TOOLS["statsmodels"]
    if tool.missing():
        pytest.skip("statsmodels not installed")
    prob = make_dense_binomial(2000, 5, seed=3)
    settings = peers.settings_for(tool, {})
    answer = tool.fit(tool.prepare(prob.X, prob.n, prob.k, 0.0, settings), 0.0, settings, 1)
    res = fastlogit.fit(prob.X, prob.n, prob.k, lam=0.0, factr=10.0, pgtol=1e-11)
    np.testing.assert_allclose(answer.coef, res.coef, rtol=1e-6, atol=1e-8)
    assert answer.intercept == pytest.approx(res.intercept, rel=1e-6)


def test_two_row_encoding_keeps_the_likelihood():
    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    n, k = np.array([4.0, 3.0, 2.0]), np.array([3.0, 0.0, 2.0])
    X2, y2, w2 = peers.two_row_encoding(X, n, k)
    # zero-weight rows are dropped: row 1 has no successes, row 2 no failures
    assert X2.shape == (4, 2) and y2.tolist() == [1, 1, 0, 0] and w2.tolist() == [3, 2, 1, 3]
    b, w = 0.3, np.array([0.5, -0.25])
    z2 = X2 @ w + b
    loss2 = np.sum(w2 * (np.logaddexp(0, z2) - y2 * z2))
    assert loss2 == pytest.approx(peers.common_objective(X, n, k, 0.0, b, w), rel=1e-14)


def test_lbfgsb_runs_counts_scipy_evaluations():
    from scipy.optimize import fmin_l_bfgs_b, minimize

    calls = []

    def fun(x):
        calls.append(1)
        return float(np.sum((x - 1.0) ** 2)), 2 * (x - 1.0)

    with peers.lbfgsb_runs() as runs:
        minimize(fun, np.zeros(3), jac=True, method="L-BFGS-B")
        fmin_l_bfgs_b(fun, np.zeros(3))
    assert len(runs) == 2 and sum(r.nfev for r in runs) == len(calls)
    from scipy.optimize import _lbfgsb_py, _minimize

    assert _minimize._minimize_lbfgsb is _lbfgsb_py._minimize_lbfgsb  # restored


def test_settings_overrides():
    tool = peers.TOOLS["glum"]
    assert peers.settings_for(tool, {"gradient_tol": 1e-5})["gradient_tol"] == 1e-5
    with pytest.raises(ValueError, match="no setting"):
        peers.settings_for(tool, {"tol": 1e-5})
    assert peers.parse_value("1e-9") == 1e-9 and peers.parse_value("12") == 12
    assert peers.parse_value("lbfgs") == "lbfgs"


# -- problems ----------------------------------------------------------------------------------

@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(problems.CACHE_ENV, str(tmp_path))
    return tmp_path


def _same(a, b):
    if sp.issparse(a.X):
        assert sp.issparse(b.X) and a.X.dtype == b.X.dtype
        assert a.X.indices.dtype == b.X.indices.dtype
        assert (a.X != b.X).nnz == 0
    else:
        assert a.X.dtype == b.X.dtype and np.array_equal(a.X, b.X)
    for attr in ("n", "k", "coef"):
        assert np.array_equal(getattr(a, attr), getattr(b, attr))
    assert a.intercept == b.intercept


@pytest.mark.parametrize("name", problems.problem_names())
def test_problems_are_seeded_and_cached(cache, name):
    first = problems.load(name, quick=True)
    assert len(list(cache.iterdir())) == 1
    _same(first, problems.load(name, quick=True))  # from the cache
    _same(first, problems.generate(name, quick=True))  # the seed alone
    assert np.all((first.k >= 0) & (first.k <= first.n))


def test_cache_keys_follow_the_arguments():
    spec = problems.PROBLEMS["sparse-1m"]
    assert spec.cache_key(False) != spec.cache_key(True)
    assert spec.cache_key(False) != problems.PROBLEMS["sparse-1m-f32"].cache_key(False)
    with pytest.raises(ValueError, match="unknown problem"):
        problems.load("sparse-2m")


def test_variants(cache):
    assert problems.load("sparse-1m-f32", quick=True).X.dtype == np.float32
    assert problems.load("dense-200k-f32", quick=True).X.dtype == np.float32
    assert problems.load("wide-1m", quick=True).X.shape[1] == 100_000


def test_repeated_bernoulli_rows_repeat():
    prob = problems.make_repeated_bernoulli(20_000, 500, 4, 10, seed=1)
    assert np.all(prob.n == 1) and set(np.unique(prob.k)) == {0.0, 1.0}
    rows = {tuple(prob.X.indices[prob.X.indptr[i]:prob.X.indptr[i + 1]])
            for i in range(prob.X.shape[0])}
    assert len(rows) <= 500 and prob.X.shape == (20_000, 40)


def test_csr_from_parts_keeps_int64_indices():
    X = sp.random(20, 10, density=0.3, format="csr", random_state=0)
    Y = problems.csr_from_parts(X.data, X.indices.astype(np.int64),
                                X.indptr.astype(np.int64), X.shape)
    assert Y.indices.dtype == np.int64 and Y.indptr.dtype == np.int64
    assert (X != Y).nnz == 0


# -- measuring -----------------------------------------------------------------------------

def test_peak_memory_sees_a_temporary_that_is_gone():
    with PeakMemory() as mem:
        a = np.ones(20_000_000)  # 160 MB, touched
        del a
    assert 150e6 < mem.peak_above_start < 400e6
    assert PeakMemory.current() > 0


def test_floor_table_ratios():
    rows = [("d numpy two-pass", 1, 0.2, 0.05), ("d csr", 1, 0.1, 0.05),
            ("d csr", 2, 0.05, 0.05)]
    lines = floor_table(rows)
    assert "2.00x" in lines[2]  # 1 thread: twice numpy's speed
    assert lines[3].rstrip().endswith("2.00x")  # 2 threads: twice 1 thread's
    assert "4.00x" in lines[3]


def test_compare_end_to_end(cache, tmp_path):
    """Two tools on a small problem, each fit in a subprocess, then the table and the chart."""
    report = compare.compare("dense-200k", ["fastlogit", "numpy"], repeats=1,
                             threads=1, quick=True, target_gap=1e-9, log=None)
    rows = {r["tool"]: r for r in report["rows"]}
    for name in ("fastlogit", "numpy"):
        r = rows[name]
        assert r["gap"] <= 1e-9 and r["n_eval"] > 0 and r["fit_s"] > 0
        assert 0 <= r["fit_peak_bytes"] < 200e6
    assert rows["fastlogit"]["x_fastlogit"] == 1.0
    assert report["best_objective"] <= min(r["objective"] for r in rows.values()
                                           if "objective" in r)
    text = compare.render_markdown(report)
    assert "| fastlogit |" in text and "numpy + L-BFGS-B" in text
    assert "Load average" in text and "floor per evaluation" in text
    json.dumps(report, default=float)
    pytest.importorskip("matplotlib")
    assert compare.render_chart(report, tmp_path / "c.png").stat().st_size > 1000


def test_compare_skips_dense_only_tools_on_sparse_problems(cache):
    pytest.importorskip("statsmodels", reason="without it, the row says 'not installed'")
    report = compare.compare("sparse-1m", ["statsmodels"], repeats=1, threads=1, quick=True,
                             target_gap=None, log=None)
    assert report["rows"][0]["skipped"] == "dense only"


def test_tuning_keeps_the_loosest_setting_that_reaches_the_gap(monkeypatch):
    """The ladder stops at the first (loosest) rung within the target; that fit counts as the
    first repeat; a tool that never gets there is timed at its tightest rung."""
    best = 100.0
    gaps = {1e-4: 1e-6, 1e-5: 1e-8, 1e-6: 5e-10, 1e-7: 1e-12}
    calls = []

    def fake_fit(self, tool, settings, tag, best_so_far):
        calls.append((tag, settings["gradient_tol"]))
        f = best * (1 + gaps[settings["gradient_tol"]])
        return {"fit_s": 1.0 + len(calls), "prep_s": 0.0, "intercept": 0.0, "coef": None,
                "n_eval": 7, "n_iter": 6, "converged": True, "message": "",
                "fit_peak_bytes": 10, "prep_bytes": 0, "memory_method": "test", "objective": f}

    monkeypatch.setattr(compare._Session, "fit", fake_fit)
    tool = peers.Tool("fake", "fake", (), {"gradient_tol": 1e-4}, None, None,
                      ladder=tuple({"gradient_tol": t} for t in gaps))
    runner = compare._Session(None, "p", True, 1.0, 1, 10.0, None, None)
    row: dict = {}
    runner.measure(tool, row, {}, 3, 1e-9, best)
    assert calls == [("tune1", 1e-4), ("tune2", 1e-5), ("tune3", 1e-6), ("run2", 1e-6),
                     ("run3", 1e-6)]
    assert row["settings"] == {"gradient_tol": 1e-6} and row["tuned"]
    assert [r["settings"] for r in row["ladder"]] == [{"gradient_tol": t} for t in gaps][:3]
    assert row["fit_s"] == 5.0  # the median of the three fits at 1e-6 (4, 5, 6 s)
    calls.clear()
    row = {}
    runner.measure(tool, row, {}, 2, 1e-14, best)  # out of reach: the tightest rung
    assert [c[1] for c in calls] == [1e-4, 1e-5, 1e-6, 1e-7, 1e-7]
    assert row["settings"] == {"gradient_tol": 1e-7}
    calls.clear()
    runner.measure(tool, {}, {"gradient_tol": 1e-5}, 2, None, best)  # fixed: no ladder
    assert calls == [("run1", 1e-5), ("run2", 1e-5)]
