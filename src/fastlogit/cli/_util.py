"""What every ``fastlogit`` subcommand shares: user errors, optional imports, live progress.

The command line is an adapter at the edge (DESIGN.md section 4): it calls the
public API and turns its exceptions into one line on stderr. Nothing here holds
global state; the warning hook is installed by ``cli.main`` for the duration of
one command only.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import warnings
from typing import Any, Callable, Optional, TextIO

EXTRA = "pip install 'fastlogit[cli]'"


class CliError(Exception):
    """A problem with the user's input or environment: printed as one line, exit status 1."""


def require(module: str, purpose: str, package: Optional[str] = None) -> Any:
    """Import an optional dependency, or raise a CliError saying what to install.

    Parameters
    ----------
    module : str
        Module to import, e.g. "pyarrow.parquet".
    purpose : str
        What needs it, e.g. "reading Parquet files".
    package : str, optional
        The name to pip install (default: the top-level module name).

    Returns
    -------
    module

    Raises
    ------
    CliError
        When the module cannot be imported.

    Examples
    --------
    >>> require("json", "writing model files").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        pkg = package or module.split(".")[0]
        raise CliError(f"{purpose} needs {pkg}: pip install {pkg} (or {EXTRA})") from None


def check_outputs(out: Optional[str], plot: Optional[str]) -> None:
    """Fail early when an output cannot be written: a missing folder, or --plot without
    matplotlib, would otherwise surface only after a long fit."""
    for path in (out, plot):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise CliError(f"cannot write {path}: the folder {folder} does not exist")
    if plot:
        require("matplotlib", "--plot")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (the first line of a multi-line one).

    Examples
    --------
    >>> one_line(ValueError("bad value\\n  more detail"))
    'bad value'
    >>> one_line(KeyError("col"))
    "KeyError: 'col'"
    """
    text = str(exc).strip()
    if isinstance(exc, KeyError) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text.splitlines()[0].strip()


def format_count(x: float) -> str:
    """Counts with thousands separators; weighted (non-integer) ones rounded sensibly.

    Examples
    --------
    >>> format_count(1234567.0), format_count(2.5), format_count(12345.678)
    ('1,234,567', '2.5', '12,345.7')
    """
    x = float(x)
    if x.is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}" if abs(x) >= 1000 else f"{x:.4g}"


class Progress:
    """A live progress line for ``fit(callback=...)``: iteration, objective, gradient, time.

    On a terminal the line is redrawn in place (at most ``rate`` times a
    second) and erased by ``close()``; elsewhere (``--progress`` into a file
    or pipe) a plain line is written every ``every`` seconds. It writes to
    stderr so that stdout stays clean for results and pipes.

    Parameters
    ----------
    stream : file, default sys.stderr
    live : bool, optional
        Redraw in place; default: whether ``stream`` is a terminal.
    label : str
        Printed before the numbers.
    """

    def __init__(self, stream: Optional[TextIO] = None, live: Optional[bool] = None,
                 label: str = "fitting", rate: float = 10.0, every: float = 2.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = is_terminal(self.stream) if live is None else live
        self.label = label
        self.min_gap = 1.0 / rate if self.live else every
        self.last = -float("inf")
        self.drawn = False

    def __call__(self, info: Any) -> bool:
        now = time.perf_counter()
        if now - self.last < self.min_gap:
            return False
        self.last = now
        text = (f"{self.label}: iteration {info.iteration:,}  objective {info.objective:.10g}  "
                f"max |gradient| {info.grad_norm:.2e}  {info.elapsed:.1f} s")
        self._write(text)
        return False  # never asks the fit to stop

    def message(self, text: str) -> None:
        """Show a free-form status (e.g. rows done), under the same rate limit."""
        now = time.perf_counter()
        if now - self.last < self.min_gap:
            return
        self.last = now
        self._write(text)

    def _write(self, text: str) -> None:
        if self.live:
            self.stream.write("\r" + text + "\x1b[K")
            self.drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Erase a live line so that the next output starts on a clean line."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False


def is_terminal(stream: Any) -> bool:
    """Whether a stream is an interactive terminal (False for pipes, files, StringIO)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def fit_quietly_then_warn(fit: Callable[[], Any], progress: Optional[Progress]) -> Any:
    """Run ``fit()`` and erase the progress line before any warning it raised is shown,
    so that a warning never lands in the middle of the live line."""
    with warnings.catch_warnings(record=True) as caught:
        try:
            result = fit()
        finally:
            if progress is not None:
                progress.close()
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return result


def progress_for(args: Any, label: str = "fitting") -> Optional[Progress]:
    """The Progress to use under --progress / --no-progress / --verbose, or None.

    Default: a live line when stderr is a terminal; nothing otherwise, or with
    --verbose (which prints every iteration instead).
    """
    choice = getattr(args, "progress", None)
    if choice is False or getattr(args, "verbose", False):
        return None
    if choice is True or is_terminal(sys.stderr):
        return Progress(sys.stderr, label=label)
    return None
