"""Streams: one source read once into a shared ring buffer, many independent readers.

The stream2py design done properly: a ``SourceReader`` is read by a ``StreamBuffer``
(in a thread, or an asyncio task) into a bounded ring where every item keeps an absolute
index; each ``BufferReader`` has its own cursor, iterates (sync or async), slices by
index, key or formula, and never loses an item without an ``IndexDropped``. Interval
queries, ``MergedStreams`` and ``TimeSlicer`` align several streams in time.

Standard library and numpy only: the broadcast layer builds on it, nothing here knows
about audio or HTTP.

    >>> from qfzz.streams import IterableSource, StreamBuffer
    >>> buf = StreamBuffer(IterableSource(range(100)), maxlen=1000)
    >>> reader = buf.mk_reader()
    >>> with reader:
    ...     total = sum(reader)
    ...     window = reader[10:13]
    >>> total, window
    (4950, [10, 11, 12])
"""

from qfzz.streams._buffer import DEFAULT_MAXLEN, StreamBuffer
from qfzz.streams._errors import (
    NOT_YET,
    EndOfStream,
    IndexDropped,
    KeyOrderError,
    NotStarted,
    NotYetType,
    SourceError,
    StreamError,
)
from qfzz.streams._intervals import HOWS, How, Intervals, matches
from qfzz.streams._merge import MergedStreams, TimeSlicer, Window, default_key
from qfzz.streams._protocols import State
from qfzz.streams._reader import BufferReader
from qfzz.streams._ring import IndexedBuffer
from qfzz.streams._slicing import Affine
from qfzz.streams._sources import (
    AsyncIterableSource,
    AsyncSourceReader,
    CallableSource,
    FileSource,
    IterableSource,
    SourceReader,
)
from qfzz.streams._stream_reader import StreamReader

__all__ = [
    "DEFAULT_MAXLEN",
    "HOWS",
    "NOT_YET",
    "Affine",
    "AsyncIterableSource",
    "AsyncSourceReader",
    "BufferReader",
    "CallableSource",
    "EndOfStream",
    "FileSource",
    "How",
    "IndexDropped",
    "IndexedBuffer",
    "Intervals",
    "IterableSource",
    "KeyOrderError",
    "MergedStreams",
    "NotStarted",
    "NotYetType",
    "SourceError",
    "SourceReader",
    "State",
    "StreamBuffer",
    "StreamError",
    "StreamReader",
    "TimeSlicer",
    "Window",
    "default_key",
    "matches",
]
