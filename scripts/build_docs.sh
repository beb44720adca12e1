#!/usr/bin/env bash
# Build the documentation as a reader gets it, warnings as errors, and run the code on its
# pages: the examples gallery runs during the build, the pages' and the docstrings' >>>
# examples as doctests.
#
#   bash scripts/build_docs.sh              # with the python3 on PATH (fastlogit installed,
#                                           # or built in place: setup.py build_ext --inplace)
#   PYTHON=.venv/bin/python bash scripts/build_docs.sh
#
# The HTML goes to docs/_build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
rm -rf docs/_build docs/auto_examples docs/generated docs/sg_execution_times.rst
SECONDS=0
"$PY" -m sphinx -W --keep-going -b html docs docs/_build/html
echo "docs built in ${SECONDS} s: docs/_build/html/index.html"
# every >>> example of the pages and of the API reference's docstrings, through Sphinx
"$PY" -m sphinx -q -b doctest docs docs/_build/doctest
# the same pages' examples as the test suite runs them, and the API reference's completeness
"$PY" -m pytest -q -p no:cacheprovider tests/test_docs_pages.py
