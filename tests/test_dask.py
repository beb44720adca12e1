"""fastlogit.dask: the same answer as fastlogit.fit (and scikit-learn) from row blocks on a
Dask cluster; determinism; partitions on disk; errors; a worker killed mid-fit."""

import os
import pickle
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import random_problem

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastlogit  # noqa: E402
import fastlogit.dask as fld  # noqa: E402

TIGHT = dict(factr=10.0, pgtol=1e-12)
CHUNKS = (150, 40, 0, 210, 100)  # uneven, with an empty block: 500 rows


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(scope="module")
def client():
    """Two in-process workers with one thread each (fast to start)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as c:
            yield c


@pytest.fixture(scope="module")
def proc_client():
    """Two worker processes (for killing one)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as c:
            yield c


@pytest.fixture(scope="module")
def problem():
    return random_problem(m=500, p=10, density=0.4, seed=3)


def dask_rows(a, chunks=CHUNKS):
    """A dask array of a (dense or CSR) with the given row chunks."""
    return da.from_array(a, chunks=(chunks, -1) if a.ndim == 2 else (chunks,),
                         asarray=not sp.issparse(a))


# -- the same answer -------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["dense_c", "dense_f32", "csr", "csr_i64"])
def test_matches_local_fit(client, problem, layout):
    X, n, k, s, o = problem
    Xl = {"dense_c": X, "dense_f32": np.asfortranarray(X, dtype=np.float32),
          "csr": sp.csr_matrix(X), "csr_i64": sp.csr_matrix(X)}[layout]
    if layout == "csr_i64":
        Xl.indices = Xl.indices.astype(np.int64)
        Xl.indptr = Xl.indptr.astype(np.int64)
    ref = fastlogit.fit(Xl, n, k, lam=0.7, sample_weight=s, offset=o, **TIGHT)
    res = fld.fit(dask_rows(Xl), dask_rows(n), dask_rows(k), sample_weight=dask_rows(s),
                  offset=dask_rows(o), lam=0.7, client=client, **TIGHT)
    assert res.converged
    assert rel_err(res.coef, ref.coef) < 1e-10
    assert res.intercept == pytest.approx(ref.intercept, rel=1e-10)
    assert res.objective == pytest.approx(ref.objective, rel=1e-12)
    assert res.n_rows == 500 and res.n_features == 10
    assert res.settings["n_blocks"] == len(CHUNKS)


def test_matches_sklearn(client, problem):
    """Independent reference: scikit-learn on the two-row (success/failure) encoding."""
    lm = pytest.importorskip("sklearn.linear_model")
    X, n, k, s, _ = problem
    X2, y2 = np.vstack([X, X]), np.r_[np.ones(500), np.zeros(500)]
    ref = lm.LogisticRegression(C=1 / 0.3, solver="newton-cholesky", tol=1e-12, max_iter=200)
    ref.fit(X2, y2, sample_weight=np.r_[s * k, s * (n - k)])
    res = fld.fit(dask_rows(sp.csr_matrix(X)), n, k, sample_weight=s, lam=0.3, client=client,
                  **TIGHT)
    np.testing.assert_allclose(res.coef, ref.coef_.ravel(), rtol=1e-6, atol=1e-7)
    assert res.intercept == pytest.approx(ref.intercept_[0], rel=1e-6)


def test_bitwise_reproducible_for_fixed_chunks(client, problem):
    X, n, k, s, o = problem
    args = (dask_rows(X), dask_rows(n), dask_rows(k))
    one = fld.fit(*args, sample_weight=s, offset=o, client=client)
    two = fld.fit(*args, sample_weight=s, offset=o, client=client)
    assert np.array_equal(one.coef, two.coef) and one.intercept == two.intercept
    assert one.n_fev == two.n_fev
    # other chunks and another tree: the same optimum up to rounding
    other = fld.fit(dask_rows(X, (250, 250)), n, k, sample_weight=s, offset=o, client=client,
                    split_every=2)
    assert rel_err(other.coef, one.coef) < 1e-6


