"""Build the compiled kernels of fastlogit.

Every ``src/fastlogit/**/*.pyx`` becomes one extension module, named after its path. OpenMP is used
when the compiler can build and link a small OpenMP program; otherwise the
kernels are built serial (the ``prange`` loops then run on one thread and
give the same answers). Set ``FASTLOGIT_NO_OPENMP=1`` to force a serial
build, ``FASTLOGIT_NATIVE=1`` to add ``-march=native`` for a local build
that will never run on another CPU, ``FASTLOGIT_DEBUG=1`` to keep debug
information (left out otherwise).

Build speed: Cython's utility code (memoryviews, fused-function dispatch) is
generated once, into the shared module ``fastlogit._core._cyutility``, instead
of into every extension; the .pyx files are translated and the C files
compiled in parallel, one job per CPU (``FASTLOGIT_BUILD_JOBS=N`` to choose;
``build_ext -j N`` overrides). Each step prints a line (``pip install -v .``
shows them).
"""

import glob
import os
import shutil
import sys
import tempfile
import time

import numpy
from Cython import __version__ as cython_version
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_TEST = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return omp_get_max_threads() > 0 && n > 0 ? 0 : 1;
}
"""


def _openmp_flags(compiler_type):
    """Candidate (compile, link) flags for OpenMP, most likely first."""
    if compiler_type == "msvc":
        return [(["/openmp"], [])]
    if sys.platform == "darwin":
        # Apple clang needs libomp (e.g. from Homebrew) and the preprocessor form.
        prefix = os.environ.get("LIBOMP_PREFIX", "/opt/homebrew/opt/libomp")
        return [
            (["-fopenmp"], ["-fopenmp"]),
            (
                ["-Xpreprocessor", "-fopenmp", f"-I{prefix}/include"],
                [f"-L{prefix}/lib", "-lomp"],
            ),
        ]
    return [(["-fopenmp"], ["-fopenmp"])]


def _jobs():
    """Parallel jobs for translating and compiling: FASTLOGIT_BUILD_JOBS, else one per CPU."""
    value = os.environ.get("FASTLOGIT_BUILD_JOBS", "")
    if value.strip():
        return max(1, int(value))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _say(message):
    print(f"fastlogit build: {message}", flush=True)


class BuildExt(build_ext):
    """build_ext that probes the compiler for OpenMP, sets flags per compiler, and
    compiles the extensions in parallel."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:  # no -j given: one job per CPU
            self.parallel = _jobs()

    def build_extension(self, ext):
        start = time.perf_counter()
        _say(f"compiling {ext.name} ...")
        super().build_extension(ext)
        _say(f"compiled {ext.name} in {time.perf_counter() - start:.1f} s")

    def _probe_openmp(self):
        if os.environ.get("FASTLOGIT_NO_OPENMP"):
            return None
        tmp = tempfile.mkdtemp()
        try:
            src = os.path.join(tmp, "omp_test.c")
            with open(src, "w") as fh:
                fh.write(OPENMP_TEST)
            for cflags, lflags in _openmp_flags(self.compiler.compiler_type):
                try:
                    objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                    self.compiler.link_executable(
                        objs, os.path.join(tmp, "omp_test"), extra_postargs=lflags
                    )
                    return cflags, lflags
                except Exception:  # noqa: BLE001 - any failure means "no OpenMP here"
                    continue
            return None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        omp = self._probe_openmp()
        if omp is None:
            _say("building WITHOUT OpenMP (kernels run on one thread)")
        else:
            _say(f"building with OpenMP flags {omp}")
        if ctype == "msvc":
            base = ["/O2"]
        else:
            # -fno-math-errno lets the compiler treat exp/log1p as pure functions;
            # it changes no result. We never use -ffast-math: the numerics rely on
            # IEEE semantics (inf, exact branch thresholds, evaluation order).
            base = ["-O3", "-fno-math-errno", "-Wno-unreachable-code"]
            if os.environ.get("FASTLOGIT_NATIVE"):
                base.append("-march=native")
            # No debug information unless asked for (FASTLOGIT_DEBUG=1, or -g in CFLAGS as
            # scripts/sanitize.sh sets): it is four fifths of the shared objects' size and a
            # quarter of the compile time, and Python's own CFLAGS ask for it by default.
            wants_debug = "-g" in os.environ.get("CFLAGS", "").split()
            if not (os.environ.get("FASTLOGIT_DEBUG") or wants_debug):
                base.append("-g0")
        for ext in self.extensions:
            ext.extra_compile_args = base + (omp[0] if omp else [])
            ext.extra_link_args = omp[1] if omp else []
        # largest first: the longest compilations start at once and the small ones fill in
        self.extensions.sort(key=lambda ext: -sum(
            os.path.getsize(src) for src in ext.sources if os.path.exists(src)))
        _say(f"compiling {len(self.extensions)} extensions, {self.parallel} at a time")
        super().build_extensions()


# Cython's utility code (memoryview support, fused-function dispatch...) goes into this
# one module instead of being repeated in every extension (Cython >= 3.1).
SHARED_UTILITY = "fastlogit._core._cyutility"


def _extensions():
    sources = sorted(glob.glob(os.path.join("src", "fastlogit", "**", "*.pyx"), recursive=True))
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")]
    exts = [
        Extension(
            ".".join(os.path.splitext(os.path.relpath(src, "src"))[0].split(os.sep)),
            [src],
            include_dirs=[numpy.get_include()],
            define_macros=macros,
        )
        for src in sources
    ]
    options = {}
    if tuple(int(part) for part in cython_version.split(".")[:2]) >= (3, 1):
        shared_c = os.path.join("src", *SHARED_UTILITY.split(".")) + ".c"
        exts.insert(0, Extension(SHARED_UTILITY, [shared_c], define_macros=macros))
        options["shared_utility_qualified_name"] = SHARED_UTILITY
    jobs = _jobs()
    start = time.perf_counter()
    _say(f"translating {len(sources)} Cython modules to C (Cython {cython_version}, "
         f"{jobs} at a time)")
    modules = cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
        annotate=bool(os.environ.get("FASTLOGIT_ANNOTATE")),
        # a process pool: only where processes fork (spawning would re-run this script)
        nthreads=jobs if jobs > 1 and sys.platform.startswith("linux") else 0,
        **options,
    )
    _say(f"translated in {time.perf_counter() - start:.1f} s")
    return modules


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
