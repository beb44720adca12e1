"""Memory and process-wide state: pickles, standard errors, BLAS threads.

* A pickled result writes the training X at most once; ``without_data()`` drops it and
  keeps predictions and the statistics already computed; a memory-mapped X is never
  copied into a pickle; pickles carry the fastlogit version and other versions are refused.
* Standard errors need at most twice the Hessian's memory.
* Fits from several Python threads at once leave the BLAS thread count as they found it.
"""

from __future__ import annotations

import pickle
import threading
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import fastlogit


def _data(m=20_000, p=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    y = (rng.random(m) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    return X, y


FITTERS = {
    "fit": lambda X, y: fastlogit.fit(X, y=y),
    "fit csr": lambda X, y: fastlogit.fit(sp.csr_matrix(X), y=y),
    "path": lambda X, y: fastlogit.path(X, y=y, n_lams=3),
    "fit_multinomial": lambda X, y: fastlogit.fit_multinomial(X, y=y.astype(int)),
}


def _x_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes


@pytest.mark.parametrize("name", sorted(FITTERS))
def test_pickle_writes_the_training_data_once(name):
    X, y = _data()
    res = FITTERS[name](X, y)
    training = res._training
    extra = sum(a.nbytes for a in vars(training).values() if isinstance(a, np.ndarray))
    size = len(pickle.dumps(res))
    assert size < _x_bytes(training.design.matrix) + extra + 200_000, size  # was 2 x X
    def proba(r):
        return (r.result(-1) if name == "path" else r).predict_proba(X[:50])

    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(proba(back), proba(res))
    light = res.without_data()
    assert len(pickle.dumps(light)) < 100_000
    np.testing.assert_array_equal(proba(pickle.loads(pickle.dumps(light))), proba(res))


def test_without_data_keeps_computed_statistics_and_names_what_it_lacks():
    X, y = _data(500)
    res = fastlogit.fit(X, y=y)
    se = res.bse
    light = pickle.loads(pickle.dumps(res.without_data()))
    np.testing.assert_array_equal(light.bse, se)  # computed before: travels
    assert res._training is not None  # the original keeps its data
    with pytest.raises(ValueError, match="without_data"):
        light.deviance  # noqa: B018 - needs the training rows
    np.testing.assert_array_equal(res.without_data().coef, res.coef)


def test_memory_mapped_training_data_are_not_copied_into_a_pickle(tmp_path):
    X, y = _data()
    path = tmp_path / "X.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    res = fastlogit.fit(Xm, y=y)
    with pytest.warns(UserWarning, match="memory-mapped"):
        blob = pickle.dumps(res)
    assert len(blob) < X.nbytes / 10
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.coef, res.coef)
    with pytest.raises(ValueError, match="memory-mapped"):
        back.bse  # noqa: B018
    del res, back, Xm


def test_pickles_from_another_version_are_refused_naming_both():
    X, y = _data(200)
    state = fastlogit.fit(X, y=y).__getstate__()
    state["_fastlogit_version"] = "0.0.1"
    blank = object.__new__(fastlogit.LogitResult)
    with pytest.raises(ValueError, match=r"0\.0\.1.*" + fastlogit.__version__.replace(".", r"\.")):
        blank.__setstate__(state)


def test_standard_errors_need_at_most_twice_the_hessian():
    """One kernel thread: each further thread adds a Hessian-sized buffer while the
    Hessian is formed (backend/_curvature.py, capped by THREAD_BUFFER_BYTES)."""
    X, y = _data(1200, 400)
    res = fastlogit.fit(X, y=y, lam=1.0, threads=1)
    hessian = 8 * 401 ** 2
    tracemalloc.start()
    try:
        res.bse  # noqa: B018
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.2 * hessian, peak / hessian  # was 4.2 x at p = 5000


def test_fits_from_many_threads_leave_blas_threads_as_found():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, y = _data(2000, 30)

    def blas_threads():
        return sorted((i["filepath"], i["num_threads"])
                      for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")

    fastlogit.fit(X, y=y)  # load every BLAS library first
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = blas_threads()

        def work():
            for _ in range(3):
                fastlogit.fit(X, y=y, threads=1).bse  # noqa: B018

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        work()  # the main thread too
        for t in threads:
            t.join()
        assert blas_threads() == before
