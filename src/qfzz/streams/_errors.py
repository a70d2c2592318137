"""The errors of ``qfzz.streams``, and the sentinel a non-blocking read returns.

Every error a reader can meet is a ``StreamError``, so one ``except`` keeps a consumer
alive; the subclasses say what happened, because each calls for a different reaction
(seek forward, give up, restart the source)::

    StreamError
    ├── IndexDropped        the item was overwritten: the reader fell > maxlen behind
    ├── EndOfStream         the source is exhausted (or stopped) and everything was read
    ├── NotStarted          a blocking read on a buffer whose source never started
    └── SourceError         the source raised; the original is the ``__cause__``
        └── KeyOrderError   a key did not increase (source, merge or time slicer)

``StreamError`` does not derive from ``qfzz.errors.QfzzError`` because this package sits
below every other QFZZ layer and imports nothing from them; it carries the same
``code``/``detail`` pair so the API can map it the same way.
"""

from __future__ import annotations

from typing import Final, final


class StreamError(Exception):
    """Root of every error ``qfzz.streams`` raises on purpose."""

    code = "stream_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class IndexDropped(StreamError, IndexError):
    """A read of an absolute index the ring buffer already overwrote.

    ``oldest`` is the oldest index still available, so the reader can decide to resume
    there (``reader.seek(err.oldest)``) instead of silently skipping items.
    """

    code = "index_dropped"

    def __init__(self, index: int, oldest: int) -> None:
        super().__init__(f"index {index} was dropped; the oldest available index is {oldest}")
        self.index = index
        self.oldest = oldest

    def __reduce__(self) -> tuple[type[IndexDropped], tuple[int, int]]:
        return (type(self), (self.index, self.oldest))


class EndOfStream(StreamError):
    """The source ended (exhausted or stopped) and every buffered item was read."""

    code = "end_of_stream"

    def __init__(self, detail: str = "end of stream") -> None:
        super().__init__(detail)


class NotStarted(StreamError):
    """A blocking read on a buffer that was never started would wait forever."""

    code = "not_started"


class SourceError(StreamError):
    """The source failed; readers see it after the items inserted before the failure."""

    code = "source_error"


class KeyOrderError(SourceError):
    """A key was not larger than the one before it, so order-based lookups would lie."""

    code = "key_order"


@final
class NotYetType:
    """Type of ``NOT_YET``: what a non-blocking read returns when nothing is new yet.

    A sentinel of its own rather than ``None``: stream2py's ``next()`` returned ``None``
    both for "nothing yet" and, through its iterator, around the end, and callers mixed
    them up. Test it with ``item is NOT_YET`` (items themselves may be falsy); the end of
    a stream is never ``NOT_YET`` but ``EndOfStream``.
    """

    _instance: NotYetType | None = None

    def __new__(cls) -> NotYetType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_YET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NOT_YET"


NOT_YET: Final = NotYetType()