@pytest.mark.parametrize("standardize, sparse", [(False, False), (True, True)])
def test_labels_no_intercept(client, problem, standardize, sparse):
    X, n, k, _, _ = problem
    Xl = sp.csr_matrix(X) if sparse else X
    y = (k > n / 2).astype(float)
    ref = fastlogit.fit(Xl, y=y, lam=2.0, fit_intercept=False, standardize=standardize, **TIGHT)
    res = fld.fit(dask_rows(Xl), y=dask_rows(y), lam=2.0, fit_intercept=False,
                  standardize=standardize, client=client, **TIGHT)
    assert res.intercept == 0.0
    assert rel_err(res.coef, ref.coef) < 1e-10


def test_warm_start_callback_verbose(client, problem, capsys):
    X, n, k, _, _ = problem
    Xd = dask_rows(X)
    first = fld.fit(Xd, n, k, client=client)
    seen = []
    again = fld.fit(Xd, n, k, client=client, x0=first, verbose=True,
                    callback=lambda info: seen.append(info.iteration))
    assert again.n_iter <= 2
    assert seen[0] == 0
    out = capsys.readouterr().out
    assert "blocks" in out and "objective" in out
    stopped = fld.fit(Xd, n, k, client=client, callback=lambda info: info.iteration >= 2)
    assert not stopped.converged and stopped.n_iter == 2


def test_default_client_address_and_local(client, problem):
    X, n, k, _, _ = problem
    Xd = dask_rows(X)
    with client.as_current():
        via_default = fld.fit(Xd, n, k)
    via_address = fld.fit(Xd, n, k, client=client.scheduler.address)
    via_local = fld.fit(Xd, n, k, client="local")
    assert np.array_equal(via_default.coef, via_address.coef)
    assert np.array_equal(via_default.coef, via_local.coef)


# -- partitions on disk -------------------------------------------------------------------


def test_npz_partitions(client, problem, tmp_path):
    X, n, k, s, o = problem
    Xs = sp.csr_matrix(X)
    bounds = np.cumsum((0,) + CHUNKS)
    for i in range(len(CHUNKS)):
        a, b = bounds[i], bounds[i + 1]
        fld.save_npz(tmp_path / f"part-{i}.npz", Xs[a:b], n[a:b], k[a:b],
                     sample_weight=s[a:b], offset=o[a:b])
    parts = fld.from_npz(str(tmp_path / "part-*.npz"))
    assert len(parts) == len(CHUNKS)
    ref = fastlogit.fit(Xs, n, k, sample_weight=s, offset=o, lam=0.7, **TIGHT)
    res = fld.fit(parts, lam=0.7, client=client, **TIGHT)
    assert rel_err(res.coef, ref.coef) < 1e-10
    # predictions read the partitions on the workers too (offset from the files)
    z = res.decision_function(parts).compute()
    np.testing.assert_allclose(z, ref.decision_function(Xs, offset=o), rtol=1e-9, atol=1e-12)


