"""Every album's row id in each catalog-wide order, held in memory per library version.

Subsonic apps page album lists by offset, down to the end of the library: at 100k albums
a page at offset 90,000 walks 90,000 index entries (about 10 ms on PostgreSQL, growing
with the library). Held as an array per order, any page is a slice. An order is read
whole (one index-only scan, tens of milliseconds at 100k albums) the first time a deep
page asks for it after the groups changed (``library_version``, which every refresh
moves), so it is never stale, also when several processes share the database; shallow
pages, the common case, never need it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select

from qfzz.store import _groups


@dataclass(frozen=True, slots=True)
class Order:
    """Row ids in one order, and the value each is first sorted by where a page is cut
    by a range of it (the year)."""

    ids: np.ndarray
    keys: np.ndarray | None


class AlbumOrders:
    """The orders read so far for the library version they were read at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._orders: dict[str, Order] = {}

    def read(self, conn: Connection, name: str, query: Select[Any]) -> Order:
        """``query``'s rows (row id, then optionally a key), in its order, as of the
        library version ``conn`` reads; read again after any change of the groups."""
        version = _groups.version(conn)
        with self._lock:
            if version != self._version:
                self._version, self._orders = version, {}
            found = self._orders.get(name)
        if found is not None:
            return found
        rows = conn.execute(query).all()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        keys = None
        if rows and len(rows[0]) > 1:
            keys = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
        order = Order(ids, keys)
        with self._lock:
            if version == self._version:
                self._orders[name] = order
        return order
