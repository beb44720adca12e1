"""Ctrl-C during a long fit: KeyboardInterrupt within about a second, and the next fit works.

Python runs signal handlers only between bytecodes, so without help a kernel call that
holds its thread for seconds would delay Ctrl-C by that long. The kernels poll for
signals between blocks of rows (_rows.pxd, ``interrupted``). The child process below
fits with Newton on a CSR problem whose every Hessian takes several seconds on this
machine's two threads, so an interrupt that waited for the kernel call to end would come
seconds late (measured: 7 s without the polling). Python-level loops (L-BFGS-B
iterations, Newton steps) see KeyboardInterrupt between kernel calls anyway.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")

CHILD = textwrap.dedent(
    """
    import os, sys, threading, time
    import numpy as np, scipy.sparse as sp
    import fastlogit

    rng = np.random.default_rng(0)
    m, p, per_row = 12000, 3000, 300  # sparse rows: pairwise Hessian, ~5 s a call
    indices = np.sort(rng.integers(0, p, size=(m, per_row)), axis=1).ravel()
    indptr = np.arange(0, m * per_row + 1, per_row)
    X = sp.csr_matrix((rng.normal(size=m * per_row), indices, indptr), shape=(m, p))
    X.sum_duplicates()
    n = np.full(m, 5.0)
    k = rng.integers(0, 6, size=m).astype(float)
    small = (X[:300], n[:300], k[:300])
    expected = fastlogit.fit(*small, lam=5.0, threads=2).coef

    def rss():
        if os.environ.get("FASTLOGIT_SANITIZED"):  # ASan's quarantine keeps freed memory
            return 0
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * 4096
        except OSError:  # not Linux: nothing to compare
            return 0

    threads_before, rss_before = threading.active_count(), rss()
    print("ready", flush=True)
    try:
        fastlogit.fit(X, n, k, lam=1e-3, solver="newton", threads=2)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    again = fastlogit.fit(*small, lam=5.0, threads=2).coef
    assert threading.active_count() == threads_before, "threads left behind"
    # the interrupted fit held two 72 MB Hessian buffers: they must be gone
    assert rss() - rss_before < 30e6, f"memory left behind: {(rss() - rss_before) / 1e6} MB"
    print("next fit", "identical" if np.array_equal(again, expected) else "DIFFERENT",
          flush=True)
    """
)


def test_sigint_interrupts_a_long_fit_quickly_and_the_next_fit_works():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # inside the fit: the first Hessian alone takes seconds
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        line = proc.stdout.readline().strip()
        latency = time.perf_counter() - sent
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert line == "interrupted", (line, err)
    # a generous bound: the kernels poll every few to ~20 ms; a kernel call that did not
    # poll would hold the interrupt back for the rest of its multi-second Hessian
    assert latency < 1.5, f"KeyboardInterrupt came {latency:.2f} s after SIGINT"
    assert rest.strip() == "next fit identical", err
    assert proc.returncode == 0, err


def test_fewer_openmp_threads_than_ranges_neither_hangs_nor_changes_results():
    """OMP_THREAD_LIMIT=1 with threads=2: one OpenMP thread runs both row ranges, one
    after the other. The calling thread must then poll in every range and must not wait
    for the second range to finish before running it (that would never end)."""
    code = textwrap.dedent(
        """
        import numpy as np, fastlogit
        rng = np.random.default_rng(0)
        X = rng.normal(size=(40000, 120))  # ~5M units of work a pass: polling is on
        n = np.full(40000, 3.0)
        k = rng.integers(0, 4, size=40000).astype(float)
        res = fastlogit.fit(X, n, k, threads=2, solver="newton")
        print(res.coef.tobytes().hex())
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    runs = {}
    for limit in ("1", "2"):
        env["OMP_THREAD_LIMIT"] = limit
        runs[limit] = subprocess.run([sys.executable, "-c", code], env=env, timeout=120,
                                     check=True, capture_output=True, text=True).stdout
    assert runs["1"] == runs["2"]  # the same two ranges, summed in the same order
