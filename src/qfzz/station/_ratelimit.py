"""Sliding-window rate limits (login, registration), with an injected clock."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from qfzz.errors import RateLimited


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds for each key (an IP, a user)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, *keys: str) -> None:
        """Count one event for every key, or raise ``RateLimited`` and count nothing."""
        now = self._clock()
        with self._lock:
            queues = []
            for key in keys:
                events = self._events.setdefault(key, deque())
                while events and events[0] <= now - self.window:
                    events.popleft()
                if len(events) >= self.limit:
                    retry = max(1, int(events[0] + self.window - now + 0.999))
                    raise RateLimited(f"too many attempts; retry in {retry} s", retry)
                queues.append(events)
            for events in queues:
                events.append(now)
            if len(self._events) > 100_000:  # forget idle keys: memory stays bounded
                for key in [k for k, q in self._events.items() if not q]:
                    del self._events[key]
