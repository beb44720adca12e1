"""The code on the documentation pages runs and prints what the pages say.

Every ``>>>`` example in docs/ (reStructuredText and Markdown pages) is run as a
doctest, so a page cannot drift from what fastlogit does. A page whose examples
need an optional package says so in a comment, ``doctest-requires: sklearn``,
and is skipped (with the reason) where that package is missing.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(
    p for p in [*DOCS.rglob("*.rst"), *DOCS.rglob("*.md")]
    if not {"_build", "auto_examples", "generated", "_templates"}.intersection(
        p.relative_to(DOCS).parts)
)
REQUIRES = re.compile(r"doctest-requires:\s*([\w., -]+)")


@pytest.mark.skipif(not PAGES, reason="docs/ is not part of this copy of the sources")
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_examples(page, monkeypatch):
    text = page.read_text(encoding="utf-8")
    if ">>>" not in text:
        pytest.skip("no examples on this page")
    for match in REQUIRES.finditer(text):
        for name in filter(None, (s.strip() for s in match.group(1).split(","))):
            pytest.importorskip(name, reason=f"{page.name}'s examples need {name}")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) on {page.name} failed (see above)"


# -- the API reference lists every public name ----------------------------------------------

SRC = Path(__file__).resolve().parents[1] / "src" / "fastlogit"
PUBLIC_MODULES = {
    "fastlogit": "__init__.py",
    "fastlogit.backend": "backend/__init__.py",
    "fastlogit.sklearn": "sklearn/__init__.py",
    "fastlogit.dask": "dask/__init__.py",
    "fastlogit.plot": "plot/__init__.py",
    "fastlogit.datasets": "datasets.py",
}


def _public_names(path: Path) -> set[str]:
    """``__all__`` of a module's source (not imported: optional dependencies need not be
    installed), or its public top-level classes and functions when it has none."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {n for n in ast.literal_eval(node.value) if not n.startswith("__")}
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")}


def _documented() -> dict[str, set[str]]:
    """Names listed under each ``.. currentmodule::`` of docs/api.rst."""
    found: dict[str, set[str]] = {}
    module = None
    in_list = False
    for line in (DOCS / "api.rst").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith(".. currentmodule::"):
            module = stripped.split("::", 1)[1].strip()
            found.setdefault(module, set())
        elif stripped.startswith(".. autosummary::"):
            in_list = True
        elif in_list and line.startswith("   ") and stripped and not stripped.startswith(":"):
            found[module].add(stripped.lstrip("~").split(".")[-1])
        elif stripped and not line.startswith(" "):
            in_list = False
    return found


@pytest.mark.skipif(not (DOCS / "api.rst").exists(), reason="docs/ is not part of this copy")
@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_api_reference_lists_every_public_name(module):
    source = SRC / PUBLIC_MODULES[module]
    if not source.exists():
        pytest.skip(f"{module} does not exist in this version")
    missing = _public_names(source) - _documented().get(module, set())
    assert not missing, (f"docs/api.rst does not list {sorted(missing)} of {module}: add them "
                         f"to the autosummary list under '.. currentmodule:: {module}'")
