"""bnn_edge.workers: pools started inside sigint_ignored() have workers deaf to Ctrl-C from birth."""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor

from bnn_edge.workers import sigint_ignored


def _sigint_disposition() -> str:
    return "ignored" if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else "handled"


def test_workers_started_inside_ignore_sigint_and_the_parent_gets_its_handler_back():
    # the parent as a command runs it: Python's own SIGINT handler (a pytest-xdist worker ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
            with sigint_ignored():
                assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
                fut = ex.submit(_sigint_disposition)  # the worker process starts here
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
            assert fut.result() == "ignored"
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:  # started outside: Python's default handler
            assert ex.submit(_sigint_disposition).result() == "handled"
    finally:
        signal.signal(signal.SIGINT, previous)