def test_parquet_partitions(client, problem, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, n, k, _, _ = problem
    names = [f"f{j}" for j in range(X.shape[1])]
    for i, (a, b) in enumerate([(0, 200), (200, 500)]):
        frame = pd.DataFrame(X[a:b], columns=names)
        frame["trials"], frame["clicks"] = n[a:b], k[a:b]
        frame.to_parquet(tmp_path / f"p{i}.parquet")
    parts = fld.from_parquet(sorted(str(p) for p in tmp_path.glob("*.parquet")),
                             n="trials", k="clicks")
    ref = fastlogit.fit(X, n, k, lam=0.7, **TIGHT)
    res = fld.fit(parts, lam=0.7, client=client, **TIGHT)
    assert rel_err(res.coef, ref.coef) < 1e-10
    assert res.feature_names == tuple(names)
    # a chosen subset of the columns
    sub = fld.fit(fld.from_parquet(str(tmp_path / "*.parquet"), features=["f2", "f0"],
                                   n="trials", k="clicks"), lam=0.7, client=client, **TIGHT)
    assert rel_err(sub.coef, fastlogit.fit(X[:, [2, 0]], n, k, lam=0.7, **TIGHT).coef) < 1e-10


def test_loader_partitions(client):
    def load(seed):
        X, n, k, _, _ = random_problem(m=120, p=4, seed=seed)
        return {"X": X, "n": n, "k": k}

    parts = fld.from_loader(load, [10, 11, 12])
    data = [load(seed) for seed in (10, 11, 12)]
    ref = fastlogit.fit(np.vstack([d["X"] for d in data]), np.concatenate([d["n"] for d in data]),
                        np.concatenate([d["k"] for d in data]), **TIGHT)
    res = fld.fit(parts, client=client, **TIGHT)
    assert rel_err(res.coef, ref.coef) < 1e-10


# -- predictions ---------------------------------------------------------------------------


def test_predictions_map_over_blocks(client, problem):
    X, n, k, s, o = problem
    res = fld.fit(dask_rows(X), n, k, client=client)
    for Xl in (X, sp.csr_matrix(X)):
        z = res.decision_function(dask_rows(Xl), offset=dask_rows(o))
        assert isinstance(z, da.Array) and z.chunks == (tuple(c for c in CHUNKS if c),)
        expected = res.intercept + X @ res.coef + o
        np.testing.assert_allclose(z.compute(), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.predict_proba(dask_rows(Xl)).compute(),
                                   1 / (1 + np.exp(-(expected - o))), rtol=1e-12)
    np.testing.assert_allclose(res.predict_proba(X), 1 / (1 + np.exp(-(X @ res.coef +
                               res.intercept))), rtol=1e-12)
    with pytest.raises(ValueError, match="features but the model was fitted on 10"):
        res.decision_function(dask_rows(X[:, :3]))


def test_result_holds_no_training_data(client, problem):
    X, n, k, _, _ = problem
    res = fld.fit(dask_rows(X), n, k, client=client)
    assert repr(res).startswith("DaskLogitResult(500 rows x 10 features")
    with pytest.raises(ValueError, match="keeps no training data"):
        _ = res.loglik
    back = pickle.loads(pickle.dumps(res))
    assert np.array_equal(back.coef, res.coef)


# -- errors ------------------------------------------------------------------------------


def test_misaligned_chunks(client, problem):
    X, n, k, s, o = problem
    Xd = dask_rows(X)
    other = (250, 250)
    for name in ("n", "k", "sample_weight", "offset"):
        kwargs = dict(n=dask_rows(n), k=dask_rows(k), sample_weight=dask_rows(s),
                      offset=dask_rows(o))
        kwargs[name] = dask_rows(dict(n=n, k=k, sample_weight=s, offset=o)[name], other)
        with pytest.raises(ValueError, match=rf"{name} is chunked \(250, 250\) but the rows "
                           r"of X .*rechunk"):
            fld.fit(Xd, client=client, **kwargs)
    with pytest.raises(ValueError, match="k has length 400 but X has 500 rows"):
        fld.fit(Xd, n, dask_rows(k[:400], (400,)), client=client)
    with pytest.raises(ValueError, match=r"n must be 1-D of length 500 \(the rows of X\)"):
        fld.fit(Xd, n[:10], k, client=client)


def test_chunked_across_columns_and_unknown_sizes(client, problem):
    X, n, k, _, _ = problem
    with pytest.raises(ValueError, match=r"chunked across its columns.*rechunk\(\{1: -1\}\)"):
        fld.fit(da.from_array(X, chunks=(250, 5)), n, k, client=client)
    Xd = dask_rows(X)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        fld.fit(Xd[Xd[:, 0] > -100], n, k, client=client)


def test_bad_values_name_block_and_global_row(client, problem):
    X, n, k, _, _ = problem
    k_bad = k.copy()
    k_bad[403] = n[403] + 1  # block 3 holds rows 190..399, block 4 rows 400..499
    with pytest.raises(ValueError, match=r"X block 4 of 5 \(rows 400 to 499\): k must satisfy "
                       r"0 <= k <= n; row 403 has"):
        fld.fit(dask_rows(X), n, dask_rows(k_bad), client=client)
    X_bad = X.copy()
    X_bad[170, 2] = np.nan
    with pytest.raises(ValueError, match=r"X block 1 of 5 .*NaN or infinity \(first at row 170,"):
        fld.fit(dask_rows(X_bad), n, k, client=client)
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0; row 0 has -1"):
        fld.fit(dask_rows(X), n, k, sample_weight=-np.ones(500), client=client)
    with pytest.raises(ValueError, match="carry no trials"):
        fld.fit(dask_rows(X), np.zeros(500), np.zeros(500), client=client)


def test_bad_arguments(client, problem, tmp_path):
    X, n, k, _, _ = problem
    Xd = dask_rows(X)
    with pytest.raises(TypeError, match="X must be a dask array chunked by rows"):
        fld.fit(X, n, k, client=client)
    with pytest.raises(ValueError, match="solver='lbfgs' only"):
        fld.fit(Xd, n, k, client=client, solver="newton")
    with pytest.raises(ValueError, match="split_every must be >= 2"):
        fld.fit(Xd, n, k, client=client, split_every=1)
    with pytest.raises(TypeError, match="client must be"):
        fld.fit(Xd, n, k, client=3)
    parts = fld.from_loader(lambda i: (X, n, k), [0])
    with pytest.raises(TypeError, match="n, k come from the partitions"):
        fld.fit(parts, n, k, client=client)
    with pytest.raises(TypeError, match="name the count columns"):
        fld.from_parquet("x.parquet", n="trials")
    with pytest.raises(FileNotFoundError, match="no .npz files match"):
        fld.from_npz(str(tmp_path / "nothing-*.npz"))


def test_no_client(problem):
    X, n, k, _, _ = problem
    if distributed.client._get_global_client() is not None:
        pytest.skip("another test left a default client")
    with pytest.raises(ValueError, match="no Dask client"):
        fld.fit(dask_rows(X), n, k)


def test_bad_partitions(client, problem, tmp_path):
    X, n, k, _, _ = problem
    Xs = sp.csr_matrix(X)
    fld.save_npz(tmp_path / "a.npz", Xs[:100], n[:100], k[:100])
    fld.save_npz(tmp_path / "b.npz", Xs[100:200, :7], n[100:200], k[100:200])
    with pytest.raises(ValueError, match=r"partition 1 of 2 .*b\.npz.* has 7 columns but "
                       r"partition 0 of 2 .* has 10"):
        fld.fit(fld.from_npz([tmp_path / "a.npz", tmp_path / "b.npz"]), client=client)
    with pytest.raises(FileNotFoundError, match=r"partition 1 of 2 .*missing\.npz.*could not "
                       "load it"):
        fld.fit(fld.from_npz([tmp_path / "a.npz", tmp_path / "missing.npz"]), client=client)
    k_bad = k[:100].copy()
    k_bad[7] = -1
    with pytest.raises(ValueError, match=r"partition 0 of 1 .*rows numbered within it\): k must "
                       r"satisfy 0 <= k <= n; row 7 has k=-1"):
        fld.fit(fld.from_loader(lambda _: (Xs[:100], n[:100], k_bad), ["x"]), client=client)
    sp.save_npz(tmp_path / "plain.npz", Xs[:100])  # X only, no counts
    with pytest.raises(ValueError, match="has no 'n' and 'k'.*fastlogit.dask.save_npz"):
        fld.fit(fld.from_npz(tmp_path / "plain.npz"), client=client)
    with pytest.raises(ValueError, match="k must satisfy 0 <= k <= n; row 7"):
        fld.save_npz(tmp_path / "bad.npz", Xs[:100], n[:100], k_bad)


# -- the optional dependency ----------------------------------------------------------------


def _python(code):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)


