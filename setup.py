"""Build the compiled kernels of fastlogit.

Every ``src/fastlogit/**/*.pyx`` becomes one extension module, named after its path. OpenMP is used
when the compiler can build and link a small OpenMP program; otherwise the
kernels are built serial (the ``prange`` loops then run on one thread and
give the same answers). Set ``FASTLOGIT_NO_OPENMP=1`` to force a serial
build, ``FASTLOGIT_NATIVE=1`` to add ``-march=native`` for a local build
that will never run on another CPU.
"""

import glob
import os
import shutil
import sys
import tempfile

import numpy
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


class BuildExt(build_ext):
    """build_ext that probes the compiler for OpenMP and sets flags per compiler."""

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
            print("fastlogit: building WITHOUT OpenMP (kernels run on one thread)")
        else:
            print(f"fastlogit: building with OpenMP flags {omp}")
        if ctype == "msvc":
            base = ["/O2"]
        else:
            # -fno-math-errno lets the compiler treat exp/log1p as pure functions;
            # it changes no result. We never use -ffast-math: the numerics rely on
            # IEEE semantics (inf, exact branch thresholds, evaluation order).
            base = ["-O3", "-fno-math-errno", "-Wno-unreachable-code"]
            if os.environ.get("FASTLOGIT_NATIVE"):
                base.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = base + (omp[0] if omp else [])
            ext.extra_link_args = omp[1] if omp else []
        super().build_extensions()


def _extensions():
    sources = sorted(glob.glob(os.path.join("src", "fastlogit", "**", "*.pyx"), recursive=True))
    exts = [
        Extension(
            ".".join(os.path.splitext(os.path.relpath(src, "src"))[0].split(os.sep)),
            [src],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        )
        for src in sources
    ]
    return cythonize(
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
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
