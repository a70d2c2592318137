"""The station facade: lifecycle, listeners, the playlist flow and the feedback flow.

Everything a frontend (REST, Subsonic, CLI) does goes through here, so the rules of the
QFZZ design hold whichever way a listener arrives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qfzz.catalog.importer import DatasetImporter
from qfzz.catalog.scanner import LibraryScanner, ScanProgress, ScanReport
from qfzz.dj import CatalogIndex, ListenerProfile, PersonalizedDJ, TrackFeatures, TrustFilter
from qfzz.errors import (
    InvalidInput,
    InvalidInteraction,
    StationNotRunning,
    StoreError,
    UnknownListener,
    UnknownTrack,
)
from qfzz.models import (
    Interaction,
    InteractionType,
    ListenerPreferences,
    Playlist,
    PlaylistItem,
    QualityReport,
    Track,
)
from qfzz.settings import Settings
from qfzz.station._accounts import hash_password, new_token, token_digest, validate_user_id
from qfzz.station._preferences import parse_preferences
from qfzz.store import (
    DatasetRecord,
    FeedbackWrite,
    ListenerRecord,
    Store,
    StoredPlaylist,
    open_store,
)

log = logging.getLogger(__name__)

InteractionHook = Callable[[Interaction, TrackFeatures], None]


@dataclass(frozen=True, slots=True)
class Registration:
    user_id: str
    token: str


@dataclass(frozen=True, slots=True)
class DatasetImport:
    dataset: DatasetRecord
    track_ids: list[int]
    report: QualityReport


class QFZZStation:
    """A running station over one store. Construct, ``start()``, use, ``stop()``."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or Settings()
        self.store = store or open_store(self.settings.resolved_database_url)
        self.clock = clock
        self.index = CatalogIndex()
        self.dj = PersonalizedDJ(self.index, seed=self.settings.seed)
        self.trust_filter: TrustFilter | None = None
        self.interaction_hooks: list[InteractionHook] = []
        self._profiles: dict[str, ListenerProfile] = {}
        self._profiles_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._running = False
        self._started_at: float | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._running:
            return
        self._load_index()
        self.store.interactions.start()
        self._running = True
        self._started_at = self.clock()
        log.info("station started with %d tracks", self.index.active_count)

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self.store.interactions.stop()
        log.info("station stopped")

    def close(self) -> None:
        self.stop()
        self.store.close()

    def is_running(self) -> bool:
        return self._running

    @property
    def uptime(self) -> float:
        return 0.0 if self._started_at is None else self.clock() - self._started_at

    def _require_running(self) -> None:
        if not self._running:
            raise StationNotRunning("the station is not running")

    def _load_index(self) -> None:
        columns = self.store.tracks.feature_columns()
        plays = self.store.interactions.play_counts()
        with self._index_lock:
            self.index.extend(
                columns.track_id,
                columns.artist,
                columns.genre,
                columns.mood,
                columns.energy,
                columns.tempo,
                columns.playable,
                [plays.get(track_id, 0) for track_id in columns.track_id],
            )
            self.index.rows_of_artist(0)  # build the artist layout now, not on a request

    def _reindex(self, changed_ids: Sequence[int], removed_ids: Sequence[int]) -> None:
        tracks = self.store.tracks.get_many(list(changed_ids))
        plays = self.store.interactions.play_counts() if tracks else {}
        ordered = [tracks[i] for i in changed_ids if i in tracks]
        with self._index_lock:
            if removed_ids:
                self.index.remove(list(removed_ids))
            self.index.extend(
                [t.track_id for t in ordered],
                [t.meta.artist for t in ordered],
                [t.meta.genre for t in ordered],
                [t.meta.mood for t in ordered],
                [t.meta.energy for t in ordered],
                [t.meta.tempo for t in ordered],
                [t.playable for t in ordered],
                [plays.get(t.track_id, 0) for t in ordered],
            )

    # -- catalog -----------------------------------------------------------------------

    def scan(self, root: Path, on_progress: ScanProgress | None = None) -> ScanReport:
        scanner = LibraryScanner(self.store.tracks, clock=self.clock)
        report = scanner.scan(root, on_progress)
        self._reindex(report.changed_ids, report.removed_ids)
        return report

    def import_dataset(
        self,
        name: str,
        records: Sequence[Mapping[str, object]],
        license_id: str,
        *,
        min_quality: float | None = None,
    ) -> DatasetImport:
        importer = DatasetImporter(
            self.store.datasets, allowed_licenses=self.settings.allowed_licenses, clock=self.clock
        )
        quality = self.settings.min_quality if min_quality is None else min_quality
        dataset, ids, report = importer.import_records(
            name, records, license_id, min_quality=quality
        )
        self._reindex(ids, [])
        return DatasetImport(dataset, ids, report)

    def track(self, track_id: int) -> Track:
        found = self.store.tracks.get(track_id)
        if found is None:
            raise UnknownTrack(f"no track with id {track_id}")
        return found

    def search_tracks(
        self,
        *,
        q: str | None = None,
        genre: str | None = None,
        artist: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Track]]:
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput("limit must be in 1..500 and offset ≥ 0")
        return self.store.tracks.search(q=q, genre=genre, artist=artist, limit=limit, offset=offset)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "running": self._running, "tracks": self.index.active_count}

    # -- listeners ---------------------------------------------------------------------

    def register_listener(
        self,
        user_id: str,
        preferences: Mapping[str, Any] | ListenerPreferences | None = None,
        *,
        password: str | None = None,
    ) -> Registration:
        """Create a listener; returns a bearer token (only its digest is stored)."""
        validate_user_id(user_id)
        prefs = parse_preferences(preferences, default_discovery=self.settings.discovery_factor)
        password_hash = hash_password(password) if password is not None else None
        token = new_token()
        profile = ListenerProfile.from_preferences(
            user_id, prefs, recent_window=self.settings.recent_plays_window
        )
        record = ListenerRecord(
            user_id=user_id,
            preferences={
                "genres": prefs.genres,
                "artists": prefs.artists,
                "moods": prefs.moods,
                "discovery_factor": prefs.discovery_factor,
                "energy_level": prefs.energy_level,
                "tempo_preference": prefs.tempo_preference,
            },
            discovery_factor=prefs.discovery_factor,
            energy_level=prefs.energy_level,
            tempo_preference=prefs.tempo_preference,
            created_at=self.clock(),
        )
        self.store.listeners.create(
            record,
            password_hash=password_hash,
            token_digest=token_digest(token),
            weights=profile.weights,
        )
        with self._profiles_lock:
            self._profiles[user_id] = profile
        return Registration(user_id, token)

    def profile(self, user_id: str) -> ListenerProfile:
        """The listener's live profile (loaded from the store on first use)."""
        found = self._profiles.get(user_id)
        if found is not None:
            return found
        with self._profiles_lock:
            found = self._profiles.get(user_id)
            if found is None:
                found = self._load_profile(user_id)
                self._profiles[user_id] = found
            return found

    def _load_profile(self, user_id: str) -> ListenerProfile:
        record = self.store.listeners.get(user_id)
        if record is None:
            raise UnknownListener(f"no listener {user_id!r}")
        profile = ListenerProfile.from_preferences(
            user_id, _stored_preferences(record), recent_window=self.settings.recent_plays_window
        )
        profile.weights = self.store.listeners.weights(user_id)
        profile.energy_level = record.energy_level
        for interaction in self.store.interactions.for_listener(user_id):
            profile.remember(interaction)
        return profile

    def rebuild_profile(self, user_id: str, *, save: bool = True) -> ListenerProfile:
        """Recompute a profile from its stated preferences and every stored interaction."""
        record = self.store.listeners.get(user_id)
        if record is None:
            raise UnknownListener(f"no listener {user_id!r}")
        profile = ListenerProfile.from_preferences(
            user_id, _stored_preferences(record), recent_window=self.settings.recent_plays_window
        )
        history = self.store.interactions.for_listener(user_id)
        tracks = self.store.tracks.get_many(sorted({i.track_id for i in history}))
        for interaction in history:
            track = tracks.get(interaction.track_id)
            if track is None:
                profile.remember(interaction)
                continue
            profile.apply(interaction, _features_of(track))
        if save:
            self.store.listeners.replace_weights(user_id, profile.weights, profile.energy_level)
            with self._profiles_lock:
                self._profiles[user_id] = profile
        return profile

    # -- playlist flow -----------------------------------------------------------------

    def generate_playlist(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        self._require_running()
        size = self.settings.max_playlist_size if size is None else size
        if not 1 <= size <= self.settings.max_playlist_size:
            raise InvalidInput(f"size must be in 1..{self.settings.max_playlist_size}")
        profile = self.profile(user_id)
        now = self.clock()
        trust = self.trust_filter if self.settings.enable_blockchain else None
        with self._index_lock:
            recommendations = self.dj.recommend(
                profile, size, now=now, include_unplayable=include_unplayable, trust_filter=trust
            )
        tracks = self.store.tracks.get_many([r.track_id for r in recommendations])
        items = tuple(
            PlaylistItem(tracks[r.track_id], r.score, r.reasons)
            for r in recommendations
            if r.track_id in tracks
        )
        self.store.listeners.save_playlist(
            StoredPlaylist(
                user_id,
                now,
                [
                    {"track_id": i.track.track_id, "score": i.score, "reasons": list(i.reasons)}
                    for i in items
                ],
            )
        )
        return Playlist(user_id, items, now)

    def current_playlist(self, user_id: str) -> StoredPlaylist | None:
        self.profile(user_id)
        return self.store.listeners.playlist(user_id)

    # -- feedback flow -----------------------------------------------------------------

    def record_interaction(
        self,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Interaction:
        """Validate, store durably, learn. Returns once the interaction is committed."""
        self._require_running()
        interaction, row = self._validated(user_id, track_id, type, rating)
        profile = self.profile(user_id)
        features = self.index.features(row)
        with profile.lock:
            changed = profile.apply(interaction, features)
            future = self.store.interactions.submit(
                FeedbackWrite(interaction, changed, profile.energy_level)
            )
        try:
            future.result()
        except Exception as exc:
            with self._profiles_lock:  # memory ran ahead of the store: reload from truth
                self._profiles.pop(user_id, None)
            raise StoreError(f"could not store the interaction: {exc}") from exc
        self._after_interaction(interaction, row, features)
        return interaction

    def record_interactions(
        self, batch: Sequence[tuple[str, int, str | InteractionType, float | None]]
    ) -> list[Interaction]:
        """Many interactions in one transaction (imports, offline clients)."""
        self._require_running()
        validated = [self._validated(*item) for item in batch]
        writes: list[FeedbackWrite] = []
        for interaction, row in validated:
            profile = self.profile(interaction.user_id)
            with profile.lock:
                changed = profile.apply(interaction, self.index.features(row))
                writes.append(FeedbackWrite(interaction, changed, profile.energy_level))
        try:
            self.store.interactions.write_batch(writes)
        except Exception as exc:
            with self._profiles_lock:
                for interaction, _ in validated:
                    self._profiles.pop(interaction.user_id, None)
            raise StoreError(f"could not store the interactions: {exc}") from exc
        for interaction, row in validated:
            self._after_interaction(interaction, row, self.index.features(row))
        return [interaction for interaction, _ in validated]

    def _validated(
        self, user_id: str, track_id: int, type: str | InteractionType, rating: float | None
    ) -> tuple[Interaction, int]:
        try:
            kind = InteractionType(type)
        except ValueError:
            allowed = ", ".join(t.value for t in InteractionType)
            raise InvalidInteraction(
                f"unknown interaction type {type!r}; use one of {allowed}"
            ) from None
        if kind is InteractionType.RATE:
            if rating is None or isinstance(rating, bool) or not 0.0 <= float(rating) <= 1.0:
                raise InvalidInteraction("a rate interaction needs a rating in [0, 1]")
            rating = float(rating)
        elif rating is not None:
            raise InvalidInteraction(f"only 'rate' takes a rating, not {kind.value!r}")
        self.profile(user_id)  # raises UnknownListener
        if isinstance(track_id, bool) or not isinstance(track_id, int):
            raise InvalidInteraction("track_id must be an integer")
        row = self.index.row_of(track_id)
        if row < 0:
            raise UnknownTrack(f"no track with id {track_id}")
        return Interaction(user_id, track_id, kind, rating, self.clock()), row

    def _after_interaction(
        self, interaction: Interaction, row: int, features: TrackFeatures
    ) -> None:
        if interaction.type is InteractionType.PLAY:
            with self._index_lock:
                self.index.add_play(row)
        for hook in self.interaction_hooks:
            try:
                hook(interaction, features)
            except Exception:  # a faulty hook must not undo a stored interaction
                log.exception("interaction hook %r failed", hook)


def _stored_preferences(record: ListenerRecord) -> ListenerPreferences:
    prefs = record.preferences
    return ListenerPreferences(
        genres=dict(prefs.get("genres", {})),
        artists=dict(prefs.get("artists", {})),
        moods=dict(prefs.get("moods", {})),
        discovery_factor=record.discovery_factor,
        energy_level=float(prefs.get("energy_level", 0.5)),
        tempo_preference=record.tempo_preference,
    )


def _features_of(track: Track) -> TrackFeatures:
    """Features of a track outside the index (e.g. removed since), for rebuilding."""
    index = CatalogIndex()
    meta = track.meta
    index.extend(
        [track.track_id],
        [meta.artist],
        [meta.genre],
        [meta.mood],
        [meta.energy],
        [meta.tempo],
        [track.playable],
    )
    return index.features(0)
