"""The repository's text speaks of the project alone, as a published library's does.

Working notes do not belong in a library's files: references to tracker entries
by number, words about who did the work and when, or paths of one developer's
machine mean nothing to a reader of the published package. This test scans the
text files a reader sees (README, CHANGELOG, docs, sources, tests, benchmarks,
examples, scripts, CI configuration) and fails on such phrases, naming the file,
the line and the phrase.

The patterns are precise on purpose: technical words that merely contain a
flagged word (pytest's ``scope="session"`` fixtures, ``pytest_sessionstart``,
``sessionmaker``, a systemd user session, Dask's ``Client``) are not flagged.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# what is scanned: top-level text files and these folders (tracked files only when the
# tree is a git checkout; otherwise, e.g. in an unpacked sdist, every file below them)
TOP_FILES = ("README.md", "CHANGELOG.md", "pyproject.toml", "setup.py", "setup.cfg")
FOLDERS = ("docs", "src", "tests", "benchmarks", "examples", "scripts", ".github", ".ci")
TEXT_SUFFIXES = {
    "", ".py", ".pyx", ".pxd", ".pyi", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini",
    ".yml", ".yaml", ".sh", ".json", ".in", ".css", ".html",
}
SKIP_PARTS = {"_build", "auto_examples", "generated", "__pycache__", "gen_modules", ".cache"}

# (name, pattern); every pattern is case-insensitive
RULES = [
    # a tracker entry cited by number: "issue 17", "Issue #3", "issues 4 and 5"
    ("issue number", re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE)),
    # a tracker entry cited without its number, as a reader of the package cannot follow
    ("reference to a tracker entry", re.compile(r"\bthe issue'?s\b", re.IGNORECASE)),
    # the word itself; the allowed technical uses are removed first (ALLOWED below)
    ("working-session language", re.compile(r"\bsessions?\b", re.IGNORECASE)),
    ("working-team language", re.compile(r"\bthe lead\b", re.IGNORECASE)),
    # one machine's paths
    ("machine path", re.compile(r"(?<![\w.~-])/work/")),
]

# technical phrases that contain a flagged word and are not working language
ALLOWED = [
    re.compile(r"""scope\s*=\s*["']session["']"""),  # pytest fixture scope
    re.compile(r"\bsystemd\b[^.\n]{0,40}\bsession\b", re.IGNORECASE),  # a systemd user session
    re.compile(r"\bdef pytest_\w+\([^)]*\)"),  # pytest hooks take an argument named session
]


# this file quotes the phrases it looks for (in its examples below), so it is not scanned
SELF = Path(__file__).resolve()


def _candidate_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", *TOP_FILES, *FOLDERS],
            cwd=ROOT, capture_output=True, check=True, timeout=60,
        ).stdout.decode()
        files = [ROOT / name for name in out.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        files = [ROOT / name for name in TOP_FILES]
        for folder in FOLDERS:
            files += [p for p in (ROOT / folder).rglob("*") if p.is_file()]
    return sorted(
        p for p in files
        if p.is_file() and p.suffix in TEXT_SUFFIXES and p.resolve() != SELF
        and not SKIP_PARTS.intersection(p.relative_to(ROOT).parts)
    )


def find_violations(text: str) -> list[tuple[int, str, str]]:
    """(line number, rule name, matched phrase) of every violation in ``text``."""
    found = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        cleaned = line
        for allowed in ALLOWED:
            cleaned = allowed.sub(" ", cleaned)
        for name, pattern in RULES:
            for match in pattern.finditer(cleaned):
                found.append((lineno, name, match.group(0)))
    return found


@pytest.mark.parametrize("text, expected", [
    ("as measured for issue 17", ["issue number"]),
    ("see Issue #3 and issues 4-5", ["issue number", "issue number"]),
    ("the issue's target was 1.5", ["reference to a tracker entry"]),
    ("figures of this session", ["working-session language"]),
    ("timings The Lead will re-measure", ["working-team language"]),
    ("cd /work/main && make", ["machine path"]),
    ('@pytest.fixture(scope="session")', []),
    ("def pytest_sessionstart(session): pass", []),
    ("from sqlalchemy.orm import sessionmaker", []),
    ("where a user systemd session exists", []),
    ("client = Client('tcp://scheduler:8786')", []),
    ("an issue with the data; issues of scale", []),
    ("https://example.org/docs/work/page and ~/work/x", []),
    ("the leading coefficient", []),
])
def test_patterns_are_precise(text, expected):
    assert [name for _, name, _ in find_violations(text)] == expected


def test_repository_text_speaks_of_the_project_alone():
    files = _candidate_files()
    assert any(p.name == "README.md" for p in files), "README.md not found: nothing scanned"
    problems = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file after all
        for lineno, name, phrase in find_violations(text):
            problems.append(f"{path.relative_to(ROOT)}:{lineno}: {name}: {phrase!r}")
    assert not problems, (
        "internal working language in the repository's text (rewrite the sentence so it "
        "speaks of the project):\n" + "\n".join(problems)
    )
