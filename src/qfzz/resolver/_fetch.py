"""Bounded HTTP for the network sources: small JSON answers and streamed downloads.

A remote source is untrusted: it may hang, answer HTML, send a gigabyte of JSON or drip a
file one byte at a time. Everything here reads with a size limit while reading (never
after), turns every transport error into :class:`SourceFailed`, and bounds a whole
download by a deadline on an injected clock, since httpx's timeouts bound each read only.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from qfzz.resolver._types import SourceFailed

MAX_JSON_BYTES = 2 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
DOWNLOAD_SECONDS = 600.0  # a whole download, however steadily it trickles
# A body with one of these types is an answer about the file, not the file (Subsonic
# reports errors with status 200 and a JSON or XML document).
_DOCUMENT_TYPES = ("application/json", "text/", "application/xml")

Params = Mapping[str, str | int]


def check_http_url(url: str, what: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host; :class:`SourceFailed` else."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise SourceFailed(f"{what} is not a URL: {url[:200]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceFailed(f"{what} must be an http(s) URL, not {url[:200]!r}")
    return url


def check_public_host(url: str, trusted_hosts: frozenset[str], what: str) -> None:
    """Refuse a URL a remote answer named when its host is not one the operator configured
    and resolves to any address that is not public (loopback, private, link-local…): a
    catalogue must not make the station fetch from its own network (its Redis, a router's
    admin page). The check resolves the name once; a host that changes its answer between
    this check and the connection (DNS rebinding) is not caught here."""
    host = (urlsplit(url).hostname or "").lower()
    if host in trusted_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SourceFailed(f"{what}: cannot resolve {host[:200]!r}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise SourceFailed(f"{what}: {host[:200]} is not a public address ({address})")


def make_client(timeout: float) -> httpx.Client:
    """The client a source makes for itself when none is handed in."""
    return httpx.Client(timeout=httpx.Timeout(timeout), headers={"user-agent": "qfzz-resolver"})


def get_json(
    client: httpx.Client,
    url: str,
    params: Params | None,
    *,
    what: str,
    max_bytes: int = MAX_JSON_BYTES,
    missing_ok: bool = False,
) -> Any:
    """The JSON document at ``url``; :class:`SourceFailed` for any error, a status other
    than 200, more than ``max_bytes`` or a body that is not JSON. With ``missing_ok`` a 404
    answers None (a lookup of something the remote side does not have)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with client.stream("GET", url, params=params, follow_redirects=True) as response:
            if missing_ok and response.status_code == 404:
                return None
            if response.status_code != 200:
                raise SourceFailed(f"{what} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceFailed(f"{what} answered {declared} B of JSON (limit {max_bytes})")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceFailed(f"{what} answered more than {max_bytes} B of JSON")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise SourceFailed(f"{what}: {type(exc).__name__}: {exc}") from None
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):  # bad JSON or UTF-8, absurd nesting
        raise SourceFailed(f"{what} did not answer JSON") from None


def download_to(
    client: httpx.Client,
    url: str,
    params: Params | None,
    target: Path,
    *,
    max_bytes: int,
    what: str,
    clock: Callable[[], float] = time.monotonic,
    seconds: float = DOWNLOAD_SECONDS,
) -> None:
    """Stream the body at ``url`` into ``target``, refusing more than ``max_bytes`` (by the
    declared length before reading, by counting while reading) and more than ``seconds``
    in all. On failure ``target`` may hold a part: the caller removes it."""
    deadline = clock() + seconds
    try:
        with client.stream("GET", url, params=params, follow_redirects=True) as response:
            if response.status_code != 200:
                raise SourceFailed(f"{what} answered HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").lower()
            if kind.startswith(_DOCUMENT_TYPES):
                body = response.read()[:300] if _small(response) else b""
                raise SourceFailed(f"{what} answered a document ({kind}), not audio: {body!r}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceFailed(f"{what} is {declared} B (limit {max_bytes})")
            size = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceFailed(f"{what} sent more than {max_bytes} B")
                    if clock() > deadline:
                        raise SourceFailed(f"{what} took more than {seconds:g} s")
                    out.write(chunk)
            if size == 0:
                raise SourceFailed(f"{what} sent an empty file")
    except httpx.HTTPError as exc:
        raise SourceFailed(f"{what}: {type(exc).__name__}: {exc}") from None
    except OSError as exc:
        raise SourceFailed(f"{what}: cannot write {target}: {exc}") from None


def _small(response: httpx.Response) -> bool:
    """Whether the body is declared small enough to quote in an error."""
    declared = response.headers.get("content-length", "")
    return declared.isdigit() and int(declared) <= 64 * 1024


class HttpSource:
    """What the network sources share: a name, an HTTP client (made here unless handed
    in, then closed here too) and the deadline of a whole download on an injected clock."""

    def __init__(
        self,
        name: str,
        *,
        client: httpx.Client | None,
        timeout: float,
        clock: Callable[[], float],
        download_seconds: float,
    ) -> None:
        self._name = name
        self._client = client if client is not None else make_client(timeout)
        self._owns_client = client is None
        self._clock = clock
        self._download_seconds = download_seconds

    @property
    def name(self) -> str:
        return self._name

    def close(self) -> None:
        """Close the HTTP client this source made (a handed-in client is the caller's)."""
        if self._owns_client:
            self._client.close()
