"""Typed value caches: cache-aside over a loader, so every value can be rebuilt.

Each service owns one namespace and one documented TTL. ``get(…, loader)`` returns the
cached value or calls ``loader`` (the store: the source of truth), caches what it returns
and hands it back; a loader's exception reaches the caller untouched (it is the real
answer), while a cache problem never does.

=================  ==============  =========  =============================================
service            namespace       TTL        invalidated by
=================  ==============  =========  =============================================
TrackCache         ``track``       24 h       a rescan or edit of the track
SearchCache        ``search``      1 h        ``clear()`` after a scan or import
PlaylistCache      ``playlist``    24 h       the listener's next feedback (and versions)
SessionCache       ``session``     token      ``revoke()`` (wins, see below); expiry
JobProgress        ``jobprogress`` 24 h       ``update()`` (no L1: polled while it moves)
=================  ==============  =========  =============================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from qfzz.cache._core import Cache
from qfzz.cache._keys import search_digest, token_digest
from qfzz.cache._types import JobProgress, Session
from qfzz.models import Track

T = TypeVar("T")

HOUR = 3600.0
DAY = 24 * HOUR


class _ValueService:
    namespace = ""

    def __init__(self, cache: Cache, *, ttl: float, local: bool = True) -> None:
        if ttl <= 0:
            raise ValueError("a cache TTL must be positive")
        self.cache = cache
        self.ttl = ttl
        self.local = local

    def _key(self, *parts: str | int) -> str:
        return self.cache.keys.key(self.namespace, *parts)

    def _cached(self, key: str, loader: Callable[[], T], *, negative_ttl: float | None) -> T:
        found, value = self.cache.lookup(self.namespace, key, local=self.local)
        if found:
            return value  # type: ignore[no-any-return]
        loaded = loader()
        if loaded is not None:
            self.cache.store(self.namespace, key, loaded, self.ttl, local=self.local)
        elif negative_ttl:
            self.cache.store(self.namespace, key, None, negative_ttl, local=self.local)
        return loaded

    def clear(self) -> int:
        """Drop the whole namespace everywhere (``SCAN``-based on a server)."""
        return self.cache.clear_namespace(self.namespace)


class TrackCache(_ValueService):
    """Track metadata by id. A missing track is remembered briefly (``negative_ttl``)."""

    namespace = "track"

    def __init__(self, cache: Cache, *, ttl: float = DAY, negative_ttl: float = 60.0) -> None:
        super().__init__(cache, ttl=ttl)
        self.negative_ttl = negative_ttl

    def key(self, track_id: int) -> str:
        return self._key(track_id)

    def get(self, track_id: int, loader: Callable[[int], Track | None]) -> Track | None:
        return self._cached(
            self.key(track_id), lambda: loader(track_id), negative_ttl=self.negative_ttl
        )

    def get_many(
        self, track_ids: Sequence[int], loader: Callable[[list[int]], Mapping[int, Track]]
    ) -> dict[int, Track]:
        """The tracks that exist among ``track_ids``; one ``MGET``, one loader call."""
        ids = list(dict.fromkeys(track_ids))
        found = self.cache.lookup_many(self.namespace, [self.key(i) for i in ids])
        result: dict[int, Track] = {}
        missing: list[int] = []
        for track_id, (hit, value) in zip(ids, found, strict=True):
            if not hit:
                missing.append(track_id)
            elif value is not None:
                result[track_id] = value
        if missing:
            loaded = loader(missing)
            result.update(loaded)
            self.put(loaded[i] for i in missing if i in loaded)
            absent = {self.key(i): None for i in missing if i not in loaded}
            if absent and self.negative_ttl:
                self.cache.store_many(self.namespace, absent, self.negative_ttl)
        return result

    def put(self, tracks: Iterable[Track]) -> None:
        items = {self.key(t.track_id): t for t in tracks}
        if items:
            self.cache.store_many(self.namespace, items, self.ttl)

    def invalidate(self, track_ids: Iterable[int]) -> None:
        self.cache.invalidate(self.namespace, [self.key(i) for i in track_ids])


class SearchCache(_ValueService, Generic[T]):
    """Search results by a stable digest of the normalised query, filters and page."""

    namespace = "search"

    def __init__(self, cache: Cache, *, ttl: float = HOUR) -> None:
        super().__init__(cache, ttl=ttl)

    def key(
        self, query: str | None, filters: Mapping[str, object] | None, page: tuple[int, int]
    ) -> str:
        return self._key(search_digest(query, filters, page))

    def get(
        self,
        query: str | None,
        filters: Mapping[str, object] | None,
        page: tuple[int, int],
        loader: Callable[[], T],
    ) -> T:
        return self._cached(self.key(query, filters, page), loader, negative_ttl=None)


#: ``(scope, generation)``: see :class:`PlaylistCache`.
PlaylistVersion = tuple[str, int]


class PlaylistCache(_ValueService, Generic[T]):
    """A listener's current playlist or recommendations, until their next feedback.

    Cache-aside alone cannot keep this right: a playlist computed from the profile
    *before* a feedback may be stored *after* that feedback invalidated the entry, and
    would then be served for the whole TTL. So the station passes a ``version`` read
    before the profile is: ``scope`` names the profile object and is part of the key (one
    entry per listener and profile, never shared by two processes' profiles), and
    ``generation`` (the feedback that profile has applied, bumped before a feedback is
    acknowledged) is stored beside the playlist and compared on every read. A playlist is
    only ever handed to a reader asking for the version it was computed from; a late,
    stale write is never read and is replaced by the next miss. Without a version the
    entry is plain cache-aside under ``playlist:<user>``.
    """

    namespace = "playlist"

    def __init__(self, cache: Cache, *, ttl: float = DAY) -> None:
        super().__init__(cache, ttl=ttl)

    def key(self, user_id: str, version: PlaylistVersion | None = None) -> str:
        return self._key(user_id) if version is None else self._key(user_id, version[0])

    def get(
        self,
        user_id: str,
        loader: Callable[[], T | None],
        *,
        version: PlaylistVersion | None = None,
    ) -> T | None:
        if version is None:
            return self._cached(self._key(user_id), loader, negative_ttl=None)
        found = self.peek(user_id, version=version)
        if found is not None:
            return found
        loaded = loader()  # computed from the profile at ``version`` or later
        if loaded is not None:
            self.put(user_id, loaded, version=version)
        return loaded

    def peek(self, user_id: str, *, version: PlaylistVersion | None = None) -> T | None:
        """The cached playlist, or None on a miss (nothing is loaded or counted as an error).

        With a version, an entry computed for another generation is a miss: O(1) either way.
        """
        found, value = self.cache.lookup(self.namespace, self.key(user_id, version))
        if not found:
            return None
        if version is None:
            return value  # type: ignore[no-any-return]
        if type(value) is tuple and len(value) == 2 and value[0] == version[1]:
            return value[1]  # type: ignore[no-any-return]
        return None

    def put(self, user_id: str, playlist: T, *, version: PlaylistVersion | None = None) -> None:
        if version is not None:
            # Only readers of this very profile use the key: no other L1 holds it.
            entry = (version[1], playlist)
            self.cache.store(self.namespace, self.key(user_id, version), entry, self.ttl)
            return
        self.cache.invalidate(self.namespace, [self._key(user_id)])  # other L1s drop theirs
        self.cache.store(self.namespace, self._key(user_id), playlist, self.ttl)

    def invalidate(self, user_id: str, *, version: PlaylistVersion | None = None) -> None:
        self.cache.invalidate(self.namespace, [self.key(user_id, version)])


class SessionCache(_ValueService):
    """Sessions under a digest of their id (never a token), living as long as the token.

    The id is what names a session to its owner: ``Accounts`` gives the store's digest of
    the bearer token, so that stream tokens bound to the session find the same entry and
    die with it. ``revoke`` wins over everything cached: see :meth:`get`, and the journal's
    tombstones in ``qfzz.cache._core`` for a server that misses the delete.
    """

    namespace = "session"

    def __init__(self, cache: Cache, *, default_ttl: float = HOUR) -> None:
        super().__init__(cache, ttl=default_ttl)

    def key(self, session_id: str) -> str:
        return self._key(token_digest(session_id))

    def get(self, session_id: str, loader: Callable[[], Session | None]) -> Session | None:
        """The live session; unknown ids are not cached (no fill attacks).

        A session loaded from the store is cached, then loaded once more: a revocation
        that landed between the first load and the fill deleted nothing (the fill came
        after), so if the store no longer has the session the fill is revoked too.
        """
        key = self.key(session_id)
        found, session = self.cache.lookup(self.namespace, key)
        if not found:
            session = loader()
            if session is None:
                return None
            self.put(session_id, session)
            if loader() != session:
                self.revoke(session_id)
                return None
        if session.expires_at is not None and session.expires_at <= self.cache.clock():
            return None
        return session  # type: ignore[no-any-return]

    def put(self, session_id: str, session: Session) -> None:
        ttl = self.ttl
        if session.expires_at is not None:
            ttl = session.expires_at - self.cache.clock()
            if ttl <= 0:
                return
        self.cache.store(self.namespace, self.key(session_id), session, ttl)

    def revoke(self, session_id: str) -> None:
        self.cache.invalidate(self.namespace, [self.key(session_id)])


class JobProgressCache(_ValueService):
    """Progress of long jobs, for the API and the CLI's progress bar."""

    namespace = "jobprogress"

    def __init__(self, cache: Cache, *, ttl: float = DAY) -> None:
        super().__init__(cache, ttl=ttl, local=False)

    def update(
        self,
        job_id: str,
        done: int,
        total: int | None = None,
        message: str = "",
        *,
        finished: bool = False,
    ) -> JobProgress:
        value = JobProgress(done, total, message, self.cache.clock(), finished)
        self.cache.store(self.namespace, self._key(job_id), value, self.ttl, local=False)
        return value

    def get(
        self, job_id: str, loader: Callable[[], JobProgress | None] = lambda: None
    ) -> JobProgress | None:
        return self._cached(self._key(job_id), loader, negative_ttl=None)
