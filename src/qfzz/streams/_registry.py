"""One buffer per source: a source read by two buffers would be read twice.

``StreamBuffer`` registers itself here; ``source.stream_buffer()`` and
``StreamReader(source)`` look the buffer up, so every reader made from one source shares
one buffer. Weak values: a buffer nobody uses any more frees its source for a new one.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from qfzz.streams._errors import StreamError

if TYPE_CHECKING:
    from qfzz.streams._buffer import StreamBuffer


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


_registry: weakref.WeakValueDictionary[SourceKey, StreamBuffer[Any]] = weakref.WeakValueDictionary()
_registry_lock = threading.RLock()


def register(source: Any, buffer: StreamBuffer[Any]) -> None:
    with _registry_lock:
        if buffer_of(source) is not None:
            raise StreamError(
                "this source already feeds a StreamBuffer; share it with "
                "source.stream_buffer() or StreamReader(source) instead of reading it twice"
            )
        _registry[SourceKey(source)] = buffer


def buffer_of(source: Any) -> StreamBuffer[Any] | None:
    """The live buffer reading ``source``, if any."""
    return _registry.get(SourceKey(source))


def stream_buffer_for(
    source: Any, maxlen: int | None = None, **buffer_kw: Any
) -> StreamBuffer[Any]:
    """The buffer of ``source``, made with these options on first use.

    Asking again with different options is an error rather than a second buffer,
    because two buffers would read the source twice.
    """
    from qfzz.streams._buffer import StreamBuffer

    with _registry_lock:
        existing = buffer_of(source)
        if existing is None:
            if maxlen is not None:
                buffer_kw["maxlen"] = maxlen
            return StreamBuffer(source, **buffer_kw)
        options = existing.options
        for name, value in {"maxlen": maxlen, **buffer_kw}.items():
            if name not in options:
                raise TypeError(f"unknown buffer option {name!r}")
            if value is not None and options[name] != value:
                raise ValueError(f"the source's buffer has {name}={options[name]!r}, not {value!r}")
        return existing
