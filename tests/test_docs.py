"""The examples in the docstrings run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import fastlogit


def _modules():
    names = ["fastlogit"]
    for info in pkgutil.walk_packages(fastlogit.__path__, "fastlogit."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an adapter whose optional dependency is missing
        pytest.skip(f"{name}: {exc}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
