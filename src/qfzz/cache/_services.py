"""All the typed cache services of a station, built over one cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qfzz.cache._core import Cache
from qfzz.cache._errors import UnknownNamespace
from qfzz.cache._values import (
    JobProgressCache,
    PlaylistCache,
    SearchCache,
    SessionCache,
    TrackCache,
)


@dataclass(frozen=True, slots=True)
class CacheServices:
    """One instance of every service, with the default TTLs of ``qfzz.cache._values``."""

    cache: Cache
    tracks: TrackCache
    search: SearchCache[Any]
    playlists: PlaylistCache[Any]
    sessions: SessionCache
    job_progress: JobProgressCache

    @classmethod
    def build(cls, cache: Cache) -> CacheServices:
        return cls(
            cache=cache,
            tracks=TrackCache(cache),
            search=SearchCache(cache),
            playlists=PlaylistCache(cache),
            sessions=SessionCache(cache),
            job_progress=JobProgressCache(cache),
        )

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The namespaces of the services (what ``clear`` accepts)."""
        services = (
            self.tracks,
            self.search,
            self.playlists,
            self.sessions,
            self.job_progress,
        )
        return tuple(sorted({service.namespace for service in services}))

    def clear(self, namespace: str) -> int:
        """Delete one service's namespace everywhere; ``UnknownNamespace`` for any other."""
        if namespace not in self.namespaces:
            raise UnknownNamespace(
                f"no cache namespace {namespace!r}; namespaces: {', '.join(self.namespaces)}"
            )
        return self.cache.clear_namespace(namespace)
