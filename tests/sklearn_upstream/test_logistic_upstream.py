"""scikit-learn's test_logistic.py, as installed, against fastlogit's classes (see conftest.py)."""

from __future__ import annotations

import pytest

_upstream = pytest.importorskip("sklearn.linear_model.tests.test_logistic")

assert _upstream.LogisticRegression.__module__.startswith("fastlogit"), \
    "conftest.py must swap the classes before the upstream tests are imported"

pytestmark = getattr(_upstream, "pytestmark", [])
globals().update({name: getattr(_upstream, name) for name in dir(_upstream)
                  if name.startswith("test_") and callable(getattr(_upstream, name))})
