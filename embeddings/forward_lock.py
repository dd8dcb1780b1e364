"""One forward pass at a time (torch already uses every core), with questions first.

A sync encodes documents in calls of a hundred or more; with one lock per call, a search question asked meanwhile
waited for the whole call (3.9 s with MiniLM, 7.7 s with multilingual-e5 for 256 documents on 2 cores:
bench/query_during_sync.py). Bulk work takes this lock per forward batch and steps aside while a question waits,
so a question waits for at most the batch already running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ForwardLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._questions = 0  # questions waiting: bulk batches do not start while there are any

    @contextmanager
    def question(self) -> Iterator[None]:
        with self._cond:
            self._questions += 1
            try:
                while self._busy:
                    self._cond.wait()
            finally:
                self._questions -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._cond:
            while self._busy or self._questions:
                self._cond.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()
