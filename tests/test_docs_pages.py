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
