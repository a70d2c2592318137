"""Time for everything on air that paces itself: a clock and a way to wait on it.

A mount is paced: its program is made a little ahead of the moment it is heard, and its
chunks are cut on a tick grid. Both wait for a *time*, never for a duration, and both
wait through the ``Clock`` they were given, so the same code runs on the wall clock in
production and in simulated time in tests (``qfzz.testing.SimulatedClock``), where a
wait ends when virtual time reaches it instead of after real seconds.

A ``Clock`` is also a plain ``() -> float`` (the station's clock type), so it can be
handed to anything that only reads the time; ``as_clock`` turns such a plain function
into a clock that waits in real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


class Alarm(threading.Event):
    """An event that ends a clock wait early (a stop or an interrupt).

    Simulated clocks do not block on the event itself, so they ask to be told when it
    is set (``on_set``); the wall clock just waits on it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._guard = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def set(self) -> None:
        super().set()
        with self._guard:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def on_set(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever the alarm is set; returns what undoes this."""
        with self._guard:
            self._listeners.append(listener)

        def remove() -> None:
            with self._guard:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove


@runtime_checkable
class Clock(Protocol):
    """Seconds since the epoch, and a wait until a given time."""

    def __call__(self) -> float: ...

    def wait_until(self, deadline: float, alarm: Alarm) -> bool:
        """Block until the clock reads ``deadline`` or later, or ``alarm`` is set;
        True when the alarm ended the wait."""
        ...


class RealClock:
    """The wall clock (or any real-time function of it): waits are real waits."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    def __call__(self) -> float:
        return self._now()

    def wait_until(self, deadline: float, alarm: Alarm) -> bool:
        delay = deadline - self._now()
        if delay <= 0:
            return alarm.is_set()
        return alarm.wait(delay)


def as_clock(clock: Clock | Callable[[], float]) -> Clock:
    """``clock`` itself if it can wait; a plain time function waits in real time."""
    return clock if isinstance(clock, Clock) else RealClock(clock)