def test_dask_is_an_optional_extra():
    # import fastlogit leaves dask alone; fastlogit.dask without it says what to install
    code = ("import sys, fastlogit; print('dask' in sys.modules, 'distributed' in sys.modules); "
            "sys.modules['distributed'] = None\n"
            "try:\n    import fastlogit.dask\nexcept ImportError as exc:\n    print(exc)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    lines = out.stdout.splitlines()
    assert lines[0] == "False False", out.stderr
    assert "pip install 'fastlogit[dask]'" in lines[1]


# -- worker processes: a worker without fastlogit, a worker killed mid-fit ---------------------


def test_worker_without_fastlogit(proc_client, problem):
    X, n, k, _, _ = problem
    victim = sorted(proc_client.scheduler_info()["workers"])[0]

    def hide_fastlogit():
        import sys

        hidden = {m: sys.modules.pop(m) for m in list(sys.modules)
                  if m == "fastlogit" or m.startswith("fastlogit.")}
        sys.modules["fastlogit"] = None  # import fastlogit now raises ImportError
        sys.fastlogit_hidden_by_test = hidden

    def restore_fastlogit():
        import sys

        del sys.modules["fastlogit"]
        sys.modules.update(sys.__dict__.pop("fastlogit_hidden_by_test"))

    proc_client.run(hide_fastlogit, workers=[victim])
    try:
        with pytest.raises(RuntimeError, match=rf"fastlogit cannot be imported on 1 of 2 Dask "
                           rf"workers: {victim} \(ModuleNotFoundError"):
            fld.fit(dask_rows(X), n, k, client=proc_client)
    finally:
        proc_client.run(restore_fastlogit, workers=[victim])
    with pytest.warns(fastlogit.ConvergenceWarning):
        assert fld.fit(dask_rows(X), n, k, client=proc_client, max_iter=2).n_iter == 2


@pytest.mark.parametrize("source", ["dask array", "npz partitions"])
def test_worker_killed_mid_fit(proc_client, problem, source, tmp_path):
    X, n, k, s, o = problem
    bounds = np.linspace(0, 500, 9).astype(int)  # 8 blocks
    if source == "dask array":
        data = (da.from_array(X, chunks=(tuple(np.diff(bounds)), -1)), n, k)
        kwargs = dict(sample_weight=s, offset=o)
    else:
        for i in range(8):
            a, b = bounds[i], bounds[i + 1]
            fld.save_npz(tmp_path / f"part-{i}.npz", sp.csr_matrix(X[a:b]), n[a:b], k[a:b],
                         sample_weight=s[a:b], offset=o[a:b])
        data, kwargs = (fld.from_npz(str(tmp_path / "part-*.npz")),), {}
    kwargs.update(lam=0.7, client=proc_client, **TIGHT)
    ref = fld.fit(*data, **kwargs)
    pids = proc_client.run(os.getpid)
    killed = []

    def kill_a_worker(info):
        if info.iteration == 3:
            # the worker holding the most of this fit's blocks, so that some must be rebuilt
            counts = {w: sum(bool(re.fullmatch(r"fastlogit-[0-9a-f]+-block\d+", str(key)))
                             for key in keys) for w, keys in proc_client.has_what().items()}
            victim = max(counts, key=counts.get)
            killed.append(counts[victim])
            os.kill(pids[victim], signal.SIGKILL)

    res = fld.fit(*data, callback=kill_a_worker, **kwargs)
    assert killed and killed[0] >= 1
    assert res.converged
    # every lost block is rebuilt from its graph (or file) and summed in the same tree:
    # the same answer, bit for bit
    assert np.array_equal(res.coef, ref.coef) and res.intercept == ref.intercept
    local = fastlogit.fit(X, n, k, sample_weight=s, offset=o, lam=0.7, **TIGHT)
    assert rel_err(res.coef, local.coef) < 1e-10


def test_large_parameter_vector_as_a_task(client, problem, monkeypatch):
    """Above INLINE_BYTES the parameters travel as a task of their own: the same answer."""
    from fastlogit.dask import _loss as _dask_loss

    X, n, k, s, o = problem
    args = (dask_rows(X), n, k)
    inline = fld.fit(*args, sample_weight=s, offset=o, client=client)
    monkeypatch.setattr(_dask_loss, "INLINE_BYTES", 0)
    as_task = fld.fit(*args, sample_weight=s, offset=o, client=client)
    assert np.array_equal(as_task.coef, inline.coef) and as_task.intercept == inline.intercept
