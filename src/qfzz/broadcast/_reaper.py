"""A reaper: stops what has idled long enough, by time alone, on the injected clock.

Encoders outlive their last listener by a grace period; nothing else happens at the end
of it, so something must wait for that moment. The reaper is one thread per station that
waits on the station's ``Clock`` for the earliest due time (``wait_until``), calls
``reap(now)``, and waits again; a ``poke`` (a listener left, a mount was made) makes it
look at the due times anew. With nothing due it waits on its alarm alone and registers
no deadline, so a ``SimulatedClock`` never jumps to a time nobody needs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from qfzz.broadcast._clock import Alarm, Clock, as_clock

log = logging.getLogger(__name__)


class Reaper:
    """Calls ``reap(now)`` whenever the clock reaches ``due()`` (None: nothing due)."""

    def __init__(
        self,
        clock: Clock | Callable[[], float],
        due: Callable[[], float | None],
        reap: Callable[[float], None],
        *,
        name: str = "qfzz-reaper",
    ) -> None:
        self._clock = as_clock(clock)
        self._due = due
        self._reap = reap
        self._name = name
        self._wake = Alarm()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._life = threading.Lock()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        with self._life:
            if self._thread is not None:
                return
            self._stopping = False
            self._wake.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Something changed: look at the due times again."""
        self._wake.set()

    def stop(self) -> None:
        with self._life:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            self._wake.clear()  # before looking: a poke from now on ends the next wait
            if self._stopping:
                return
            try:
                self._reap(self._clock())
                due = self._due()
            except Exception:  # a reaper that dies leaves every idle encoder running
                log.exception("reaping idle mounts failed")
                due = None
            if self._stopping:
                return
            if due is None:
                self._wake.wait()
            else:
                self._clock.wait_until(due, self._wake)
