"""Whole rendered answers kept until the library's groups change (``getArtists``,
``getIndexes``).

Their answer is every artist: about 100,000 at a million tracks, megabytes of JSON or
XML, and rendering it costs far more than reading it. Like Navidrome, QFZZ keeps the
rendered bytes until a scan (or any track change) moves the groups' version
(``Library.artists_version``); the key also holds everything else the bytes depend on —
the method, the format and JSONP callback, and the caller's starred artists — so two
listeners share an entry only when their answers are the same bytes. A few entries per
station, least recently used out first. A client that accepts gzip (most apps) gets the
entry's gzipped bytes, compressed once with the entry: a tenth of the size, and no
compression per request.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from weakref import WeakKeyDictionary

from fastapi.responses import Response

from qfzz.station import QFZZStation

#: Rendered answers kept per station (each up to ~10 MB at a million tracks).
ENTRIES = 4

#: gzip level of the kept answers: level 6 is within a few percent of 9's size at a
#: fraction of its time, and the cold request (after a scan) pays it.
GZIP_LEVEL = 6

_Entry = tuple[bytes, bytes, str | None]  # the bytes, gzipped, media type


class _Answers:
    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, render: Callable[[], Response], gzipped: bool) -> Response:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
        if found is None:
            response = render()
            body = bytes(response.body)
            found = (body, gzip.compress(body, GZIP_LEVEL, mtime=0), response.media_type)
            with self._lock:
                self._entries[key] = found
                self._entries.move_to_end(key)
                while len(self._entries) > ENTRIES:
                    self._entries.popitem(last=False)
        body, squeezed, media_type = found
        headers = {"Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
            return Response(content=squeezed, media_type=media_type, headers=headers)
        return Response(content=body, media_type=media_type, headers=headers)


_by_station: WeakKeyDictionary[QFZZStation, _Answers] = WeakKeyDictionary()
_guard = threading.Lock()


def cached_answer(
    station: QFZZStation,
    key: tuple[Hashable, ...],
    render: Callable[[], Response],
    *,
    gzipped: bool = False,
) -> Response:
    """The answer under ``key`` for the library's current groups, rendered once; its
    gzipped bytes when the client accepts gzip (``gzipped``)."""
    with _guard:
        answers = _by_station.setdefault(station, _Answers())
    return answers.get((station.library.artists_version(), *key), render, gzipped)


def fingerprint(marks: dict[str, float]) -> str:
    """A short digest of a listener's marks (its starred items and when)."""
    text = "\n".join(f"{k}\t{v!r}" for k, v in sorted(marks.items()))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
