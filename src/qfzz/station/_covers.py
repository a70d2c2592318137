"""Cover art resized once per picture and size, kept in memory (bounded in bytes).

A library page shows the same covers again and again, at one or two sizes; resizing a
3000 px scan costs tens of milliseconds, reading it from its file far less. So pictures
are read as before (each request, under the station's file-read deadline) and only the
resizing is remembered, keyed by a digest of the picture itself: a file whose art changes
gets a new entry, and nothing needs invalidating.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from qfzz.catalog.artwork import Artwork
from qfzz.catalog.pictures import resized

#: The resized pictures kept per process.
COVER_CACHE_BYTES = 32 * 1024 * 1024


class SizedCovers:
    """A least-recently-used map (picture digest, size) → the resized picture."""

    def __init__(self, max_bytes: int = COVER_CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._kept: OrderedDict[tuple[bytes, int], Artwork] = OrderedDict()
        self._lock = threading.Lock()

    def fit(self, artwork: Artwork, size: int) -> Artwork:
        key = (hashlib.blake2b(artwork.data, digest_size=16).digest(), size)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        made = resized(artwork, size)  # outside the lock: two may resize, one is kept
        if len(made.data) > self._max_bytes:
            return made
        with self._lock:
            if key not in self._kept:
                self._kept[key] = made
                self._bytes += len(made.data)
            while self._bytes > self._max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped.data)
        return made
