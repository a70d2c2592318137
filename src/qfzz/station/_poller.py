"""A background thread that drains a queue now and then: the catalog jobs and the
conversions both run this way, one owner of the thread and its stop signal each."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Poller:
    """Calls ``drain`` (which does every visible job) every ``seconds`` until stopped; an
    exception is logged and the next poll tries again, so one bad moment of the queue's
    backend does not end the work for good."""

    def __init__(self, name: str, drain: Callable[[], int], seconds: float) -> None:
        self._name = name
        self._drain = drain
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._drain()
            except Exception:  # the queue itself failed: try again at the next poll
                log.exception("%s worker", self._name)
            self._stop.wait(self._seconds)
