"""The feedback flow: validate → learn → group commit → caches, counters and hooks.

Interactions are applied to their profiles and queued for the group commit under the
profiles' locks, so the stored log's order is the order the profiles learned in; the caller
(sync or async) waits on the commit before anything is acknowledged.

A keyed interaction (``Idempotency-Key``) is looked up before it is learned
(``station._idempotency``); if the group commit still finds its key taken (another process
stored it meanwhile), nothing is stored, and the profile that learned it is reloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qfzz.dj import ListenerProfile, TrackFeatures
from qfzz.errors import InvalidInteraction, StoreError, UnknownTrack
from qfzz.models import IdempotencyKey, Interaction, InteractionType
from qfzz.store import StoredAnswer

if TYPE_CHECKING:
    from qfzz.station._station import QFZZStation

log = logging.getLogger(__name__)

_TYPES: dict[str, InteractionType] = {t.value: t for t in InteractionType}
#: A listener's weights are snapshotted after this many new interactions (and on stop).
SNAPSHOT_EVERY = 200

Batch = Sequence[tuple[str, int, str | InteractionType, float | None]]


@dataclass(frozen=True, slots=True)
class Pending:
    """Interactions learned and queued for the group commit, not yet acknowledged."""

    done: list[tuple[Interaction, int, TrackFeatures]]
    users: list[str]
    #: Resolves with ``None`` once stored, or with the first answer of a taken key.
    future: Future[StoredAnswer | None]


class FeedbackFlow:
    def __init__(self, station: QFZZStation) -> None:
        self._station = station

    def submit(self, batch: Batch, *, key: IdempotencyKey | None = None) -> Pending:
        """Validate, learn and queue ``batch`` (one interaction when it has a ``key``)."""
        self._station._require_running()
        validated = [self._validated(*item) for item in batch]
        done = [(i, row, self._station.index.features(row)) for i, row, _ in validated]
        profiles = {p.user_id: p for _, _, p in validated}
        locks = [profiles[user].lock for user in sorted(profiles)]  # one global order
        for lock in locks:
            lock.acquire()
        try:
            for (interaction, _, profile), (_, _, features) in zip(validated, done, strict=True):
                profile.apply(interaction, features)
                profile.applied += 1
            future = self._station.store.interactions.submit([i for i, _, _ in done], key=key)
        finally:
            for lock in reversed(locks):
                lock.release()
        return Pending(done, list(profiles), future)

    def lost(self, pending: Pending, exc: Exception) -> StoreError:
        """Memory ran ahead of the store: forget those profiles and reload them from truth."""
        self.forget(pending)
        return StoreError(f"could not store the interactions: {exc}")

    def forget(self, pending: Pending) -> None:
        """The profiles learned what was not stored: the next use reloads them from it."""
        with self._station._profiles_lock:
            for user in pending.users:
                self._station._profiles.pop(user, None)

    def finish(self, pending: Pending) -> list[Interaction]:
        self._after(pending.done)
        return [interaction for interaction, _, _ in pending.done]

    def _validated(
        self, user_id: str, track_id: int, type: str | InteractionType, rating: float | None
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
        profile = self._station.profile(user_id)  # raises UnknownListener
        if isinstance(track_id, bool) or not isinstance(track_id, int):
            raise InvalidInteraction("track_id must be an integer")
        row = self._station.index.row_of(track_id)
        if row < 0:
            raise UnknownTrack(f"no track with id {track_id}")
        return Interaction(user_id, track_id, kind, rating, self._station.clock()), row, profile

    def _after(self, done: Sequence[tuple[Interaction, int, TrackFeatures]]) -> None:
        self._update_caches([interaction for interaction, _, _ in done])
        plays = [row for interaction, row, _ in done if interaction.type is InteractionType.PLAY]
        if plays:
            with self._station._index_lock:
                self._station.index.add_plays(plays)
        for user_id in {interaction.user_id for interaction, _, _ in done}:
            profile = self._station._profiles.get(user_id)
            if profile is not None and profile.applied - profile.snapshotted >= SNAPSHOT_EVERY:
                self._station._snapshot(profile)
        for hook in self._station.interaction_hooks:
            for interaction, _, features in done:
                try:
                    hook(interaction, features)
                except Exception:  # a faulty hook must not undo a stored interaction
                    log.exception("interaction hook %r failed", hook)

    def _update_caches(self, interactions: Sequence[Interaction]) -> None:
        """Feedback invalidates exactly its listeners' playlists; counters follow plays.

        The playlist versions already moved on in ``submit`` (``profile.applied``), so an
        entry a slow generation stores after this invalidation is never served.
        """
        for user in {i.user_id for i in interactions}:
            self._station.forget_playlist(user)
