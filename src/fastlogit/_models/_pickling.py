"""How results travel between processes (pickle, joblib, Dask, multiprocessing).

* The training X is written at most once: a Design pickles its matrix, not also the
  kernels' views of the same memory (see ``Design.__reduce__``).
* Training data that are memory-mapped (``np.load(..., mmap_mode="r")``, ``np.memmap``)
  are left out of the pickle with a warning: pickling would copy the whole file.
* ``without_data()`` gives a copy without the training data, for shipping a model:
  predictions, coefficients and every statistic already computed keep working; the
  statistics still to be computed on the training rows raise a clear error.
* Every pickle carries the fastlogit version; loading one written by another version is
  refused with a message naming both (internal module paths and fields change between
  versions, so such a load could only fail later or, worse, give wrong numbers).
"""

from __future__ import annotations

import mmap
import warnings
from typing import Any, Optional

import numpy as np

from fastlogit._version import __version__

_VERSION_KEY = "_fastlogit_version"

NO_DATA = ("this result holds no training data ({why}): predictions, coefficients and the "
           "statistics computed before the data were dropped still work, but this one needs "
           "the training rows; compute it before calling without_data() or pickling, or refit")


def memory_mapped_file(training: Any) -> Optional[str]:
    """The file behind a memory-mapped training X, or None (also "" when unnamed)."""
    if training is None:
        return None
    design = getattr(training, "design", None)
    matrix = getattr(design, "matrix", None)
    arrays = ([matrix.data, matrix.indices, matrix.indptr] if hasattr(matrix, "indptr")
              else [matrix])
    for a in arrays:
        base = a
        while base is not None:
            if isinstance(base, np.memmap):
                return str(getattr(base, "filename", "") or "")
            if isinstance(base, mmap.mmap):
                return ""
            base = getattr(base, "base", None)
    return None


class VersionedPickle:
    """Mixin for the frozen result dataclasses: version-stamped pickles, no copy of a
    memory-mapped training X, and ``without_data()``."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)  # fields and the statistics computed so far
        path = memory_mapped_file(state.get("_training"))
        if path is not None:
            state["_training"] = None
            state["_dropped"] = "left out of the pickle: X was memory-mapped"
            warnings.warn(
                f"pickling a {type(self).__name__} fitted on memory-mapped data "
                f"({path or 'an anonymous map'}): the training data are left out (pickling "
                "would copy the whole file). Predictions and the statistics computed so far "
                "travel; call without_data() first to silence this warning.",
                UserWarning, stacklevel=3)
        state[_VERSION_KEY] = __version__
        return state

    def __setstate__(self, state: dict) -> None:
        version = state.pop(_VERSION_KEY, None)
        if version != __version__:
            raise ValueError(
                f"this {type(self).__name__} was pickled by fastlogit "
                f"{version or '(a version before 0.1)'}, and this is fastlogit {__version__}: "
                f"results do not load across versions. Load it with fastlogit {version} "
                "and keep what you need (coef, intercept), or refit.")
        self.__dict__.update(state)

    def without_data(self) -> Any:
        """A copy of this result without the training data (for pickling or shipping).

        Returns
        -------
        result
            The same type, with the same coefficients and every statistic already
            computed (e.g. ``bse`` accessed before); predictions work. Statistics not yet
            computed that need the training rows raise ValueError.

        Examples
        --------
        >>> import numpy as np, fastlogit, pickle
        >>> res = fastlogit.fit(np.eye(2), [4, 4], [3, 1], lam=0.1)
        >>> se = res.bse                       # computed while the data are there
        >>> light = pickle.loads(pickle.dumps(res.without_data()))
        >>> bool(np.allclose(light.bse, se)), light.predict_proba(np.eye(2)).round(3)
        (True, array([0.726, 0.274]))
        """
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__["_training"] = None
        new.__dict__["_dropped"] = "dropped by without_data()"
        return new

    def _no_data_error(self) -> ValueError:
        why = self.__dict__.get("_dropped", "it was built without it")
        return ValueError(NO_DATA.format(why=why))
