"""The benchmark problems: seeded, named, cached on disk.

Every benchmark (the pytest-benchmark suite and ``python -m benchmarks.compare``)
takes its data from here, so that "sparse-1m" means the same rows everywhere.

    name                 rows x features            layout                 lam
    sparse-1m            1,000,000 x 100,000        CSR f64/i32, 32 nnz    1.0
    sparse-1m-zipf       the same, Zipf(1.1) column popularity           1.0
    sparse-1m-f32        sparse-1m with float32 values                   1.0
    dense-200k           200,000 x 100 N(0, 1)      dense C f64            1.0
    dense-200k-f32       dense-200k in float32                           1.0
    wide-1m              1,000,000 x 1,000,000      CSR f64/i32, 32 nnz    1.0
    bernoulli-repeated   2,000,000 0/1 rows drawn from 20,000 distinct
                         one-hot rows, 8 fields x 50 levels (400 cols)  1.0

n_i = 1 + Poisson(9) except in bernoulli-repeated (n_i = 1, k_i in {0, 1}: what
ordinary 0/1 data with many duplicate rows looks like before aggregation).
Each problem also has a QUICK size (a few thousand rows) for smoke runs.

Data are cached under ``benchmarks/.cache/`` (or ``$FASTLOGIT_BENCH_CACHE``) as
one directory of ``.npy`` files per problem (plain .npy loads several times
faster than a zipped .npz; the Zipf generator takes 5 s, a load well under
one). Entries are written to a temporary directory and renamed, so concurrent
runs (the gate's base and head) can share a cache. The cache key hashes the
problem's parameters and the source of the generators, so a changed generator
never serves stale data.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from fastlogit import datasets
from fastlogit.datasets import BinomialProblem, make_dense_binomial, make_sparse_binomial

CACHE_ENV = "FASTLOGIT_BENCH_CACHE"
DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"


def make_repeated_bernoulli(
    n_rows: int = 2_000_000,
    n_distinct: int = 20_000,
    n_fields: int = 8,
    levels: int = 50,
    *,
    popularity: float = 1.1,
    seed: int = 0,
) -> BinomialProblem:
    """0/1 rows (n = 1, k = y) drawn with replacement from a pool of distinct one-hot rows.

    The pool is a ``make_sparse_binomial`` design of ``n_distinct`` rows
    with ``n_fields`` one-hot fields of ``levels`` levels each; row r of the
    pool is drawn with probability proportional to (r + 1)^-popularity, so a
    few rows repeat very often and many appear a handful of times, as in
    real categorical data. Labels are Bernoulli(sigmoid(z)) draws per row.
    Aggregating duplicates (X_unique, n, k) gives the same fit.

    Returns
    -------
    BinomialProblem
        X is CSR float64/int32 of shape (n_rows, n_fields * levels).
    """
    pool = make_sparse_binomial(n_distinct, n_fields * levels, n_fields, mean_trials=1.0,
                                coef_scale=0.5, seed=seed)
    rng = np.random.default_rng(seed + 1_000_003)
    weight = 1.0 / np.arange(1, n_distinct + 1, dtype=np.float64) ** popularity
    rows = rng.choice(n_distinct, size=n_rows, p=weight / weight.sum())
    X = pool.X[rows]
    X.sort_indices()
    z = pool.X @ pool.coef + pool.intercept
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-z[rows]))).astype(np.float64)
    return BinomialProblem(X, np.ones(n_rows), y, pool.coef, pool.intercept)


@dataclass(frozen=True)
class ProblemSpec:
    """A named benchmark problem: a generator and its arguments, full and QUICK size."""

    name: str
    description: str
    make: Callable[..., BinomialProblem]
    kwargs: Mapping[str, Any]
    quick_kwargs: Mapping[str, Any]
    lam: float = 1.0
    derive: Callable[[BinomialProblem], BinomialProblem] | None = field(default=None)

    def arguments(self, quick: bool) -> dict:
        return {**self.kwargs, **(self.quick_kwargs if quick else {})}

    def cache_key(self, quick: bool) -> str:
        sources = [inspect.getsource(datasets), inspect.getsource(make_repeated_bernoulli),
                   inspect.getsource(_as_float32), np.__version__]
        text = repr((self.name, self.make.__name__, sorted(self.arguments(quick).items()),
                     self.derive.__name__ if self.derive else None, sources))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def csr_from_parts(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                   shape: tuple) -> sp.csr_matrix:
    """A csr_matrix on exactly these arrays (no copy, index dtype kept).

    ``sp.csr_matrix((data, indices, indptr))`` silently narrows int64 index
    arrays to int32 when the values fit, which would turn an int64 benchmark
    case into an int32 one; the attributes are therefore set directly.
    """
    X = sp.csr_matrix((data, indices, indptr), shape=shape)
    X.indices, X.indptr = indices, indptr
    return X


def _as_float32(prob: BinomialProblem) -> BinomialProblem:
    X = prob.X
    if sp.issparse(X):
        X32 = csr_from_parts(X.data.astype(np.float32), X.indices, X.indptr, X.shape)
    else:
        X32 = np.ascontiguousarray(X, dtype=np.float32)
    return BinomialProblem(X32, prob.n, prob.k, prob.coef, prob.intercept)


_SPARSE_QUICK = {"n_rows": 20_000, "n_features": 5_000}
PROBLEMS: dict[str, ProblemSpec] = {
    p.name: p
    for p in [
        ProblemSpec("sparse-1m", "CSR 1,000,000 x 100,000, 32 ones per row (uniform columns), "
                    "f64/i32, n = 1 + Poisson(9)", make_sparse_binomial, {"seed": 0},
                    _SPARSE_QUICK),
        ProblemSpec("sparse-1m-zipf", "as sparse-1m, Zipf(1.1) column popularity",
                    make_sparse_binomial, {"zipf": 1.1, "seed": 1}, _SPARSE_QUICK),
        ProblemSpec("sparse-1m-f32", "sparse-1m with float32 values", make_sparse_binomial,
                    {"seed": 0}, _SPARSE_QUICK, derive=_as_float32),
        ProblemSpec("dense-200k", "dense 200,000 x 100 N(0, 1), C order f64, "
                    "n = 1 + Poisson(9)", make_dense_binomial, {"seed": 0},
                    {"n_rows": 10_000}),
        ProblemSpec("dense-200k-f32", "dense-200k in float32", make_dense_binomial,
                    {"seed": 0}, {"n_rows": 10_000}, derive=_as_float32),
        ProblemSpec("wide-1m", "CSR 1,000,000 x 1,000,000, 32 ones per row (uniform), "
                    "f64/i32, n = 1 + Poisson(9)", make_sparse_binomial,
                    {"n_features": 1_000_000, "seed": 2},
                    {"n_rows": 20_000, "n_features": 100_000}),
        ProblemSpec("bernoulli-repeated", "2,000,000 0/1 rows (n = 1) drawn from 20,000 "
                    "distinct one-hot rows, 8 fields x 50 levels", make_repeated_bernoulli,
                    {"seed": 3}, {"n_rows": 50_000, "n_distinct": 2_000}),
    ]
}


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def problem_names() -> list[str]:
    return list(PROBLEMS)


def _spec(name: str) -> ProblemSpec:
    try:
        return PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; choose one of {', '.join(PROBLEMS)}") from None


def problem_path(name: str, quick: bool = False) -> Path:
    spec = _spec(name)
    return cache_dir() / f"{name}{'-quick' if quick else ''}-{spec.cache_key(quick)}"


def generate(name: str, quick: bool = False) -> BinomialProblem:
    """Build a problem from its seed (no cache)."""
    spec = _spec(name)
    prob = spec.make(**spec.arguments(quick))
    return spec.derive(prob) if spec.derive else prob


def load(name: str, quick: bool = False, cache: bool = True) -> BinomialProblem:
    """The named problem, from the cache when present (generated and cached otherwise).

    Parameters
    ----------
    name : str
        A key of ``PROBLEMS``.
    quick : bool
        The small smoke-test size.
    cache : bool
        Read and write the on-disk cache.

    Returns
    -------
    BinomialProblem
    """
    path = problem_path(name, quick)
    if cache and (path / "meta.json").exists():
        try:
            return _read(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry: rebuild it below
    prob = generate(name, quick)
    if cache:
        _write(path, prob)
    return prob


def _write(path: Path, prob: BinomialProblem) -> None:
    """Write into a temporary directory and rename it: readers never see half a problem."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        X = prob.X
        arrays = {"n": prob.n, "k": prob.k, "coef": prob.coef}
        if sp.issparse(X):
            arrays.update(data=X.data, indices=X.indices, indptr=X.indptr)
        else:
            arrays["X"] = X
        for key, arr in arrays.items():
            np.save(tmp / f"{key}.npy", arr)
        meta = {"sparse": bool(sp.issparse(X)), "shape": list(X.shape),
                "intercept": float(prob.intercept),
                "order": "F" if not sp.issparse(X) and np.isfortran(X) else "C"}
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.replace(tmp, path)
        except OSError:  # another process wrote it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _read(path: Path) -> BinomialProblem:
    meta = json.loads((path / "meta.json").read_text())

    def arr(key: str) -> np.ndarray:
        return np.load(path / f"{key}.npy", allow_pickle=False)

    if meta["sparse"]:
        X = csr_from_parts(arr("data"), arr("indices"), arr("indptr"), tuple(meta["shape"]))
    else:
        X = arr("X")
    return BinomialProblem(X, arr("n"), arr("k"), arr("coef"), float(meta["intercept"]))


def data_nbytes(X: Any, n: np.ndarray) -> int:
    """The data's own size: X's arrays plus n and k."""
    own = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if sp.issparse(X) else X.nbytes
    return int(own + 2 * n.nbytes)
