"""The ``fastlogit`` command line (also ``python -m fastlogit``).

    fastlogit fit DATA [--label COL | --successes COL --trials COL] [--out MODEL.json] ...
    fastlogit predict MODEL.json DATA [--out FILE]
    fastlogit demo [--rows N --features P] [--compare]
    fastlogit demo --toy                  # type "x,label" lines, or pipe them in

Every subcommand has --help. Errors in the input (a bad file, a missing column,
labels outside {0, 1}, k > n, ...) end the command with one line on stderr and
exit status 1 (2 for a bad command line); --debug shows the traceback instead.
Readers, writers and the toy and synthetic demos live in _cli_io, _cli_model,
_cli_toy and _cli_demo.
"""

from fastlogit.cli._main import main

__all__ = ["main"]
