"""Run scikit-learn's own LogisticRegression tests (sklearn/linear_model/tests/test_logistic.py,
as installed) against fastlogit's LogisticRegression and LogisticRegressionCV.

Before the test module is collected, ``sklearn.linear_model.LogisticRegression`` and
``LogisticRegressionCV`` are replaced by fastlogit's classes, so the upstream module binds
them when test_logistic_upstream.py imports it. scikit-learn's private helpers that some
tests call directly (``_logistic_regression_path``, ``_log_reg_scoring_path``) stay
scikit-learn's own.

Tests that cannot apply to fastlogit are listed, each with its reason, in
not_applicable.txt (one ``pattern  # reason`` per line; patterns are fnmatch patterns
on the test's name with its parameters); they are skipped with that reason. Every
other test must pass, so a new failure fails the run.

The run is its own pytest invocation (about a minute; .ci/run does it):

    FASTLOGIT_SKLEARN_UPSTREAM=1 python -m pytest tests/sklearn_upstream

Without that variable this directory collects nothing, so ``pytest tests`` stays fast.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path

import pytest

_ENABLED = os.environ.get("FASTLOGIT_SKLEARN_UPSTREAM") == "1"
if _ENABLED and "fastlogit" not in sys.modules and \
        os.environ.get("FASTLOGIT_MIN_THREAD_WORK") == "1":
    # tests/conftest.py sends even tiny inputs through the kernels' multi-thread paths (to
    # test them); scikit-learn's tests fit thousands of tiny problems and measure nothing
    # about threads, so they run the kernels as users do (one thread on small inputs)
    del os.environ["FASTLOGIT_MIN_THREAD_WORK"]


def _swap_classes() -> bool:
    """Put fastlogit's classes in sklearn.linear_model; False when scikit-learn or its
    installed tests are missing."""
    try:
        import sklearn.linear_model as linear_model
        import sklearn.linear_model.tests  # noqa: F401  (the tests are installed)
    except ImportError:
        return False
    from fastlogit import sklearn as fastlogit_sklearn

    linear_model.LogisticRegression = fastlogit_sklearn.LogisticRegression
    linear_model.LogisticRegressionCV = fastlogit_sklearn.LogisticRegressionCV
    return True


if not (_ENABLED and _swap_classes()):
    collect_ignore_glob = ["*.py"]

_LIST = Path(__file__).with_name("not_applicable.txt")


def not_applicable() -> list[tuple[str, str]]:
    """(pattern, reason) pairs from not_applicable.txt."""
    rows = []
    for line in _LIST.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, reason = line.partition("#")
        rows.append((pattern.strip(), reason.strip()))
    return rows


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    rows = not_applicable()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent != here:
            continue
        for pattern, reason in rows:
            if fnmatch.fnmatchcase(item.name, pattern):
                item.add_marker(pytest.mark.skip(reason=f"not applicable: {reason}"))
                break


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """scikit-learn's global_random_seed fixture at its default seed (42)."""
    if "global_random_seed" in metafunc.fixturenames:
        metafunc.parametrize("global_random_seed", [42])
