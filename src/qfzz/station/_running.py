"""Whether the station is running: one flag with one owner, checked by every flow."""

from __future__ import annotations

from collections.abc import Callable

from qfzz.errors import StationNotRunning


class RunState:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._started_at: float | None = None
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    @property
    def uptime(self) -> float:
        return 0.0 if self._started_at is None else self._clock() - self._started_at

    def started(self) -> None:
        self._running = True
        self._started_at = self._clock()

    def stopped(self) -> None:
        self._running = False

    def require(self) -> None:
        if not self._running:
            raise StationNotRunning("the station is not running")
