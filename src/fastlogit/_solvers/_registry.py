"""The solvers by name: the one place that knows them all.

Each solver module depends only on ``_base`` (the shared outcome, monitor and
warning types); this registry sits above them and imports each, so no solver
ever imports the registry back.
"""

from __future__ import annotations

from typing import Callable

from fastlogit._solvers import _gd, _lbfgs, _newton, _newton_cg, _sgd
from fastlogit._solvers._base import SolverOutcome

SOLVERS: dict[str, Callable[..., SolverOutcome]] = {
    "lbfgs": _lbfgs.solve,
    "newton": _newton.solve,
    "newton-cg": _newton_cg.solve,
    "gd": _gd.solve,
    "sgd": _sgd.solve,
}


def get_solver(name: str) -> Callable[..., SolverOutcome]:
    """The solve function registered under ``name``; ValueError naming the choices otherwise."""
    if name not in SOLVERS:
        names = sorted([*SOLVERS, "auto", "cd"])  # "cd" runs through _models/_fit_cd.py
        raise ValueError(f"solver must be one of {names}; got {name!r}")
    return SOLVERS[name]
