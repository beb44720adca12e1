#!/usr/bin/env bash
# Build the compiled kernels with AddressSanitizer and UndefinedBehaviorSanitizer in a
# scratch copy of the tree, then run the test suite against that build.
#
#   bash scripts/sanitize.sh [pytest args...]      (default: the whole tests/ directory)
#
# Needs gcc with libasan/libubsan (Debian: gcc's own runtime) and the test dependencies
# installed in the Python that runs it (PYTHON, default python3). Python itself is not
# instrumented; the sanitizer runtime is preloaded so that it sees every allocation.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# a copy of the tracked files (and the working-tree edits of them)
(cd "$ROOT" && git ls-files -z | xargs -0 cp --parents -t "$WORK")
cd "$WORK"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# The flags go into CC as well: setup.py's OpenMP probe links a small executable, which
# takes neither CFLAGS nor LDFLAGS at link time; without them the probe fails and the
# kernels would be built serial, leaving the threaded paths unchecked.
CC="${CC:-gcc} $SAN" CFLAGS="-g" LDFLAGS="$SAN" "$PY" setup.py build_ext --inplace -q \
    | tee build.log
grep -q "building with OpenMP" build.log || {
    echo "sanitize.sh: the sanitizer build has no OpenMP (see build.log above)" >&2
    exit 1
}

ASAN_LIB="$(gcc -print-file-name=libasan.so)"
UBSAN_LIB="$(gcc -print-file-name=libubsan.so)"
export LD_PRELOAD="$ASAN_LIB:$UBSAN_LIB"
# Python's own allocations look like leaks at exit: leaks are checked separately
# (tests/test_reliability.py runs 1,000 fits and watches resident memory).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# ASan keeps freed memory in quarantine (to catch use-after-free), so resident memory
# grows by design: tests that watch it skip themselves when this is set
export FASTLOGIT_SANITIZED=1
if [ "$#" -eq 0 ]; then
    set -- tests
fi
PYTHONPATH="$WORK/src" "$PY" -c "import fastlogit._core._kernels as k; assert k.openmp_enabled()"
PYTHONPATH="$WORK/src" "$PY" -m pytest -q -p no:cacheprovider "$@"
echo "sanitizers: no errors (ASan + UBSan)"
