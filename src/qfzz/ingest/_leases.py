"""One writer per upload, on a lease: a holder that stops sending loses the upload to the
next writer once its lease (a few seconds on the injected clock) has run out.

A plain lock would let a client that disconnected badly — or one that keeps its connection
open and sends nothing — block resumption for as long as the server keeps that request
alive. Here a holder renews its lease with every chunk it writes and checks it still holds
the lease before each write; a holder that lost the lease stops without writing or
recording anything, and the new holder starts from the recorded offset.

Limits: the leases live in this process's memory (a dict under a ``threading.Lock``), so one
server process must own an upload directory; several processes or hosts sharing one need a
lease in a shared place (a database row, or an ``fcntl`` lock with a heartbeat).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from qfzz.ingest._tus import UploadLocked

#: How long a writer keeps an upload without writing to it.
LEASE_SECONDS = 5.0


@dataclass(slots=True)
class _Lease:
    token: int
    until: float


class Leases:
    def __init__(self, lease_seconds: float = LEASE_SECONDS) -> None:
        self._seconds = lease_seconds
        self._held: dict[str, _Lease] = {}
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float) -> int:
        """A token for ``key``; ``UploadLocked`` while another holder's lease runs."""
        with self._lock:
            lease = self._held.get(key)
            if lease is not None and now < lease.until:
                wait = lease.until - now
                raise UploadLocked(f"another request writes this upload; retry in {wait:.0f} s")
            token = next(self._tokens)
            self._held[key] = _Lease(token, now + self._seconds)
            return token

    def renew(self, key: str, token: int, now: float) -> bool:
        """Extend the lease; False when it was taken over (the holder must stop)."""
        with self._lock:
            lease = self._held.get(key)
            if lease is None or lease.token != token:
                return False
            lease.until = now + self._seconds
            return True

    def holds(self, key: str, token: int) -> bool:
        with self._lock:
            lease = self._held.get(key)
            return lease is not None and lease.token == token

    def busy(self, key: str, now: float) -> bool:
        with self._lock:
            lease = self._held.get(key)
            return lease is not None and now < lease.until

    def release(self, key: str, token: int) -> None:
        with self._lock:
            lease = self._held.get(key)
            if lease is not None and lease.token == token:
                del self._held[key]
