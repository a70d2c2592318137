"""The per-process L1 in front of a shared server, kept honest by a generation counter.

Every invalidation (made here, heard from another process, or the bus reconnecting)
bumps the generation and drops its keys under one lock. A value read from the server
goes into L1 only if the generation it was read under is still current, checked under
the same lock: an invalidation either comes before the fill (no fill) or drops what was
filled. A reader remembers the generation *before* it asks the server.
"""

from __future__ import annotations

import itertools
import struct
import threading
from collections.abc import Callable, Sequence

from qfzz.cache._codec import is_immutable
from qfzz.cache._memory import NO_MEMO, MemoryBackend

#: Every stored value starts with its logical expiry (seconds on the injected clock).
HEADER = struct.Struct(">d")


class LocalTier:
    def __init__(self, l1: MemoryBackend | None, *, ttl: float, clock: Callable[[], float]) -> None:
        self.l1 = l1
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._generations = itertools.count(1)
        self.generation = 0

    def fill(self, key: str, data: bytes, value: object, generation: int) -> None:
        """Keep a value read from the server under ``generation``, unless that is past."""
        if self.l1 is None:
            return
        memo = value if is_immutable(value) else NO_MEMO
        ttl = min(HEADER.unpack_from(data)[0] - self._clock(), self.ttl)
        with self._lock:
            if generation == self.generation:
                self.l1.put_fast(key, data, ttl, memo)

    def drop(self, keys: Sequence[str]) -> None:
        with self._lock:
            self.generation = next(self._generations)
            if self.l1 is not None:
                self.l1.delete_fast(keys)

    def drop_prefix(self, prefix: str, pattern: str = "") -> None:
        with self._lock:
            self.generation = next(self._generations)
            if self.l1 is not None:
                self.l1.delete_matching(prefix, pattern)

    def drop_all(self) -> None:
        with self._lock:
            self.generation = next(self._generations)
            if self.l1 is not None:
                self.l1.clear()

    def advance(self) -> None:
        """Make reads in flight too old to fill L1 (the journal was just replayed)."""
        with self._lock:
            self.generation = next(self._generations)
