"""One buffer per source: a source read by two buffers would be read twice.

A ``SourceRegistry`` maps sources, by identity, to the buffer reading each; ``StreamBuffer``
registers itself in the one registry its module owns, and ``source.stream_buffer()`` and
``StreamReader(source)`` look the buffer up there, so every reader made from one source
shares one buffer. Weak values: a buffer nobody uses any more frees its source for a new
one. The registry knows buffers only by their ``options``, so it sits below the buffer
and never imports it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from qfzz.streams._errors import StreamError


class Configured(Protocol):
    """A buffer as the registry sees it: the options it was made with."""

    @property
    def options(self) -> dict[str, Any]: ...


B = TypeVar("B", bound=Configured)


class SourceKey:
    """A source as a dictionary key, by identity: sources need not be hashable, and two
    sources that compare equal are still two sources, each read by its own buffer.

    The key holds its source, so while an entry exists no other object can take the
    source's place (or its ``id``); the entry, key and all, goes with its buffer.
    """

    __slots__ = ("source",)

    def __init__(self, source: Any) -> None:
        self.source = source

    def __hash__(self) -> int:
        return id(self.source)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourceKey) and other.source is self.source


class SourceRegistry(Generic[B]):
    """The live buffer of each source; the one lock makes "look up, else make" atomic
    (reentrant: a buffer being made registers itself under it)."""

    def __init__(self) -> None:
        self._buffers: weakref.WeakValueDictionary[SourceKey, B] = weakref.WeakValueDictionary()
        self._lock = threading.RLock()

    def register(self, source: Any, buffer: B) -> None:
        with self._lock:
            if self.get(source) is not None:
                raise StreamError(
                    "this source already feeds a StreamBuffer; share it with "
                    "source.stream_buffer() or StreamReader(source) instead of reading it twice"
                )
            self._buffers[SourceKey(source)] = buffer

    def get(self, source: Any) -> B | None:
        """The live buffer reading ``source``, if any."""
        return self._buffers.get(SourceKey(source))

    def share(self, source: Any, make: Callable[[], B], asked: dict[str, Any]) -> B:
        """The buffer of ``source``, made by ``make()`` on first use.

        Asking again with different options (``asked``; a ``None`` value asks nothing)
        is an error rather than a second buffer, because two buffers would read the
        source twice.
        """
        with self._lock:
            existing = self.get(source)
            if existing is None:
                return make()
            options = existing.options
            for name, value in asked.items():
                if name not in options:
                    raise TypeError(f"unknown buffer option {name!r}")
                if value is not None and options[name] != value:
                    raise ValueError(
                        f"the source's buffer has {name}={options[name]!r}, not {value!r}"
                    )
            return existing
