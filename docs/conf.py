"""Sphinx configuration of fastlogit's documentation.

Build (warnings are errors):

    pip install ".[docs]"
    sphinx-build -W docs docs/_build

The pages import fastlogit: either install it, or build the extensions in place
(``python setup.py build_ext --inplace``) and the source tree is used.
"""

from __future__ import annotations

import doctest
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# an in-place build (setup.py build_ext --inplace) is used without installing; otherwise
# the installed fastlogit (the sources alone lack the compiled kernels)
_CORE = ROOT / "src" / "fastlogit" / "_core"
if any(_CORE.glob("_kernels.*.so")) or any(_CORE.glob("_kernels.*.pyd")):
    sys.path.insert(0, str(ROOT / "src"))

os.environ.setdefault("MPLBACKEND", "Agg")  # the gallery renders without a display
os.environ.setdefault("OMP_NUM_THREADS", "1")  # small problems: thread start-up would dominate

import fastlogit  # noqa: E402

project = "fastlogit"
author = "fastlogit developers"
copyright = "fastlogit developers"  # noqa: A001 - Sphinx's name
release = fastlogit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # the changelog is Markdown (CHANGELOG.md at the top of the repository)
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json",
                    "auto_examples/*.md5"]
default_role = "literal"  # `name` is code, as in the docstrings
nitpicky = False
# sphinx-gallery's configuration holds functions, which Sphinx cannot pickle: harmless
suppress_warnings = ["config.cache"]

# -- API reference --------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # each class page lists its own members (template)
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()


def _skip_member(app, what, name, obj, skip, options):
    """Leave out what others document: members inherited from scikit-learn's base classes
    (metadata routing, get_params, score...) and from Python's exceptions."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        return True
    if getattr(obj, "__objclass__", None) in (BaseException, object):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)


# -- examples gallery -----------------------------------------------------------------------
# The scripts in examples/ run during the build with --small (seconds each); those that
# draw a figure write it as a PNG (their --plot option) into a scratch folder, and the
# scraper below puts it on the example's page.
_PLOTS = Path(tempfile.mkdtemp(prefix="fastlogit-gallery-"))


def _reset_argv(gallery_conf, script_vars):
    """Command-line arguments of each example: small problems, the figure to the scratch."""
    name = Path(script_vars["src_file"]).stem
    source = Path(script_vars["src_file"]).read_text(encoding="utf-8")
    args = ["--small"]
    if '"--plot"' in source:
        args += ["--plot", str(_PLOTS / f"{name}.png")]
    return args


class _Scraper:
    """Collect the figures of an example for its page.

    Three kinds: the PNG an example wrote with ``--plot``; matplotlib ``Figure`` objects
    the example holds in its global variables (fastlogit.plot returns figures without
    pyplot); and pyplot figures left open.
    """

    def __init__(self):
        self.seen: dict[str, set[int]] = {}

    def __repr__(self):  # sphinx-gallery keys its cache on the scrapers' repr
        return "fastlogit-gallery-scraper"

    def __call__(self, block, block_vars, gallery_conf):
        from matplotlib.figure import Figure
        from sphinx_gallery.scrapers import figure_rst, matplotlib_scraper

        src = str(block_vars["src_file"])
        seen = self.seen.setdefault(src, set())
        images = block_vars["image_path_iterator"]
        paths = []
        written = _PLOTS / f"{Path(src).stem}.png"
        if written.exists():
            target = next(images)
            shutil.move(str(written), target)
            paths.append(target)
        for value in list(block_vars["example_globals"].values()):
            if isinstance(value, Figure) and id(value) not in seen:
                seen.add(id(value))
                target = next(images)
                value.savefig(target, dpi=96)
                paths.append(target)
        rst = figure_rst(paths, gallery_conf["src_dir"]) if paths else ""
        return rst + matplotlib_scraper(block, block_vars, gallery_conf)


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run every example
    "reset_argv": _reset_argv,
    "image_scrapers": (_Scraper(),),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "min_reported_time": 1,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastlogit {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}

# -- doctest (sphinx-build -b doctest docs docs/_build/doctest) ------------------------------
doctest_global_setup = "import numpy as np\nimport fastlogit\n"
doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
