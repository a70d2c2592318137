"""A Subsonic or OpenSubsonic server as a source: another QFZZ, Navidrome, gonic, Airsonic.

Search is ``search3`` over the title and artist, then over the title alone when that finds
nothing: servers match the query differently (Navidrome by words over all fields, QFZZ and
gonic by substring of one field, where "title artist" matches no song at all). Each song is
scored with :func:`confidence`. A download is ``download`` (the original file), streamed to
the target with the size limit enforced while reading.

Authentication is the token scheme (``t = md5(password + salt)`` with a fresh salt per
request), so the password never crosses the wire; every server of the family supports it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from qfzz.errors import InvalidInput
from qfzz.resolver import _fields as fields
from qfzz.resolver._fetch import (
    DOWNLOAD_SECONDS,
    HttpSource,
    Params,
    check_http_url,
    download_to,
    get_json,
)
from qfzz.resolver._match import confidence, searchable
from qfzz.resolver._types import Candidate, SourceFailed, Wanted

API_VERSION = "1.16.1"
CLIENT_NAME = "qfzz"
SONG_COUNT = 8  # a handful of songs per search: the right one, if anywhere, is near the top
MAX_CANDIDATES = 5
NOT_FOUND = 70  # Subsonic's "the requested data was not found"
# What a server's song id looks like (Navidrome: base62 or hex, gonic: "tr-12", QFZZ, Airsonic
# numbers): anything else in ``origin_ref`` (a URL, a title) is not worth a ``getSong``.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class SubsonicSource(HttpSource):
    """Any Subsonic-compatible server, by URL and a user's credentials."""

    def __init__(
        self,
        name: str,
        base_url: str,
        user: str,
        password: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        download_seconds: float = DOWNLOAD_SECONDS,
    ) -> None:
        if not name.strip():
            raise InvalidInput("a source needs a name")
        try:
            check_http_url(base_url, f"source {name!r}: base_url")
        except SourceFailed as exc:
            raise InvalidInput(exc.detail) from None
        if not user:
            raise InvalidInput(f"source {name!r}: a Subsonic user is required")
        self._base = base_url.rstrip("/")
        self._user = user
        self._password = password
        super().__init__(
            name, client=client, timeout=timeout, clock=clock, download_seconds=download_seconds
        )

    def __repr__(self) -> str:  # never the password
        return f"SubsonicSource({self._name!r}, {self._base!r}, user={self._user!r})"

    # -- the Source interface ------------------------------------------------------------

    def refresh(self, wanted: Wanted) -> Candidate | None:
        """``getSong`` by ``wanted.origin_ref`` when it looks like a song id; None when it
        does not, or when the server has no such song."""
        ref = wanted.origin_ref
        if ref is None or not _ID.fullmatch(ref):
            return None
        answer = self._call("getSong", {"id": ref}, missing_ok=True)
        if answer is None:
            return None
        song = answer.get("song")
        if not isinstance(song, dict):
            raise SourceFailed(f"{self._name}: getSong answered no song object")
        candidate = self._candidate(wanted, song)
        if candidate is None:
            raise SourceFailed(f"{self._name}: getSong answered a song without id or title")
        return candidate

    def search(self, wanted: Wanted) -> list[Candidate]:
        title, artist = searchable(wanted.title), searchable(wanted.artist)
        queries = [f"{title} {artist}".strip(), title] if artist else [title]
        songs: list[Any] = []
        for query in queries:
            songs = self._songs(query)
            if songs:
                break
        found = [self._candidate(wanted, song) for song in songs if isinstance(song, dict)]
        usable = [c for c in found if c is not None]
        if songs and not usable:
            raise SourceFailed(f"{self._name}: search3 answered songs without id or title")
        ranked = sorted((c for c in usable if c.confidence > 0), key=lambda c: -c.confidence)
        return ranked[:MAX_CANDIDATES]

    def download(self, candidate: Candidate, target: Path, *, max_bytes: int) -> None:
        download_to(
            self._client,
            f"{self._base}/rest/download",
            {**self._auth(), "id": candidate.ref},
            target,
            max_bytes=max_bytes,
            what=f"{self._name}: download of {candidate.ref}",
            clock=self._clock,
            seconds=self._download_seconds,
        )

    # -- the wire --------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        salt = secrets.token_hex(8)
        token = hashlib.md5((self._password + salt).encode(), usedforsecurity=False).hexdigest()
        return {
            "u": self._user,
            "t": token,
            "s": salt,
            "v": API_VERSION,
            "c": CLIENT_NAME,
            "f": "json",
        }

    def _songs(self, query: str) -> list[Any]:
        params: Params = {
            "query": query,
            "songCount": SONG_COUNT,
            "artistCount": 0,
            "albumCount": 0,
        }
        answer = self._call("search3", params) or {}
        result = answer.get("searchResult3", {})
        if not isinstance(result, dict):
            raise SourceFailed(f"{self._name}: search3 answered no searchResult3 object")
        songs = result.get("song", [])
        if isinstance(songs, dict):  # some servers send a lone song as an object
            songs = [songs]
        if not isinstance(songs, list):
            raise SourceFailed(f"{self._name}: search3 answered songs that are not a list")
        return [s for s in songs if not (isinstance(s, dict) and s.get("isVideo") is True)]

    def _call(
        self, method: str, params: Params, *, missing_ok: bool = False
    ) -> dict[str, Any] | None:
        """The ``subsonic-response`` object of a successful call; None for a "not found"
        error when ``missing_ok``; :class:`SourceFailed` for anything else."""
        what = f"{self._name}: {method}"
        document = get_json(
            self._client, f"{self._base}/rest/{method}", {**self._auth(), **params}, what=what
        )
        envelope = document.get("subsonic-response") if isinstance(document, dict) else None
        if not isinstance(envelope, dict):
            raise SourceFailed(f"{what} did not answer a Subsonic document")
        status = envelope.get("status")
        if status == "ok":
            return envelope
        if status != "failed":
            raise SourceFailed(f"{what} answered status {str(status)[:40]!r}")
        error = envelope.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        message = fields.text(error.get("message")) if isinstance(error, dict) else None
        if missing_ok and code == NOT_FOUND:
            return None
        raise SourceFailed(f"{what} failed: error {code}: {(message or 'no message')[:300]}")

    def _candidate(self, wanted: Wanted, song: dict[str, Any]) -> Candidate | None:
        ref, title = fields.ident(song.get("id")), fields.text(song.get("title"))
        if ref is None or title is None:
            return None
        artist = fields.credit(song.get("artist")) or ""
        duration = fields.seconds(song.get("duration"))
        return Candidate(
            source=self._name,
            ref=ref,
            title=title,
            artist=artist,
            duration=duration,
            confidence=confidence(wanted, title, artist, duration),
            suffix=fields.suffix(song.get("suffix")) or ".mp3",
        )
