"""Fit on a Dask cluster: the same kernel, the same objective, the same answer.

When (X, n, k) does not fit in one machine, keep it in row blocks on Dask
workers. Each worker validates its blocks once, keeps them, and on every
L-BFGS-B iteration runs the compiled loss/gradient kernel on them; the
driver only receives the summed loss and gradient (one vector of
n_features), added in a fixed tree so that a fit is bitwise reproducible for
a fixed chunking and agrees with ``fastlogit.fit`` on the concatenated data.

    >>> import fastlogit.dask                                     # doctest: +SKIP
    >>> client = distributed.Client("tcp://scheduler:8786")       # doctest: +SKIP
    >>> res = fastlogit.dask.fit(X, n, k, lam=1.0)                # doctest: +SKIP
    >>> res = fastlogit.dask.fit(fastlogit.dask.from_npz("data/part-*.npz"))  # doctest: +SKIP

Needs dask and distributed (``pip install 'fastlogit[dask]'``), and
fastlogit installed on every worker.
"""

from fastlogit.dask._fit import (
    DaskLogitResult,
    Partitions,
    fit,
    from_loader,
    from_npz,
    from_parquet,
    save_npz,
)

__all__ = [
    "DaskLogitResult",
    "Partitions",
    "fit",
    "from_loader",
    "from_npz",
    "from_parquet",
    "save_npz",
]
