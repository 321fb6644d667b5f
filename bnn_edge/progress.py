"""Progress reports for long work: jobs of a sweep, images through an engine (and, in
:mod:`bnn_edge.epoch_bar`, epochs of a training).

On a terminal they are tqdm bars redrawn in place. When the stream is not a terminal (CI, output
redirected to a file or a pipe) a redrawn bar would pile every update onto one endless line, so
each finished job is written as one short line of its own instead, and many small updates (image
batches) as one line at each tenth of the work. This module does not import TensorFlow: commands
that never train (``run``, ``inspect``) use it too.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm.auto import tqdm

MAX_DESC = 60  # characters of a description kept in a line (lines stay far below 300 characters)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (False for files, pipes and closed streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _short(text: str, limit: int = MAX_DESC) -> str:
    text = " ".join(str(text).split())  # no newlines or carriage returns inside a line
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


class LineBar:
    """The subset of tqdm's interface used here, writing one line per :meth:`update`."""

    def __init__(self, total: int, desc: str, unit: str = "it", initial: int = 0, file: TextIO | None = None,
                 disable: bool = False):
        self.total, self.desc, self.unit, self.n = total, _short(desc), unit, initial
        self.file = file if file is not None else sys.stderr
        self.disable = disable
        self.postfix = ""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = _short(s)

    def set_postfix(self, **kwargs: Any) -> None:
        self.postfix = _short(", ".join(f"{k}={v}" for k, v in kwargs.items()), 120)

    def write(self, s: str) -> None:
        if not self.disable:
            print(s, file=self.file, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.disable:
            tail = f" {self.postfix}" if self.postfix else ""
            print(f"{self.desc}: {self.n}/{self.total} {self.unit}{tail}", file=self.file, flush=True)

    def close(self) -> None:
        pass


def job_bar(total: int, desc: str, unit: str = "job", initial: int = 0, disable: bool = False,
            file: TextIO | None = None) -> Any:
    """A tqdm bar on a terminal, else a :class:`LineBar` (one line per finished job)."""
    file = file if file is not None else sys.stderr
    if is_terminal(file):
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=disable, file=file, dynamic_ncols=True)
    return LineBar(total, desc, unit=unit, initial=initial, file=file, disable=disable)


class SparseLineBar:
    """Progress without a terminal for many small updates: one line at each tenth of the work."""

    def __init__(self, total: int, desc: str, unit: str = "it", file: TextIO | None = None):
        self.total, self.desc, self.unit, self.n = total, _short(desc), unit, 0
        self.file = file if file is not None else sys.stderr
        self._step = max(1, total // 10)
        self._next = self._step

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next or self.n >= self.total:
            print(f"{self.desc}: {self.n}/{self.total} {self.unit}", file=self.file, flush=True)
            while self._next <= self.n:
                self._next += self._step

    def close(self) -> None:
        pass


def work_bar(total: int, desc: str, unit: str = "it", file: TextIO | None = None) -> Any:
    """A tqdm bar on a terminal, else a :class:`SparseLineBar` (a line per tenth of ``total``)."""
    file = file if file is not None else sys.stderr
    if is_terminal(file):
        return tqdm(total=total, desc=desc, unit=unit, file=file, leave=False, dynamic_ncols=True)
    return SparseLineBar(total, desc, unit, file=file)
