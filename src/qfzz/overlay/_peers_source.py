"""The federation as a resolver source: content other stations shared, by title and artist.

Every node knows the signed content records of the network (``Replicas.contents``): title,
artist, licence, and — when the licence lets copies be played — the key. A wanted track
matches a record by name (there is no duration in a record, so a match is at most
acceptable, never high-confidence: the verifier's decoded length decides). Fetching takes
the local replica when this node holds one, else asks the nodes that hold it (their
``/api/v1/network.content/{id}/audio``, which serves only what its licence allows), streamed
into the resolver's file within its byte limit.

The resolver runs its sources on worker threads; the overlay's state belongs to its event
loop, so the records and holders are read with one call on that loop
(``run_coroutine_threadsafe``), never touched from the worker itself.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from qfzz.errors import QfzzError
from qfzz.resolver import (
    ACCEPTABLE,
    Candidate,
    SourceFailed,
    Wanted,
    confidence,
    download_to,
    make_client,
)

if TYPE_CHECKING:
    from qfzz.overlay._overlay import Overlay

T = TypeVar("T")
MAX_CANDIDATES = 5
#: Seconds to wait for the overlay's loop to answer what it knows.
LOOP_SECONDS = 10.0
_SUFFIXES = {"audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/flac": ".flac"}


class PeersSource:
    """A :class:`qfzz.resolver.Source` over the network's shared content."""

    name = "peers"

    def __init__(
        self, overlay: Overlay, *, client: httpx.Client | None = None, timeout: float = 20.0
    ) -> None:
        self._overlay = overlay
        self._client = client or make_client(timeout)

    def refresh(self, wanted: Wanted) -> Candidate | None:
        return None  # a content id is not an origin's reference

    def search(self, wanted: Wanted) -> list[Candidate]:
        records = self._on_loop(self._playable_records())
        scored = []
        for content_id, title, artist, media_type in records:
            score = confidence(wanted, title, artist, None)
            if score >= ACCEPTABLE:
                suffix = _SUFFIXES.get(media_type) or mimetypes.guess_extension(media_type) or ""
                scored.append(Candidate(self.name, content_id, title, artist, None, score, suffix))
        scored.sort(key=lambda c: c.confidence, reverse=True)
        return scored[:MAX_CANDIDATES]

    def download(self, candidate: Candidate, target: Path, *, max_bytes: int) -> None:
        local, holders = self._on_loop(self._where(candidate.ref))
        if local is not None:
            if len(local) > max_bytes:
                raise SourceFailed(f"peers: content is over {max_bytes} bytes")
            target.write_bytes(local)
            return
        reasons = []
        for address in holders:
            try:
                self._fetch(address, candidate.ref, target, max_bytes)
                return
            except SourceFailed as exc:
                reasons.append(exc.detail)
        raise SourceFailed(
            "peers: no holder served it" + (f" ({'; '.join(reasons)})" if reasons else "")
        )

    def _fetch(self, address: str, content_id: str, target: Path, max_bytes: int) -> None:
        download_to(
            self._client,
            f"{address.rstrip('/')}/api/v1/network.content/{content_id}/audio",
            None,
            target,
            max_bytes=max_bytes,
            what=f"peers: {address}",
        )

    # -- read on the overlay's loop ---------------------------------------------------------

    def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        loop = self._overlay.loop
        if loop is None or loop.is_closed():
            coroutine.close()
            raise SourceFailed("peers: the network is not running")
        try:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result(LOOP_SECONDS)
        except (TimeoutError, RuntimeError) as exc:
            raise SourceFailed(f"peers: the network is not answering ({exc})") from None

    async def _playable_records(self) -> list[tuple[str, str, str, str]]:
        own = self._overlay.node_id
        return [
            (r.content_id, r.title, r.artist, r.media_type)
            for r in self._overlay.replicas.contents()
            if r.redistributable or r.origin == own
        ]

    async def _where(self, content_id: str) -> tuple[bytes | None, list[str]]:
        replicas = self._overlay.replicas
        if replicas.blobs.has(content_id):
            try:
                audio, _media_type = replicas.plaintext(content_id)
                return audio, []
            except QfzzError:
                pass  # not playable here: perhaps from a holder
        view = self._overlay.view()
        holders = [
            address
            for entry in replicas.describe()
            if entry["content_id"] == content_id
            for node_id in entry["holders"]
            if node_id != self._overlay.node_id and (address := view.address_of(node_id))
        ]
        return None, holders
