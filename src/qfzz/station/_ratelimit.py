"""Sliding-window rate limits (login, registration, failed Subsonic sign-ins), with an
injected clock and memory that stays bounded whatever keys an attacker invents.

Keys live in an ordered dict in the order they were last touched, so the least recently
touched key is always first: keys whose newest event left the window are dropped from the
front as new events arrive (amortised O(1) per event, never a scan of every key), and past
``max_keys`` live keys the oldest are forgotten — under a flood of invented keys the
limiter forgets the quietest ones rather than growing without end.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from qfzz.errors import RateLimited


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds for each key (an IP, a user)."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float],
        *,
        max_keys: int = 200_000,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def hit(self, *keys: str) -> None:
        """Count one event for every key, or raise ``RateLimited`` and count nothing."""
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            self._refuse_if_full(keys, now)
            self._count(keys, now)

    def check(self, *keys: str) -> None:
        """Raise ``RateLimited`` if any key is at its limit; counts nothing.

        With :meth:`add` this limits *failures* only: check before an attempt, add when it
        failed (a Subsonic app authenticates every request, so successes must not count).
        """
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            self._refuse_if_full(keys, now)

    def add(self, *keys: str) -> None:
        """Count one event for every key, without refusing."""
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            self._count(keys, now)

    def _refuse_if_full(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            events = self._events.get(key)
            if events is None:
                continue
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                retry = max(1, int(events[0] + self.window - now + 0.999))
                raise RateLimited(f"too many attempts; retry in {retry} s", retry)

    def _count(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque(maxlen=self.limit)
            else:
                self._events.move_to_end(key)
            events.append(now)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)

    def _forget_idle(self, now: float) -> None:
        """Drop keys from the front whose newest event is outside the window."""
        horizon = now - self.window
        while self._events:
            first = next(iter(self._events.values()))
            if first and first[-1] > horizon:
                return
            self._events.popitem(last=False)
