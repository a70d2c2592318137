"""``StreamReader``: the flat way in, a reader straight from a source."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from qfzz.streams._buffer import stream_buffer_for
from qfzz.streams._reader import BufferReader, KeyTrans, OnDropped

T = TypeVar("T")


class StreamReader(BufferReader[T]):
    """A reader straight from a source, sharing the source's one buffer.

    ``StreamReader(source, maxlen=..., start=..., ...)``: buffer options (``maxlen``,
    ``key``, ``intervals``, ``key_map``, ``allow_equal_keys``) make the buffer the first
    time; later readers of the same source share it.
    """

    def __init__(
        self,
        source: Any,
        *,
        maxlen: int | None = None,
        start: int | Literal["oldest", "newest"] = "oldest",
        blocking: bool = True,
        timeout: float | None = None,
        on_dropped: OnDropped = "raise",
        batch_size: int = 1024,
        key_trans: KeyTrans = None,
        **buffer_kw: Any,
    ) -> None:
        super().__init__(
            stream_buffer_for(source, maxlen, **buffer_kw),
            start=start,
            blocking=blocking,
            timeout=timeout,
            on_dropped=on_dropped,
            batch_size=batch_size,
            key_trans=key_trans,
        )
