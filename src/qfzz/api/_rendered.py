"""Playlists rendered to JSON once per playlist, not once per request.

A listener's playlist is served from the cache until their next feedback, so most
requests ask for a playlist that was already rendered: building the pydantic models and
encoding them again was a third of the event loop's time under load. The rendering is
kept beside the very playlist object it came from (the cache hands out one shared
object per cached playlist), so a new playlist — after feedback, or from another node —
is never mistaken for the old one: a different object is rendered afresh.
"""

from __future__ import annotations

import time

from qfzz.api._schemas import PlaylistOut, PlaylistTrackOut
from qfzz.cache import MemoryBackend
from qfzz.models import Playlist


class RenderedPlaylists:
    """The JSON body of recently served playlists, least recently used first out."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        # No TTL: an entry is only ever used for the identical playlist object.
        self._memo = MemoryBackend(time.monotonic, max_entries=max_entries)

    def body(self, playlist: Playlist, *, capped_at: int | None = None) -> bytes:
        key = f"{playlist.user_id}\0{len(playlist.items)}\0{capped_at}"
        found = self._memo.get_memo(key)
        if found is not None and found[1] is playlist:
            return found[0]
        body = render(playlist, capped_at=capped_at)
        self._memo.put_fast(key, body, None, playlist)
        return body


def render(playlist: Playlist, *, capped_at: int | None = None) -> bytes:
    out = PlaylistOut(
        user_id=playlist.user_id,
        tracks=[PlaylistTrackOut.of(i) for i in playlist.items],
        size_capped_at=capped_at,
    )
    return out.model_dump_json(exclude_none=True).encode()
