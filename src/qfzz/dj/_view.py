"""The one owner of the live catalog index.

Readers take ``current`` once and score that snapshot (no lock: a snapshot never changes
shape). Writers — a rescan, an import, a file that failed to play, counted plays — go
through one lock here, build the next snapshot from the current one and swap the reference
in a single assignment, so no reader can see the columns of two moments at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from qfzz.dj._index import CatalogIndex


class CatalogView:
    def __init__(self, index: CatalogIndex | None = None) -> None:
        self._index = index if index is not None else CatalogIndex()
        self._write = threading.Lock()

    @property
    def current(self) -> CatalogIndex:
        """The latest snapshot; hold on to it for as long as one read needs it."""
        return self._index

    def change(self, edit: Callable[[CatalogIndex], CatalogIndex]) -> CatalogIndex:
        """Replace the index by ``edit(current)``; writers run one at a time."""
        with self._write:
            self._index = edit(self._index)
            return self._index

    def add_plays(self, track_ids: Sequence[int]) -> None:
        """Count plays of live tracks (in place: see ``CatalogIndex.add_plays``)."""
        with self._write:
            index = self._index
            if len(track_ids) == 1:  # one request's play: no arrays for one id
                row = index.row_of(track_ids[0])
                if row >= 0:
                    index.add_plays([row])
                return
            rows = index.rows_of(track_ids)
            rows = rows[rows >= 0]
            if rows.shape[0]:
                index.add_plays(rows.tolist())
