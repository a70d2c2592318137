"""Every cache key is built here, for reads and writes alike.

A key is ``<prefix><namespace>:<part>:<part>…``. Parts are percent-quoted, so a user id
holding ``:`` or ``*`` can neither collide with another key nor act as a glob in the
``SCAN MATCH`` that clears a namespace. Digests (search queries, session tokens) are
blake3 over a canonical JSON form: equal in every process and after every restart, unlike
Python's salted ``hash()``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote

from blake3 import blake3

_NAMESPACE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_SESSION_DOMAIN = b"qfzz/cache/session-token\x00"
_WHITESPACE = re.compile(r"\s+")


class Keyspace:
    """Builds namespaced keys under one configurable prefix (``qfzz:`` by default)."""

    def __init__(self, prefix: str = "qfzz:") -> None:
        if any(c.isspace() for c in prefix):
            raise ValueError("a cache key prefix cannot contain whitespace")
        self.prefix = prefix

    def key(self, namespace: str, *parts: str | int) -> str:
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"bad cache namespace {namespace!r}")
        if not parts:
            raise ValueError("a cache key needs at least one part after the namespace")
        return self.prefix + namespace + ":" + ":".join(_part(p) for p in parts)

    def namespace_prefix(self, namespace: str) -> str:
        """What every key of ``namespace`` starts with (for prefix deletes and L1 drops)."""
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"bad cache namespace {namespace!r}")
        return f"{self.prefix}{namespace}:"

    def namespace_pattern(self, namespace: str) -> str:
        """A ``SCAN MATCH`` pattern for one namespace, with the prefix's glob chars escaped."""
        return prefix_pattern(self.namespace_prefix(namespace))

    def namespace_of(self, key: str) -> str:
        return key[len(self.prefix) :].split(":", 1)[0]

    @property
    def channel(self) -> str:
        """The pub/sub channel on which L1 invalidations travel between processes."""
        return f"{self.prefix}_invalidate"


def prefix_pattern(prefix: str) -> str:
    """A ``SCAN MATCH`` pattern for every key starting with ``prefix``, its glob
    characters escaped."""
    return _GLOB_SPECIAL.sub(r"\\\1", prefix) + "*"


def _part(part: str | int) -> str:
    if type(part) is int:
        return str(part)
    if not isinstance(part, str):
        raise TypeError(f"a key part must be str or int, not {type(part).__name__}")
    return quote(part, safe="-_.@=+")


def stable_digest(value: object) -> str:
    """A 32-hex-digit blake3 digest of ``value``'s canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return blake3(text.encode("ascii")).hexdigest()[:32]


def normalise_query(query: str | None) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed: the forms a user means alike."""
    if not query:
        return ""
    text = unicodedata.normalize("NFKC", query).casefold()
    return _WHITESPACE.sub(" ", text).strip()


def search_digest(
    query: str | None, filters: Mapping[str, object] | None, page: tuple[int, int]
) -> str:
    """The digest a search result is cached under: query, filters and ``(limit, offset)``.

    Filters with a ``None`` value are dropped and string values are normalised like the
    query, so ``{"genre": "Jazz "}`` and ``{"genre": "jazz", "artist": None}`` share a key.
    """
    clean = {
        name: normalise_query(value) if isinstance(value, str) else value
        for name, value in sorted((filters or {}).items())
        if value is not None
    }
    limit, offset = page
    return stable_digest({"q": normalise_query(query), "f": clean, "p": [limit, offset]})


def token_digest(token: str) -> str:
    """A session key part: blake3 of the token, domain-separated from the store's digest."""
    return blake3(_SESSION_DOMAIN + token.encode("utf-8")).hexdigest()
