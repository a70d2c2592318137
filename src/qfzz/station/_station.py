"""The station facade: lifecycle, listeners, the playlist flow and the feedback flow.

Everything a frontend (REST, Subsonic, CLI) does goes through here, so the rules of the
QFZZ design hold whichever way a listener arrives.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qfzz.cache import CacheServices, open_cache
from qfzz.catalog.importer import DatasetImporter
from qfzz.catalog.scanner import LibraryScanner, ScanProgress, ScanReport
from qfzz.catalog.timed_reads import TimedReads
from qfzz.dj import CatalogIndex, ListenerProfile, PersonalizedDJ, TrackFeatures, TrustFilter
from qfzz.edge import DeviceRegistry, EdgeDeviceConfig, StreamingParams
from qfzz.errors import (
    Forbidden,
    InvalidInput,
    QfzzError,
    StationNotRunning,
    UnknownListener,
    UnknownTrack,
)
from qfzz.models import (
    IdempotencyKey,
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
from qfzz.station._auth import Accounts, Principal, load_secret_key
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._idempotency import Idempotency, Once
from qfzz.station._jobs import CatalogJobs
from qfzz.station._library import Library
from qfzz.station._preferences import parse_preferences
from qfzz.station._radio import Radio
from qfzz.station._ratelimit import SlidingWindow
from qfzz.store import (
    DatasetRecord,
    DatasetRepository,
    DeviceRecord,
    KeyTaken,
    ListenerRecord,
    Store,
    StoredAnswer,
    StoredPlaylist,
    answered_interaction,
    open_store,
)
from qfzz.trust import (
    Audit,
    ChainStatus,
    LedgerKey,
    Miner,
    RepairReport,
    TrustLedger,
    TrustRecord,
    trust_key,
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
        self.cache = open_cache(
            self.settings.cache_url,
            clock=clock,
            prefix=self.settings.cache_prefix,
            max_entries=self.settings.cache_max_entries,
            l1_entries=self.settings.cache_l1_entries,
            l1_ttl=self.settings.cache_l1_ttl,
            timeout=self.settings.cache_timeout,
        )
        self.caches = CacheServices.build(self.cache)
        self.index = CatalogIndex()
        self.dj = PersonalizedDJ(self.index, seed=self.settings.seed)
        secret_key = load_secret_key(self.settings.data_dir, self.settings.secret_key)
        self.ledger = TrustLedger(
            self.store.ledger,
            self.store.interactions,
            self.store.tracks.trust_identities,
            key=LedgerKey.from_secret(secret_key),
            clock=clock,
            difficulty=self.settings.difficulty,
            mine_every_records=self.settings.mine_every_records,
            mine_every_seconds=self.settings.mine_every_seconds,
        )
        self.miner = Miner(self.ledger)
        self.trust_filter: TrustFilter | None = None
        if self.settings.enable_blockchain:
            self.store.interactions.on_committed = self.ledger.apply_committed
            self.trust_filter = self._trusted
        self.interaction_hooks: list[InteractionHook] = []
        #: Told how long each playlist took to generate (seconds); /metrics listens.
        self.playlist_timers: list[Callable[[float], None]] = []
        self.radio = Radio(self)
        self._feedback = FeedbackFlow(self)
        #: Requests sent with an ``Idempotency-Key`` run through here (at most once each).
        self.idempotency = Idempotency(self.store.idempotency, clock)
        self.library = Library(self)
        self.accounts = Accounts(
            self.store.listeners,
            secret_key=secret_key,
            clock=clock,
            token_ttl=self.settings.token_ttl_seconds,
            stream_token_ttl=self.settings.stream_token_ttl_seconds,
            sessions=self.caches.sessions,
        )
        self.jobs = CatalogJobs(self)
        self.login_limit = SlidingWindow(self.settings.login_attempts_per_minute, 60.0, clock)
        self.register_limit = SlidingWindow(self.settings.registrations_per_hour, 3600.0, clock)
        #: Password checks (logins, sign-ups) per second for the whole station: attempts
        #: spread over many addresses pass the per-address limits, not this one.
        self.password_budget = SlidingWindow(self.settings.password_checks_per_second, 1.0, clock)
        #: Failed Subsonic sign-ins (apps sign every request, so only failures count).
        self.auth_failures = SlidingWindow(self.settings.login_attempts_per_minute, 60.0, clock)
        self.devices = DeviceRegistry(clock)
        #: Gives every read of a library file (scans, cover art) a deadline.
        self.file_reads = TimedReads()
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
        self._load_devices()
        self._ensure_admin()
        if self.settings.enable_blockchain:
            status = self.ledger.load()
            log.info(
                "trust ledger: height %d, %s, %d changes pending",
                status.height,
                "valid" if status.valid else "INVALID",
                self.ledger.pending_count,
            )
        self.store.interactions.start()
        self._running = True
        self._started_at = self.clock()
        log.info("station started with %d tracks", self.index.active_count)

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self.jobs.stop()
        self.radio.close()
        self.miner.stop()
        self.store.interactions.stop()
        self.snapshot_profiles()
        log.info("station stopped")

    def close(self) -> None:
        self.stop()
        self.file_reads.close()
        self.cache.close()
        self.store.close()

    def is_running(self) -> bool:
        return self._running

    @property
    def uptime(self) -> float:
        return 0.0 if self._started_at is None else self.clock() - self._started_at

    def _ensure_admin(self) -> None:
        password = self.settings.admin_password
        if password is None or self.accounts.has_admin():
            return
        user_id = self.accounts.resolve("admin")
        if user_id is None:
            user_id = self.register_listener("admin", {}, password=password).user_id
        else:  # someone registered the name first: it is the operator's now, not theirs
            revoked = self.accounts.revoke_sessions(user_id)
            self.accounts.set_password(user_id, password)
            log.warning("took over listener %r as the admin (%d sessions ended)", user_id, revoked)
        self.accounts.make_admin(user_id)
        log.info("made %r the admin listener from QFZZ_ADMIN_PASSWORD", user_id)

    def start_miner(self) -> None:
        """Mine in a background thread (``serve`` does this; short CLI runs do not)."""
        if self.settings.enable_blockchain:
            self.miner.start()

    def start_workers(self) -> None:
        """The background work of a serving station: mining and catalog jobs."""
        self.start_miner()
        self.jobs.start()

    def require_running(self) -> None:
        self._require_running()

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
        self.caches.tracks.invalidate([*changed_ids, *removed_ids])
        self.caches.search.clear()
        tracks = self.store.tracks.get_many(list(changed_ids))
        plays = self.store.interactions.play_counts(list(tracks)) if tracks else {}
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
        scanner = LibraryScanner(self.store.tracks, clock=self.clock, reads=self.file_reads)
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
        return self._import_dataset(name, records, license_id, min_quality, None)

    def import_dataset_once(
        self,
        key: IdempotencyKey,
        name: str,
        records: Sequence[Mapping[str, object]],
        license_id: str,
        *,
        min_quality: float | None = None,
    ) -> Once[DatasetImport]:
        """``import_dataset`` once per idempotency key: a repeat gets the first import."""
        return self.idempotency.run(
            key,
            lambda: self._import_dataset(name, records, license_id, min_quality, key),
            _answered_import,
        )

    def _import_dataset(
        self,
        name: str,
        records: Sequence[Mapping[str, object]],
        license_id: str,
        min_quality: float | None,
        key: IdempotencyKey | None,
    ) -> DatasetImport:
        datasets = self.store.datasets if key is None else self.store.datasets.keyed(key)
        importer = DatasetImporter(
            datasets, allowed_licenses=self.settings.allowed_licenses, clock=self.clock
        )
        quality = self.settings.min_quality if min_quality is None else min_quality
        dataset, ids, report = importer.import_records(
            name, records, license_id, min_quality=quality
        )
        self._reindex(ids, [])
        return DatasetImport(dataset, ids, report)

    def mark_unplayable(self, track_id: int, reason: str) -> None:
        """A file that failed to decode stays in the catalog but goes off air."""
        log.warning("track %d taken off air: %s", track_id, reason)
        self.store.tracks.set_playable(track_id, False)
        self.caches.tracks.invalidate([track_id])
        self.caches.search.clear()
        with self._index_lock:
            self.index.set_playable(self.index.row_of(track_id), False)

    # -- devices ---------------------------------------------------------------------------

    def register_device(
        self,
        config: Mapping[str, object],
        *,
        user_id: str | None = None,
        preferences: Mapping[str, object] | None = None,
        takeover: bool = False,
    ) -> StreamingParams:
        """Register (or re-register) a device; its parameters are computed and stored.

        An id already registered to another listener raises DeviceConflict (409) and
        changes nothing, unless ``takeover`` (an admin acting for anyone) moves it.
        """
        device = EdgeDeviceConfig.from_dict(config)
        if user_id is not None:
            self.profile(user_id)  # raises UnknownListener
        params = self.devices.register(device, user_id, preferences=preferences, takeover=takeover)
        self._save_device(device.device_id)
        return params

    def update_device(
        self, device_id: str, *, by: Principal | None = None, **changes: Any
    ) -> StreamingParams:
        """A network or battery change: re-optimize (running streams follow at a boundary).

        ``by``: who asks (None: the station itself). Only the owner or an admin may change
        a device, and only an admin one that has no owner (Forbidden otherwise).
        """
        self._device_access(device_id, by, change=True)
        params = self.devices.update(device_id, **changes)
        self._save_device(device_id)
        return params

    def device_params(self, device_id: str, *, by: Principal | None = None) -> StreamingParams:
        """A device's parameters; ``by`` (when given) must be its owner or an admin."""
        self._device_access(device_id, by, change=False)
        return self.devices.params(device_id)

    def _device_access(self, device_id: str, by: Principal | None, *, change: bool) -> None:
        if by is None:
            return
        owner = self.devices.get(device_id).user_id  # raises UnknownDevice
        if owner is not None:
            by.require(owner)
        elif change and not by.is_admin:
            raise Forbidden(f"device {device_id!r} has no owner: only an admin may change it")

    def _save_device(self, device_id: str) -> None:
        device = self.devices.get(device_id)
        self.store.devices.save(
            DeviceRecord(
                device_id,
                device.user_id,
                device.config.to_dict(),
                device.preferences.to_dict(),
                device.updated_at,
            )
        )

    def _load_devices(self) -> None:
        for record in self.store.devices.all():
            try:
                self.devices.register(
                    EdgeDeviceConfig.from_dict(record.config),
                    record.user_id,
                    preferences=record.preferences,
                )
            except QfzzError as exc:
                log.warning("ignoring stored device %s: %s", record.device_id, exc)

    # -- catalog reads and status ------------------------------------------------------

    def blended_weights(self) -> dict[str, dict[str, float]]:
        """The station's taste: the mean of its listeners' learned weights."""
        users = self.store.listeners.user_ids()
        totals: dict[str, dict[str, float]] = {}
        for user in users:
            for kind, table in self.profile(user).weights.items():
                target = totals.setdefault(kind, {})
                for key, weight in table.items():
                    target[key] = target.get(key, 0.0) + weight
        count = max(1, len(users))
        return {k: {key: w / count for key, w in t.items()} for k, t in totals.items()}

    def track(self, track_id: int) -> Track:
        found = self.caches.tracks.get(track_id, self.store.tracks.get)
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
        found: tuple[int, list[Track]] = self.caches.search.get(
            q,
            {"genre": genre, "artist": artist},
            (limit, offset),
            lambda: self.store.tracks.search(
                q=q, genre=genre, artist=artist, limit=limit, offset=offset
            ),
        )
        return found

    def statistics(self) -> dict[str, Any]:
        """Status and numbers for operators (GET /api/v1/station)."""
        mounts = self.radio.all_mounts()
        return {
            "status": "running" if self._running else "stopped",
            "uptime": round(self.uptime, 3),
            "tracks": self.index.active_count,
            "playable_tracks": int((self.index.active & self.index.playable).sum()),
            "datasets": self.store.datasets.count(),
            "listeners": len(self.store.listeners.user_ids()),
            "listening": sum(m.listener_count() for m in mounts),
            "interactions": self.store.interactions.count(),
            "mounts": [
                {"name": m.name, "listeners": m.listener_count(), "encoders": len(m.encoders)}
                for m in mounts
            ],
            "ledger": {
                "enabled": self.settings.enable_blockchain,
                "height": self.ledger.height,
                "valid": self.ledger.valid,
                "pending": self.ledger.pending_count,
            },
        }

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "running": self._running, "tracks": self.index.active_count}

    # -- trust ---------------------------------------------------------------------------

    def _trusted(self, track_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        scores = self.ledger.track_scores(track_ids.tolist())
        return np.asarray(scores >= self.settings.trust_threshold)

    def trust(self, content_id: str, creator_id: str) -> TrustRecord:
        """The trust record of a content item (neutral when nobody voted yet)."""
        found = self.ledger.record(content_id, creator_id)
        if found is None:
            return TrustRecord(trust_key(content_id, creator_id), 0, 0, 0.5, 0.0, 0.0)
        return found

    def verify_ledger(self) -> ChainStatus:
        """Check the stored chain and the interactions it covers (a full read of both;
        concurrent callers share one check, reused while nothing changed)."""
        return self.ledger.verify()

    def ledger_verification(self) -> Future[Audit]:
        """``verify_ledger`` for async handlers: await it instead of holding a thread."""
        return self.ledger.verification()

    def repair_ledger(self) -> RepairReport:
        return self.ledger.repair_chain()

    # -- listeners ---------------------------------------------------------------------

    def register_listener(
        self,
        user_id: str,
        preferences: Mapping[str, Any] | ListenerPreferences | None = None,
        *,
        password: str | None = None,
    ) -> Registration:
        """Create a listener; returns its stored id and a bearer token (only its digest is kept).

        The id is normalised first (``qfzz.models.normalise_user_id``); another case or
        width of an existing id is ``ListenerExists``.
        """
        user_id = validate_user_id(user_id)
        prefs = parse_preferences(preferences, default_discovery=self.settings.discovery_factor)
        password_hash = hash_password(password) if password is not None else None
        token = new_token()
        now = self.clock()
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
            token_expires_at=now + self.settings.token_ttl_seconds,
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
        """Stored snapshot + the interactions after it, replayed in log order."""
        record = self.store.listeners.get(user_id)
        if record is None:
            raise UnknownListener(f"no listener {user_id!r}")
        profile = ListenerProfile.from_preferences(
            user_id, _stored_preferences(record), recent_window=self.settings.recent_plays_window
        )
        profile.weights = self.store.listeners.weights(user_id)
        profile.energy_level = record.energy_level
        history = self.store.interactions.for_listener(user_id)
        folded = min(record.profile_interactions, len(history))
        for interaction in history[:folded]:
            profile.remember(interaction)
        self._replay(profile, history[folded:])
        profile.applied = len(history)
        profile.snapshotted = folded
        return profile

    def _replay(self, profile: ListenerProfile, history: Sequence[Interaction]) -> None:
        rows = self.index.rows_of([i.track_id for i in history])
        missing = sorted({i.track_id for i, row in zip(history, rows, strict=True) if row < 0})
        outside = self.store.tracks.get_many(missing) if missing else {}
        for interaction, row in zip(history, rows, strict=True):
            if row >= 0:
                profile.apply(interaction, self.index.features(int(row)))
            elif interaction.track_id in outside:  # removed from the catalog since
                profile.apply(interaction, _features_of(outside[interaction.track_id]))
            else:
                profile.remember(interaction)

    def rebuild_profile(self, user_id: str, *, save: bool = True) -> ListenerProfile:
        """Recompute a profile from its stated preferences and every stored interaction."""
        record = self.store.listeners.get(user_id)
        if record is None:
            raise UnknownListener(f"no listener {user_id!r}")
        profile = ListenerProfile.from_preferences(
            user_id, _stored_preferences(record), recent_window=self.settings.recent_plays_window
        )
        history = self.store.interactions.for_listener(user_id)
        self._replay(profile, history)
        profile.applied = len(history)
        if save:
            self._snapshot(profile)
            with self._profiles_lock:
                self._profiles[user_id] = profile
        return profile

    # -- playlist flow -----------------------------------------------------------------

    def cached_playlist(self, user_id: str, size: int | None = None) -> Playlist | None:
        """The current playlist if the cache has it (never blocks on the DJ or the store)."""
        if size is not None and (isinstance(size, bool) or size < 1):
            raise InvalidInput("size must be at least 1")
        profile = self._profiles.get(user_id)
        if not self._running or profile is None:
            return None
        current = self.caches.playlists.peek(user_id, version=_playlist_version(profile))
        if current is None:
            return None
        return (
            current
            if size is None
            else Playlist(current.user_id, current.items[:size], current.generated_at)
        )

    def playlist(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        """The listener's current playlist: made once, then served from the cache until
        their next feedback (which invalidates exactly that listener).

        The cache entry carries the version of the profile it was computed from, read
        before the DJ reads the profile; every feedback moves the version on before it is
        acknowledged, so a playlist computed before an acknowledged feedback is never
        served after it, even when a slow generation stores it late.
        """
        self._require_running()
        if include_unplayable:
            return self.generate_playlist(user_id, size, include_unplayable=True)
        if size is not None and (isinstance(size, bool) or size < 1):
            raise InvalidInput("size must be at least 1")
        profile = self.profile(user_id)  # raises UnknownListener before anything is cached
        current = self.caches.playlists.get(
            user_id, lambda: self.generate_playlist(user_id), version=_playlist_version(profile)
        )
        if current is None:
            return self.generate_playlist(user_id, size)
        return (
            current
            if size is None
            else Playlist(current.user_id, current.items[:size], current.generated_at)
        )

    def generate_playlist(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        self._require_running()
        started = time.perf_counter()
        limit = self.settings.max_playlist_size
        if size is not None and (isinstance(size, bool) or size < 1):
            raise InvalidInput("size must be at least 1")
        size = limit if size is None else min(size, limit)  # the station's size limit
        profile = self.profile(user_id)
        now = self.clock()
        trust = self.trust_filter if self.settings.enable_blockchain else None
        with self._index_lock:
            recommendations = self.dj.recommend(
                profile, size, now=now, include_unplayable=include_unplayable, trust_filter=trust
            )
        tracks = self.caches.tracks.get_many(
            [r.track_id for r in recommendations], self.store.tracks.get_many
        )
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
        elapsed = time.perf_counter() - started
        for timer in self.playlist_timers:
            timer(elapsed)
        return Playlist(user_id, items, now)

    def forget_playlist(self, user_id: str) -> None:
        """Drop the listener's cached playlist (feedback does, after moving the version on)."""
        profile = self._profiles.get(user_id)
        if profile is not None:
            self.caches.playlists.invalidate(user_id, version=_playlist_version(profile))

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
        return self.record_interactions([(user_id, track_id, type, rating)])[0]

    def record_interactions(
        self, batch: Sequence[tuple[str, int, str | InteractionType, float | None]]
    ) -> list[Interaction]:
        """Validate all, then learn and store each; returns once all are committed.

        The whole batch is rejected before anything is stored if one item is invalid.
        The batch is applied to its profiles and queued for the group commit under their
        locks, so the log's order is the order the profiles learned in.
        """
        pending = self._feedback.submit(batch)
        try:
            pending.future.result()
        except Exception as exc:
            raise self._feedback.lost(pending, exc) from exc
        return self._feedback.finish(pending)

    async def arecord_interaction(
        self,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Interaction:
        """``record_interaction`` for async handlers: awaits the commit instead of holding a
        thread, so hundreds of waiting requests share group commits."""
        pending = self._feedback.submit([(user_id, track_id, type, rating)])
        try:
            await asyncio.wrap_future(pending.future)
        except Exception as exc:
            raise self._feedback.lost(pending, exc) from exc
        return self._feedback.finish(pending)[0]

    async def arecord_interaction_once(
        self,
        key: IdempotencyKey,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Once[Interaction]:
        """``arecord_interaction`` once per idempotency key: a repeat is answered with the
        first interaction, and nothing is stored or learned again."""
        self._require_running()

        async def record() -> Interaction:
            pending = self._feedback.submit([(user_id, track_id, type, rating)], key=key)
            try:
                first = await asyncio.wrap_future(pending.future)
            except Exception as exc:
                raise self._feedback.lost(pending, exc) from exc
            if first is not None:  # another process stored the key after we looked
                self._feedback.forget(pending)
                raise KeyTaken(first)
            return self._feedback.finish(pending)[0]

        return await self.idempotency.arun(key, record, answered_interaction)

    def _snapshot(self, profile: ListenerProfile) -> None:
        """Store the learned weights so a restart replays only what came after."""
        with profile.lock:
            if profile.applied == profile.snapshotted:
                return
            self.store.listeners.save_profile(
                profile.user_id, profile.weights, profile.energy_level, profile.applied
            )
            profile.snapshotted = profile.applied

    def snapshot_profiles(self) -> None:
        for profile in list(self._profiles.values()):
            self._snapshot(profile)


def _playlist_version(profile: ListenerProfile) -> tuple[str, int]:
    """The version a playlist computed from ``profile`` now is stored and served under.

    Read without the profile's lock (it must not block the event loop): a feedback being
    applied right now may already show in what the DJ then reads, but never the other way
    round, so the version is never newer than the playlist computed after reading it.
    """
    return profile.incarnation, profile.applied


def _answered_import(record: StoredAnswer) -> DatasetImport:
    """The import a stored answer describes (its quality report is kept on the dataset)."""
    dataset, ids = DatasetRepository.answered(record)
    report = QualityReport(
        dataset.quality_score, dataset.components, dataset.license_id, dataset.track_count
    )
    return DatasetImport(dataset, ids, report)


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
