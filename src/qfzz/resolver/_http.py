"""A configurable JSON search endpoint as a source: public catalogues of freely licensed
music (Jamendo, Free Music Archive mirrors, an institution's archive) without code per site.

The configuration says where to ask and where the answers are::

    HttpJsonSource(
        "jamendo",
        "https://api.jamendo.com/v3.0/tracks/?client_id=…&search={query}",
        {"title": "name", "artist": "artist_name", "duration": "duration",
         "download_url": "audiodownload", "id": "id"},
        results="results",
    )

``{query}`` is replaced by the URL-encoded title and artist; ``results`` is the dotted path
of the list of items in the answer ("" when the answer is the list); each field is a dotted
path inside an item. Required fields: title, artist, download_url; optional: duration, id,
fingerprint (a Chromaprint fingerprint for the verifier), suffix. An item without a
usable title, artist or http(s) download URL is skipped (catalogues list tracks they do
not let anyone download); an answer with items of which none is usable is a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from qfzz.errors import InvalidInput
from qfzz.resolver import _fields as fields
from qfzz.resolver._fetch import (
    DOWNLOAD_SECONDS,
    HttpSource,
    check_http_url,
    check_public_host,
    download_to,
    get_json,
)
from qfzz.resolver._match import confidence, searchable
from qfzz.resolver._types import Candidate, SourceFailed, Wanted

REQUIRED_FIELDS = frozenset({"title", "artist", "download_url"})
OPTIONAL_FIELDS = frozenset({"duration", "id", "fingerprint", "suffix"})
MAX_CANDIDATES = 5
MAX_ITEMS = 200  # more items than any search page: the answer is not a search answer


class HttpJsonSource(HttpSource):
    """A JSON search endpoint, a URL template and a field mapping."""

    def __init__(
        self,
        name: str,
        search_url_template: str,
        fields: Mapping[str, str],
        *,
        results: str = "results",
        refresh_url_template: str | None = None,
        duration_scale: float = 1.0,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        download_seconds: float = DOWNLOAD_SECONDS,
    ) -> None:
        """``refresh_url_template`` (with ``{ref}``) looks a track up by its id on this
        catalogue, answering the same shape as a search; ``duration_scale`` turns the
        catalogue's durations into seconds (0.001 for milliseconds)."""
        if not name.strip():
            raise InvalidInput("a source needs a name")
        _check_template(name, search_url_template, "{query}")
        if refresh_url_template is not None:
            _check_template(name, refresh_url_template, "{ref}")
        unknown = set(fields) - REQUIRED_FIELDS - OPTIONAL_FIELDS
        missing = REQUIRED_FIELDS - set(fields)
        if unknown or missing:
            raise InvalidInput(
                f"source {name!r}: fields must map {sorted(REQUIRED_FIELDS)} and may map "
                f"{sorted(OPTIONAL_FIELDS)}; unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        if not all(isinstance(path, str) and path for path in fields.values()):
            raise InvalidInput(f"source {name!r}: every field needs a non-empty path")
        if not duration_scale > 0:
            raise InvalidInput(f"source {name!r}: duration_scale must be positive")
        self._search_url = search_url_template
        self._refresh_url = refresh_url_template
        #: Hosts the operator named: files there may be fetched whatever they resolve to
        #: (a catalogue on the local network); any other host must be public.
        self._trusted_hosts = frozenset(
            (urlsplit(t.replace("{query}", "x").replace("{ref}", "x")).hostname or "").lower()
            for t in (search_url_template, refresh_url_template)
            if t is not None
        )
        self._fields = dict(fields)
        self._results = results
        self._scale = duration_scale
        super().__init__(
            name, client=client, timeout=timeout, clock=clock, download_seconds=download_seconds
        )

    def refresh(self, wanted: Wanted) -> Candidate | None:
        """The item at ``refresh_url_template`` for ``wanted.origin_ref`` (None without a
        template, a reference or a usable item, and when the lookup answers 404)."""
        if self._refresh_url is None or not wanted.origin_ref:
            return None
        url = self._refresh_url.replace("{ref}", quote(wanted.origin_ref, safe=""))
        found = self._ask(url, wanted, "refresh")
        if "id" in self._fields:  # a lookup answering a list: the item with that id
            found = [(ref, c) for ref, c in found if ref == wanted.origin_ref]
        return found[0][1] if found else None

    def search(self, wanted: Wanted) -> list[Candidate]:
        query = f"{searchable(wanted.title)} {searchable(wanted.artist)}".strip()
        found = self._ask(self._search_url.replace("{query}", quote(query, safe="")), wanted)
        ranked = sorted((c for _, c in found if c.confidence > 0), key=lambda c: -c.confidence)
        return ranked[:MAX_CANDIDATES]

    def download(self, candidate: Candidate, target: Path, *, max_bytes: int) -> None:
        url = check_http_url(candidate.ref, f"{self._name}: download URL")
        check_public_host(url, self._trusted_hosts, f"{self._name}: download URL")
        download_to(
            self._client,
            url,
            None,
            target,
            max_bytes=max_bytes,
            what=f"{self._name}: download",
            clock=self._clock,
            seconds=self._download_seconds,
        )

    def _ask(
        self, url: str, wanted: Wanted, what: str = "search"
    ) -> list[tuple[str | None, Candidate]]:
        """The usable items at ``url``, each with its catalogue id (when mapped)."""
        label = f"{self._name}: {what}"
        document = get_json(self._client, url, None, what=label, missing_ok=what == "refresh")
        if document is None:  # a lookup of an id the catalogue does not have
            return []
        items = fields.dig(document, self._results)
        if isinstance(items, dict) and what == "refresh":
            items = [items]  # a lookup may answer the one item itself
        if not isinstance(items, list):
            raise SourceFailed(f"{label} answered no list at {self._results or 'the top'!r}")
        if len(items) > MAX_ITEMS:
            raise SourceFailed(f"{label} answered {len(items)} items (limit {MAX_ITEMS})")
        found = [c for c in (self._candidate(wanted, item) for item in items) if c is not None]
        if items and not found:
            raise SourceFailed(f"{label} answered {len(items)} items, none usable")
        return found

    def _candidate(self, wanted: Wanted, item: Any) -> tuple[str | None, Candidate] | None:
        if not isinstance(item, dict):
            return None

        def field(key: str) -> Any:
            path = self._fields.get(key)
            return fields.dig(item, path) if path else None

        title, artist = fields.text(field("title")), fields.credit(field("artist"))
        url = fields.text(field("download_url"))
        if title is None or artist is None or url is None:
            return None
        try:
            check_http_url(url, "download URL")
        except SourceFailed:
            return None
        duration = fields.seconds(field("duration"), self._scale)
        suffix = fields.suffix(field("suffix")) or fields.suffix(
            PurePosixPath(urlsplit(url).path).suffix
        )
        return fields.ident(field("id")), Candidate(
            source=self._name,
            ref=url,
            title=title,
            artist=artist,
            duration=duration,
            confidence=confidence(wanted, title, artist, duration),
            suffix=suffix or ".mp3",
            fingerprint=fields.text(field("fingerprint")),
        )


def _check_template(name: str, template: str, placeholder: str) -> None:
    if placeholder not in template:
        raise InvalidInput(f"source {name!r}: the URL template needs {placeholder}")
    try:
        check_http_url(template.replace(placeholder, "x"), f"source {name!r}: URL template")
    except SourceFailed as exc:
        raise InvalidInput(exc.detail) from None
