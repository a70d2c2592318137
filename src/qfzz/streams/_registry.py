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

# Keyed by id(source): sources need not be hashable, and a live buffer holds its source,
# so the id cannot be reused while the entry exists.
_registry: weakref.WeakValueDictionary[int, StreamBuffer[Any]] = weakref.WeakValueDictionary()
_registry_lock = threading.RLock()


def register(source: Any, buffer: StreamBuffer[Any]) -> None:
    with _registry_lock:
        if buffer_of(source) is not None:
            raise StreamError(
                "this source already feeds a StreamBuffer; share it with "
                "source.stream_buffer() or StreamReader(source) instead of reading it twice"
            )
        _registry[id(source)] = buffer


def buffer_of(source: Any) -> StreamBuffer[Any] | None:
    """The live buffer reading ``source``, if any."""
    buffer = _registry.get(id(source))
    return buffer if buffer is not None and buffer.source is source else None


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
        for name, value in {"maxlen": maxlen, **buffer_kw}.items():
            if name not in existing._config:
                raise TypeError(f"unknown buffer option {name!r}")
            if value is not None and existing._config[name] != value:
                raise ValueError(
                    f"the source's buffer has {name}={existing._config[name]!r}, not {value!r}"
                )
        return existing
