"""The profile book: the one owner of every listener's live, learned profile.

A profile is loaded from its stored snapshot plus the interactions logged after it, kept
in memory while the station runs, and snapshotted back every ``SNAPSHOT_EVERY`` new
interactions and on stop, so a restart replays only the tail of the log. The book's lock
guards the mapping; each profile's own lock guards its learning (see ``FeedbackFlow``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from qfzz.dj import ListenerProfile, TrackFeatures
from qfzz.errors import UnknownListener
from qfzz.models import Interaction, ListenerPreferences
from qfzz.station._catalog import Catalog
from qfzz.store import ListenerRecord, Store

#: A listener's weights are snapshotted after this many new interactions (and on stop).
SNAPSHOT_EVERY = 200


class ProfileBook:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        recent_window: int,
        snapshot_every: int = SNAPSHOT_EVERY,
        shared: bool = False,
    ) -> None:
        self._store = store
        #: Other processes learn from the same listeners (``station._relay``): a profile
        #: here may lack what they learned, so snapshots are made from the store instead.
        self.shared = shared
        #: New interactions after which a profile is snapshotted.
        self.snapshot_every = snapshot_every
        self._catalog = catalog
        self._recent_window = recent_window
        self._profiles: dict[str, ListenerProfile] = {}
        #: Per profile held, the highest interaction id its load read from the log: what
        #: another process tells of an interaction at or below it is in the profile already.
        self._through: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> ListenerProfile:
        """The listener's live profile (loaded on first use; ``UnknownListener`` if none)."""
        found = self._profiles.get(user_id)
        if found is not None:
            return found
        with self._lock:
            found = self._profiles.get(user_id)
            if found is None:
                found, self._through[user_id] = self._loaded(user_id)
                self._profiles[user_id] = found
            return found

    def peek(self, user_id: str) -> ListenerProfile | None:
        """The profile if it is loaded already (never touches the store)."""
        return self._profiles.get(user_id)

    def new(self, user_id: str, preferences: ListenerPreferences) -> ListenerProfile:
        """A fresh profile for a listener just registered (not yet in the book)."""
        return ListenerProfile.from_preferences(
            user_id, preferences, recent_window=self._recent_window
        )

    def put(self, profile: ListenerProfile) -> None:
        """Hold a listener's first profile (just registered: nothing in the log yet)."""
        with self._lock:
            self._profiles[profile.user_id] = profile
            self._through[profile.user_id] = 0

    def forget(self, user_ids: Sequence[str]) -> None:
        """Drop profiles whose memory ran ahead of the store: the next use reloads them."""
        with self._lock:
            for user in user_ids:
                self._profiles.pop(user, None)
                self._through.pop(user, None)

    def forget_all(self) -> None:
        """Drop every profile (another process may have taught any of them meanwhile)."""
        with self._lock:
            self._profiles.clear()
            self._through.clear()

    def learn_elsewhere(self, rows: Sequence[tuple[int, Interaction]]) -> list[Interaction]:
        """Learn interactions another process of the station stored (told by the relay) into
        the profiles held here; those this book holds no profile for are left to the next
        load, and a row its profile's load already read is not learned twice. Under the
        book's lock, so that a load running meanwhile finishes first (and is then taught
        what it did not read). The interactions learned."""
        with self._lock:
            held = [
                (profile, interaction)
                for interaction_id, interaction in rows
                if (profile := self._profiles.get(interaction.user_id)) is not None
                and interaction_id > self._through.get(interaction.user_id, 0)
            ]
            features = self._catalog.features_of([i.track_id for _, i in held])
            for (profile, interaction), found in zip(held, features, strict=True):
                with profile.lock:
                    _learn(profile, interaction, found)
                    profile.applied += 1  # moves its playlists' version on
        return [interaction for _, interaction in held]

    def _load(self, user_id: str) -> ListenerProfile:
        return self._loaded(user_id)[0]

    def _loaded(self, user_id: str) -> tuple[ListenerProfile, int]:
        """Stored snapshot + the interactions after it, replayed in log order; and the
        highest interaction id read."""
        record = self._record(user_id)
        profile = self.new(user_id, stored_preferences(record))
        profile.load_tables(self._store.listeners.weights(user_id))
        profile.energy_level = record.energy_level
        rows = self._store.interactions.history(user_id)
        history = [interaction for _, interaction in rows]
        folded = min(record.profile_interactions, len(history))
        for interaction in history[:folded]:
            profile.remember(interaction)
        self._replay(profile, history[folded:])
        profile.applied = len(history)
        profile.snapshotted = folded
        return profile, rows[-1][0] if rows else 0

    def rebuild(self, user_id: str, *, save: bool = True) -> ListenerProfile:
        """Recompute a profile from its stated preferences and every stored interaction."""
        profile = self.new(user_id, stored_preferences(self._record(user_id)))
        rows = self._store.interactions.history(user_id)
        self._replay(profile, [interaction for _, interaction in rows])
        profile.applied = len(rows)
        if save:
            self.snapshot(profile)
            with self._lock:
                self._profiles[user_id] = profile
                self._through[user_id] = rows[-1][0] if rows else 0
        return profile

    def _record(self, user_id: str) -> ListenerRecord:
        record = self._store.listeners.get(user_id)
        if record is None:
            raise UnknownListener(f"no listener {user_id!r}")
        return record

    def _replay(self, profile: ListenerProfile, history: Sequence[Interaction]) -> None:
        features = self._catalog.features_of([i.track_id for i in history])
        for interaction, found in zip(history, features, strict=True):
            _learn(profile, interaction, found)

    def snapshot(self, profile: ListenerProfile) -> None:
        """Store the learned weights so a restart replays only what came after."""
        if self.shared:
            self._snapshot_from_store(profile)
            return
        with profile.lock:
            if profile.applied == profile.snapshotted:
                return
            tables, whole = profile.unsaved_tables()
            self._store.listeners.save_profile(
                profile.user_id,
                tables,
                profile.energy_level,
                profile.applied,
                whole=whole,
            )
            profile.saved()
            profile.snapshotted = profile.applied

    def _snapshot_from_store(self, profile: ListenerProfile) -> None:
        """A snapshot when other processes learn too: the profile in memory may miss
        interactions they stored (between two of its own), and a snapshot of it would claim
        to hold them. So the listener is loaded afresh from the store — the last snapshot
        plus every interaction after it, in log order — and that is stored, whole; whichever
        of two such snapshots lands last, it is true of the log it counts."""
        with profile.lock:
            learned = profile.applied
        fresh = self._load(profile.user_id)
        if fresh.applied != fresh.snapshotted:
            self._store.listeners.save_profile(
                fresh.user_id,
                fresh.stored_tables(),
                fresh.energy_level,
                fresh.applied,
                whole=True,
            )
        with profile.lock:
            profile.snapshotted = max(profile.snapshotted, learned)

    def due(self, user_ids: Sequence[str]) -> list[str]:
        """Those of ``user_ids`` whose profile learned ``snapshot_every`` interactions
        since its last snapshot (no store access: cheap enough for every request)."""
        return [
            user
            for user in user_ids
            if (profile := self._profiles.get(user)) is not None
            and profile.applied - profile.snapshotted >= self.snapshot_every
        ]

    def snapshot_due(self, user_ids: Sequence[str]) -> None:
        """Snapshot the profiles that learned ``snapshot_every`` interactions since the last."""
        for user in self.due(user_ids):
            profile = self._profiles.get(user)
            if profile is not None:
                self.snapshot(profile)

    def snapshot_all(self) -> None:
        for profile in list(self._profiles.values()):
            self.snapshot(profile)

    def blended_weights(self) -> dict[str, dict[str, float]]:
        """The station's taste: the mean of its listeners' learned weights."""
        users = self._store.listeners.user_ids()
        totals: dict[str, dict[str, float]] = {}
        for user in users:
            for kind, table in self.get(user).weights.items():
                target = totals.setdefault(kind, {})
                for key, weight in table.items():
                    target[key] = target.get(key, 0.0) + weight
        count = max(1, len(users))
        return {k: {key: w / count for key, w in t.items()} for k, t in totals.items()}


def stored_preferences(record: ListenerRecord) -> ListenerPreferences:
    prefs = record.preferences
    return ListenerPreferences(
        genres=dict(prefs.get("genres", {})),
        artists=dict(prefs.get("artists", {})),
        moods=dict(prefs.get("moods", {})),
        discovery_factor=record.discovery_factor,
        energy_level=float(prefs.get("energy_level", 0.5)),
        tempo_preference=record.tempo_preference,
    )


def _learn(profile: ListenerProfile, interaction: Interaction, found: TrackFeatures | None) -> None:
    """Learn one interaction; one whose track's features are unknown (removed since) is
    only remembered."""
    if found is not None:
        profile.apply(interaction, found)
    else:
        profile.remember(interaction)
