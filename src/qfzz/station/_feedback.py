"""The feedback flow: validate → learn → group commit → announce.

Interactions are applied to their profiles and queued for the group commit under the
profiles' locks, so the stored log's order is the order the profiles learned in; the caller
(sync or async) waits on the commit before anything is acknowledged. Once stored, the
listeners' cached playlists are dropped, plays are counted in the catalog index,
``interaction_recorded`` is announced and due profiles are snapshotted (for a caller on
the event loop, on a worker thread: a snapshot is a write no request should wait behind).

A keyed interaction (``Idempotency-Key``) is looked up before it is learned
(``station._idempotency``); if the group commit still finds its key taken (another process
stored it meanwhile), nothing is stored, and the profile that learned it is reloaded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from qfzz.dj import ListenerProfile, TrackFeatures
from qfzz.errors import InvalidInteraction, StoreError, UnknownTrack
from qfzz.models import IdempotencyKey, Interaction, InteractionType
from qfzz.station._catalog import Catalog
from qfzz.station._events import Events, InteractionRecorded
from qfzz.station._idempotency import Idempotency, Once
from qfzz.station._profiles import ProfileBook
from qfzz.station._running import RunState
from qfzz.store import InteractionRepository, KeyTaken, StoredAnswer, answered_interaction

log = logging.getLogger(__name__)

_TYPES: dict[str, InteractionType] = {t.value: t for t in InteractionType}

Batch = Sequence[tuple[str, int, str | InteractionType, float | None]]


#: A thread's or a coroutine's wait for the group commit.
F = TypeVar("F", Future[StoredAnswer | None], asyncio.Future[StoredAnswer | None])


@dataclass(frozen=True, slots=True)
class Pending(Generic[F]):
    """Interactions learned and queued for the group commit, not yet acknowledged."""

    done: list[tuple[Interaction, TrackFeatures]]
    users: list[str]
    #: Resolves with ``None`` once stored, or with the first answer of a taken key.
    future: F


class FeedbackFlow:
    def __init__(
        self,
        *,
        profiles: ProfileBook,
        catalog: Catalog,
        interactions: InteractionRepository,
        idempotency: Idempotency,
        run_state: RunState,
        events: Events,
        clock: Callable[[], float],
    ) -> None:
        self._profiles = profiles
        self._catalog = catalog
        self._interactions = interactions
        self._idempotency = idempotency
        self._run_state = run_state
        self._events = events
        self._clock = clock
        #: Listeners whose profile snapshot is being written off the event loop.
        self._snapshotting: set[str] = set()

    def record(self, batch: Batch) -> list[Interaction]:
        """Validate all, then learn and store each; returns once all are committed.

        The whole batch is rejected before anything is stored if one item is invalid.
        """
        pending = self._submit(batch, self._interactions.submit)
        try:
            pending.future.result()
        except Exception as exc:
            raise self._lost(pending, exc) from exc
        done = self._finish(pending)
        self._profiles.snapshot_due(pending.users)
        return done

    async def arecord(self, batch: Batch) -> list[Interaction]:
        """``record`` for async handlers: awaits the commit instead of holding a thread,
        so hundreds of waiting requests share group commits."""
        pending = self._submit(batch, self._interactions.asubmit)
        try:
            await pending.future
        except Exception as exc:
            raise self._lost(pending, exc) from exc
        done = self._finish(pending)
        self._snapshot_later(pending.users)
        return done

    async def arecord_once(
        self,
        key: IdempotencyKey,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Once[Interaction]:
        """``arecord`` of one interaction once per idempotency key: a repeat is answered
        with the first interaction, and nothing is stored or learned again."""
        self._run_state.require()

        async def record() -> Interaction:
            pending = self._submit(
                [(user_id, track_id, type, rating)], self._interactions.asubmit, key=key
            )
            try:
                first = await pending.future
            except Exception as exc:
                raise self._lost(pending, exc) from exc
            if first is not None:  # another process stored the key after we looked
                self._profiles.forget(pending.users)
                raise KeyTaken(first)
            done = self._finish(pending)[0]
            self._snapshot_later(pending.users)
            return done

        return await self._idempotency.arun(key, record, answered_interaction)

    def _submit(
        self,
        batch: Batch,
        queue: Callable[..., F],
        *,
        key: IdempotencyKey | None = None,
    ) -> Pending[F]:
        """Validate, learn and queue ``batch`` (one interaction when it has a ``key``)
        with ``queue`` (the store's ``submit`` for threads, ``asubmit`` on the loop)."""
        self._run_state.require()
        index = self._catalog.index
        validated = [self._validated(index.row_of, *item) for item in batch]
        done = [(i, index.features(row)) for i, row, _ in validated]
        profiles = {p.user_id: p for _, _, p in validated}
        locks = [profiles[user].lock for user in sorted(profiles)]  # one global order
        for lock in locks:
            lock.acquire()
        try:
            for (interaction, _, profile), (_, features) in zip(validated, done, strict=True):
                profile.apply(interaction, features)
                profile.applied += 1
            future = queue([i for i, _ in done], key=key)
        finally:
            for lock in reversed(locks):
                lock.release()
        return Pending(done, list(profiles), future)

    def _lost(self, pending: Pending[F], exc: Exception) -> StoreError:
        """Memory ran ahead of the store: forget those profiles and reload them from truth."""
        self._profiles.forget(pending.users)
        return StoreError(f"could not store the interactions: {exc}")

    def _finish(self, pending: Pending[F]) -> list[Interaction]:
        interactions = [interaction for interaction, _ in pending.done]
        # Nothing is invalidated: the listeners' playlist versions moved on in ``_submit``
        # (``profile.applied``), so their cached playlists are misses from now on and are
        # replaced at the next read (``PlaylistCache``). A delete here cost a round trip to
        # the cache server on the event loop, and a message to every process, per request.
        plays = [i.track_id for i in interactions if i.type is InteractionType.PLAY]
        if plays:
            self._catalog.view.add_plays(plays)
        for interaction, features in pending.done:
            self._events.emit("interaction_recorded", InteractionRecorded(interaction, features))
        return interactions

    def _snapshot_later(self, users: list[str]) -> None:
        """Snapshot due profiles on a worker thread, never on the event loop.

        A snapshot is a write transaction: on the loop it would stall every request while
        it waits its turn behind the group commit. It is derived state (a restart replays
        the log after the last snapshot, and stopping snapshots every profile), so
        nothing waits for it; one listener's snapshot is in flight at a time.
        """
        due = [u for u in self._profiles.due(users) if u not in self._snapshotting]
        if not due:
            return
        self._snapshotting.update(due)
        job = asyncio.get_running_loop().run_in_executor(None, self._profiles.snapshot_due, due)

        def done(job: asyncio.Future[None]) -> None:
            self._snapshotting.difference_update(due)
            if not job.cancelled() and job.exception() is not None:
                log.error("profile snapshot failed", exc_info=job.exception())

        job.add_done_callback(done)

    def _validated(
        self,
        row_of: Callable[[int], int],
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None,
    ) -> tuple[Interaction, int, ListenerProfile]:
        kind = _TYPES.get(type) if isinstance(type, str) else None
        if kind is None:
            allowed = ", ".join(t.value for t in InteractionType)
            raise InvalidInteraction(f"unknown interaction type {type!r}; use one of {allowed}")
        if kind is InteractionType.RATE:
            if rating is None or isinstance(rating, bool) or not 0.0 <= float(rating) <= 1.0:
                raise InvalidInteraction("a rate interaction needs a rating in [0, 1]")
            rating = float(rating)
        elif rating is not None:
            raise InvalidInteraction(f"only 'rate' takes a rating, not {kind.value!r}")
        profile = self._profiles.get(user_id)  # raises UnknownListener
        if isinstance(track_id, bool) or not isinstance(track_id, int):
            raise InvalidInteraction("track_id must be an integer")
        row = row_of(track_id)
        if row < 0:
            raise UnknownTrack(f"no track with id {track_id}")
        return Interaction(user_id, track_id, kind, rating, self._clock()), row, profile
