"""All the typed cache services of a station, built over one cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from qfzz.cache._core import Cache
from qfzz.cache._errors import UnknownNamespace
from qfzz.cache._jobs import JobQueue
from qfzz.cache._structures import DeviceSyncQueue, Favorites, PlayCounts, RecentlyPlayed
from qfzz.cache._types import PlayDelta
from qfzz.cache._values import (
    JobProgressCache,
    NowPlayingCache,
    PlaybackProgressCache,
    PlaylistCache,
    SearchCache,
    SessionCache,
    TrackCache,
)


@dataclass(frozen=True, slots=True)
class CacheServices:
    """One instance of every service, with the default TTLs of the issue's table."""

    cache: Cache
    tracks: TrackCache
    search: SearchCache[Any]
    playlists: PlaylistCache[Any]
    now_playing: NowPlayingCache[Any]
    sessions: SessionCache
    plays: PlayCounts
    recent: RecentlyPlayed
    favorites: Favorites
    progress: PlaybackProgressCache
    devices: DeviceSyncQueue
    job_progress: JobProgressCache
    _queues: dict[str, JobQueue] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        cache: Cache,
        *,
        flush_plays: Callable[[Sequence[PlayDelta]], None] | None = None,
        recent_size: int = 50,
    ) -> CacheServices:
        return cls(
            cache=cache,
            tracks=TrackCache(cache),
            search=SearchCache(cache),
            playlists=PlaylistCache(cache),
            now_playing=NowPlayingCache(cache),
            sessions=SessionCache(cache),
            plays=PlayCounts(cache, flush=flush_plays),
            recent=RecentlyPlayed(cache, size=recent_size),
            favorites=Favorites(cache),
            progress=PlaybackProgressCache(cache),
            devices=DeviceSyncQueue(cache),
            job_progress=JobProgressCache(cache),
        )

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The namespaces of the value and structure caches (what ``clear`` accepts)."""
        services = (
            self.tracks,
            self.search,
            self.playlists,
            self.now_playing,
            self.sessions,
            self.plays,
            self.recent,
            self.favorites,
            self.progress,
            self.devices,
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

    def jobs(self, name: str, *, visibility: float = 300.0, max_attempts: int = 5) -> JobQueue:
        """The reliable queue ``name`` (``scan``, ``import``, ``transcode``…), made once."""
        queue = self._queues.get(name)
        if queue is None:
            queue = JobQueue(self.cache, name, visibility=visibility, max_attempts=max_attempts)
            queue = self._queues.setdefault(name, queue)
        return queue
