"""What a serving station is doing before its library is ready, and how far it got.

``qfzz serve`` listens at once and prepares its library (a demo made, folders scanned)
on a thread of its own, so a listener can connect — and hear the first tracks — while
the rest is still being made. ``StartUp`` is that work's one owner: the preparing thread
reports each step and finishes it; any request reads ``view()`` (health, the web page);
a stop asks it to ``cancel``, which the next report honours by raising ``StartUpCancelled``.

A station no one prepares in the background (a CLI command, a test) is ready from the
start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


class StartUpCancelled(Exception):
    """The station is stopping: the library work stops at its next step."""


@dataclass(frozen=True, slots=True)
class StartUpStep:
    """One step of the start-up: what it is, and how many of how many are done (no total:
    not known yet)."""

    step: str
    done: int
    total: int | None


class StartUp:
    def __init__(self) -> None:
        self._step: StartUpStep | None = None  # replaced whole: readers never see half
        self._ready = threading.Event()
        self._ready.set()
        self._cancelled = threading.Event()

    def begin(self, step: str, total: int | None = None) -> None:
        """The library work starts (or goes on with another step): the step is in place
        before the start-up stops being ready, so no reader sees neither."""
        self.report(step, 0, total)
        self._ready.clear()

    def report(self, step: str, done: int, total: int | None) -> None:
        """How far the current step is; ``StartUpCancelled`` once the station stops."""
        if self._cancelled.is_set():
            raise StartUpCancelled(step)
        self._step = StartUpStep(step, done, total)

    def finish(self) -> None:
        """The library is ready (or could not be prepared: the station serves what it
        has, and the log says why)."""
        self._step = None
        self._ready.set()

    def cancel(self) -> None:
        self._cancelled.set()

    def view(self) -> StartUpStep | None:
        """The current step, or None when the library is ready."""
        return None if self._ready.is_set() else self._step
