"""Worker processes that leave Ctrl-C to their parent.

A ``spawn``-ed worker that receives the terminal's SIGINT while it starts (importing modules) or
while it holds a queue lock dies with a ``KeyboardInterrupt`` traceback and can leave the pool's
parent waiting on that lock for ever. Started inside :func:`sigint_ignored`, workers ignore SIGINT
from their first instruction (an ignored signal stays ignored across ``exec``, and Python then
installs no ``KeyboardInterrupt`` handler); the parent alone turns Ctrl-C into an orderly stop of
the pool.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Within the block (where the pool starts its processes) SIGINT is ignored, then the previous
    handler is back; a Ctrl-C in those milliseconds is lost. Off the main thread: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
