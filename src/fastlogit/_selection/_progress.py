"""Progress of multi-fit jobs (paths, cross-validation): per-lam lines, or a tqdm bar."""

from __future__ import annotations

import sys
from typing import Any, Optional


class Progress:
    """Reports fits as they finish.

    ``verbose`` prints one line per fit (under a header); ``bar`` shows a tqdm progress bar
    (tqdm is optional: asking for the bar without it raises ImportError). Both off: silent.
    """

    def __init__(self, total: int, verbose: bool, bar: bool, desc: str,
                 stream: Any = None) -> None:
        self.verbose = bool(verbose)
        self.stream = stream
        self._bar: Any = None
        self._header_done = False
        if bar:
            try:
                from tqdm.auto import tqdm
            except ImportError as exc:
                raise ImportError(
                    "progress=True shows a tqdm progress bar, and tqdm is not installed: "
                    "pip install tqdm (or pip install fastlogit[progress]), or use "
                    "verbose=True for plain per-lam lines."
                ) from exc
            self._bar = tqdm(total=total, desc=desc, unit="lam", leave=False)

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stdout

    def note(self, text: str) -> None:
        """A free-form line (verbose only)."""
        if self.verbose:
            print(text, file=self._out(), flush=True)

    def lam_done(self, index: int, lam: float, n_nonzero: int, dev_ratio: float, n_iter: int,
                 n_fev: int, kkt: float, elapsed: float, converged: bool,
                 prefix: str = "") -> None:
        if self.verbose:
            out = self._out()
            if not self._header_done:
                print(f"{prefix}{'#':>4} {'lam':>11} {'nonzero':>8} {'dev.ratio':>9} "
                      f"{'iter':>5} {'evals':>6} {'kkt':>9} {'time':>8}", file=out)
                self._header_done = True
            flag = "" if converged else "  NOT converged"
            print(f"{prefix}{index:4d} {lam:11.5g} {n_nonzero:8d} {dev_ratio:9.4f} "
                  f"{n_iter:5d} {n_fev:6d} {kkt:9.2e} {elapsed:7.2f}s{flag}",
                  file=out, flush=True)
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(total: int, verbose: bool, progress: Optional[bool], desc: str) -> Progress:
    return Progress(total, verbose, bool(progress), desc)
