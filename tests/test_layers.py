"""The package's layers: imports run one way, down, and never in a circle.

Each folder of ``fastlogit`` is a layer (shared/DESIGN.md, the README's Layout):

    _core < _input < backend < _penalties < _solvers < _models < _selection
          < the adapters (sklearn, dask, plot, datasets) < fastlogit/__init__ < cli

A module may import from its own layer and from the layers below it. Adapters
sit side by side: each imports the layers, never another adapter nor the
top-level package. Every import counts, including those inside functions, and
the compiled modules' ``cimport`` lines too. The source is read as text
(ast for Python, a regular expression for Cython); nothing is imported.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import fastlogit

PACKAGE = Path(fastlogit.__file__).parent

RANKS = {
    "_version": 0,
    "_core": 0,
    "_input": 1,
    "backend": 2,
    "_penalties": 3,
    "_solvers": 4,
    "_models": 5,
    "_selection": 6,
    "sklearn": 7,
    "dask": 7,
    "plot": 7,
    "datasets": 7,
    "formula": 7,
    "": 8,  # fastlogit/__init__.py: the public API
    "cli": 9,
    "__main__": 9,
}
ADAPTER_RANK = 7
MAX_LINES = 520

CIMPORT = re.compile(r"^\s*(?:from\s+(fastlogit[\w.]*)\s+c?import\s+\(?([\w, ]*)|"
                     r"c?import\s+(fastlogit[\w.]*))", re.M)


def _sources() -> dict[str, Path]:
    """Dotted module name -> source file, for every .py/.pyx/.pxd of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd") or "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.setdefault(".".join(parts), path)
    return found


def _targets(path: Path, modules: set[str]) -> set[str]:
    """The package modules that ``path`` imports (a name that is a submodule counts as it)."""
    pairs: list[tuple[str, list[str]]] = []
    text = path.read_text()
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                pairs.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                pairs.extend((a.name, []) for a in node.names)
    else:
        for mo in CIMPORT.finditer(text):
            module = mo.group(1) or mo.group(3)
            names = [n.strip() for n in (mo.group(2) or "").split(",") if n.strip()]
            pairs.append((module, names))
    out = set()
    for module, names in pairs:
        if module != "fastlogit" and not module.startswith("fastlogit."):
            continue
        subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
        out.update(subs or [module])
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    names = set(sources)
    return {m: _targets(p, names) - {m} for m, p in sources.items()}


def test_every_module_has_a_known_layer():
    unknown = sorted({_layer(m) for m in _sources()} - set(RANKS))
    assert not unknown, f"folders with no place in the layer order: {unknown} (add them to RANKS)"


def test_imports_run_down_the_layers():
    wrong = []
    for module, targets in _graph().items():
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if RANKS[theirs] > RANKS[mine]:
                wrong.append(f"{module} imports {target} (a higher layer)")
            elif RANKS[mine] == ADAPTER_RANK == RANKS[theirs] and mine != theirs:
                wrong.append(f"{module} imports {target} (adapters do not import each other)")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt in graph and nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_solver_registry_is_not_imported_by_solvers():
    graph = _graph()
    solvers = [m for m in graph if _layer(m) == "_solvers" and not m.endswith("_registry")]
    assert not [m for m in solvers if "fastlogit._solvers._registry" in graph[m]]


@pytest.mark.parametrize("module", sorted(_sources()))
def test_modules_stay_small(module):
    lines = len(_sources()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it (about 500 at most)"


def test_the_graph_sees_lazy_and_compiled_imports():
    graph = _graph()
    # a lazy import inside a function, and a cimport in a .pyx, are both edges
    assert "fastlogit._core._kernels" in graph["fastlogit._core._softmax"]
    assert "fastlogit.sklearn._estimators" in graph["fastlogit.sklearn"]
