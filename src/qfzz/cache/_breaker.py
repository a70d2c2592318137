"""A circuit breaker with an injected clock, so a dead cache server costs nothing per call.

closed ──N consecutive failures──▶ open ──backoff elapsed──▶ half-open (one probe)
  ▲                                  ▲                           │
  └──────────── probe succeeds ──────┼───────────────────────────┘
                                     └──── probe fails: backoff doubles (capped)

While open, :meth:`allow` answers ``False`` at once: callers skip the server entirely
(no ``PING``, no connect attempt). After the backoff exactly one caller is let through as
the probe; everyone else keeps skipping until it reports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        failure_threshold: int = 3,
        base_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._clock = clock
        self.failure_threshold = failure_threshold
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._lock = threading.Lock()
        self._state: CircuitState = "closed"
        self._failures = 0
        self._backoff = base_backoff
        self._retry_at = 0.0
        self.opened = 0  # how many times it opened (for metrics)

    @property
    def state(self) -> CircuitState:
        return self._state

    @property
    def retry_at(self) -> float:
        """When the next probe is allowed (meaningful while open)."""
        return self._retry_at

    def allow(self) -> bool:
        if self._state == "closed":  # the hot path: no lock
            return True
        with self._lock:
            state: CircuitState = self._state
            if state == "open" and self._clock() >= self._retry_at:
                self._state = "half_open"
                return True  # this caller is the probe
            return state == "closed"  # closed by another thread meanwhile

    def success(self) -> bool:
        """Report a call that reached the server; ``True`` when this closed the circuit."""
        if self._state == "closed" and self._failures == 0:
            return False
        with self._lock:
            recovered = self._state != "closed"
            self._state = "closed"
            self._failures = 0
            self._backoff = self.base_backoff
            return recovered

    def failure(self) -> None:
        """Report a call that could not reach the server."""
        with self._lock:
            if self._state == "half_open":
                self._backoff = min(self._backoff * 2, self.max_backoff)
                self._open()
                return
            if self._state == "open":
                return
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._backoff = self.base_backoff
                self._open()

    def _open(self) -> None:
        self._state = "open"
        self._retry_at = self._clock() + self._backoff
        self.opened += 1
