"""Stopping on a signal, fast and clean: SIGTERM or SIGHUP sets STOPPING and exits normally, so the embedded
PostgreSQL (stopped by the wheel's exit hook) never outlives the process, and work that runs in threads, which a
signal cannot interrupt, looks at STOPPING between chunks (encoding checks it every ENCODE_CHUNK documents).
A sync cut short leaves its watermark where it was: the next run resumes with what was not written yet."""

from __future__ import annotations

import contextlib
import signal
import threading

STOPPING = threading.Event()  # set once this process has been told to stop; never cleared


class StoppingError(Exception):
    """Work stopped because the process is stopping (or its owner closed): safe to run again."""


def install_exit_on_signal() -> None:
    """Make SIGTERM and SIGHUP a normal exit (atexit hooks run) where nobody else has claimed them. A server
    (uvicorn) installed later saves this handler, shuts down gracefully, restores it and re-raises the signal,
    which then lands here."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _exit_on_signal)


def _exit_on_signal(signum: int, _frame: object) -> None:
    STOPPING.set()
    raise SystemExit(128 + signum)
