"""The station facade: lifecycle, and one door to each flow for every frontend.

Everything a frontend (REST, Subsonic, CLI) does goes through here, so the rules of the
QFZZ design hold whichever way a listener arrives. The facade owns no state of its own
beyond the parts ``qfzz.app`` built (``StationParts``); each part owns its state and lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

import qfzz
from qfzz.cache import Cache
from qfzz.catalog.scanner import ScanProgress, ScanReport
from qfzz.dj import CatalogIndex, ListenerProfile
from qfzz.edge import StreamingParams
from qfzz.errors import InvalidInput
from qfzz.ingest import SealedFile, Upload
from qfzz.models import (
    Block,
    IdempotencyKey,
    Interaction,
    InteractionType,
    LedgerEvent,
    ListenerPreferences,
    Playlist,
    Share,
    Track,
    UploadedContent,
)
from qfzz.network import SCHEMA_VERSION
from qfzz.station._accounts import validate_user_id, verify_password
from qfzz.station._auth import Principal
from qfzz.station._catalog import DatasetImport
from qfzz.station._contents import ContentView
from qfzz.station._idempotency import Once
from qfzz.station._parts import StationParts
from qfzz.station._registration import Registration
from qfzz.station._relay import EventRelay
from qfzz.station._resolving import ResolveReport
from qfzz.station._shares import MAX_SHARE_TRACKS
from qfzz.station._start_up import StartUp
from qfzz.store import DatasetRecord, ListenerRecord, StoredPlaylist
from qfzz.trust import Audit, ChainStatus, RepairReport, TrustRecord, trust_key

log = logging.getLogger(__name__)

#: Seconds a start waits for the event relay's first subscription (see ``_start_relay``).
RELAY_START_WAIT = 3.0


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    height: int
    pending: int
    valid: bool
    mining_seconds: float
    blocks_mined: int


class QFZZStation:
    """A running station. Built by ``qfzz.app.build_station``; ``start()``, use, ``close()``."""

    def __init__(self, parts: StationParts) -> None:
        #: The parts (store, ledger, caches …) for tests and tools that inspect them;
        #: frontends use the facade's methods instead.
        self.parts = parts
        self.settings = parts.settings
        self.clock = parts.clock
        self.events = parts.events
        self.catalog = parts.catalog
        self.radio = parts.radio
        self.library = parts.library
        self.collections = parts.collections
        self.accounts = parts.accounts
        self.jobs = parts.jobs
        self.limits = parts.limits
        self.idempotency = parts.idempotency
        self._run_state = parts.run_state
        #: the library being prepared while the station already serves (``qfzz serve``)
        self.start_up = StartUp()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._run_state.running:
            return
        # One BLAS thread per serving thread: a request's matrix products are small, and
        # BLAS threads on every core would queue behind the model's refit or each other
        # (a playlist's p99 during a 1M-track refit on 2 cores: 30 → 14 ms).
        threadpool_limits(limits=1, user_api="blas")
        parts = self.parts
        parts.catalog.load()
        parts.devices.load()
        self._ensure_admin()
        if self.settings.enable_blockchain:
            status = parts.ledger.load()
            log.info(
                "trust ledger: height %d, %s, %d changes pending",
                status.height,
                "valid" if status.valid else "INVALID",
                parts.ledger.pending_count,
            )
        parts.store.interactions.start()
        parts.radio.start()  # reaps idle encoders and personal mounts by the clock
        if parts.relay is not None:
            self._start_relay(parts.relay)
        self._run_state.started()
        log.info("station started: %d tracks indexed", self.index.active_count)

    def _start_relay(self, relay: EventRelay) -> None:
        """Hear the station's other processes. Their first subscription catches up from the
        store (dropping every profile held): waited for here, so that it happens before
        the first request, not under it; a cache server that does not answer in time only
        delays that to when it does."""
        relay.start()
        if not relay.wait_subscribed(RELAY_START_WAIT):
            log.warning(
                "not subscribed to the station's events after %.0f s: other processes' "
                "changes are heard once the cache server answers",
                RELAY_START_WAIT,
            )

    def stop(self) -> None:
        self.start_up.cancel()  # a library being prepared stops at its next step
        if not self._run_state.running:
            return
        self._run_state.stopped()
        parts = self.parts
        if parts.on_air is not None:
            parts.on_air.stop()  # its leases given up: another process makes the mounts
        parts.jobs.stop()
        parts.uploads.stop()
        parts.taste_model.stop()
        parts.radio.close()
        parts.miner.stop()
        parts.store.interactions.stop()
        if parts.relay is not None:
            parts.relay.stop()
        parts.profiles.snapshot_all()
        log.info("station stopped")

    def close(self) -> None:
        self.stop()
        self.catalog.close()
        self.catalog.file_reads.close()
        self.parts.cache.close()
        self.parts.store.close()

    def is_running(self) -> bool:
        return self._run_state.running

    @property
    def uptime(self) -> float:
        return self._run_state.uptime

    def require_running(self) -> None:
        self._run_state.require()

    def start_miner(self) -> None:
        """Mine in a background thread (``serve`` does this; short CLI runs do not)."""
        if self.settings.enable_blockchain:
            self.parts.miner.start()

    def start_on_air(self) -> None:
        """Take part in making the shared mounts (a serving process of a station shared by
        several: ``station.OnAir``); nothing to do for a station of one process."""
        if self.parts.on_air is not None:
            self.parts.on_air.start()

    def start_workers(self) -> None:
        """The background work of a serving station: mining and catalog jobs."""
        self.start_on_air()
        self.start_miner()
        self.jobs.start()
        self.parts.uploads.start()
        self.parts.taste_model.start()

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

    # -- catalog -----------------------------------------------------------------------

    @property
    def index(self) -> CatalogIndex:
        """The catalog index snapshot as of now (read-only)."""
        return self.catalog.index

    def scan(self, root: Path, on_progress: ScanProgress | None = None) -> ScanReport:
        return self.catalog.scan(root, on_progress)

    def resolve(
        self,
        *,
        limit: int,
        origin: str | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> ResolveReport:
        """Resolve up to ``limit`` dataset tracks now, in this process (the CLI's way; the
        API queues the same work as a job)."""
        self.require_running()
        return self.parts.resolving.run(limit=limit, origin=origin, progress=progress)

    def import_dataset(
        self,
        name: str,
        records: Sequence[Mapping[str, object]],
        license_id: str,
        *,
        min_quality: float | None = None,
    ) -> DatasetImport:
        return self.catalog.import_dataset(name, records, license_id, min_quality=min_quality)

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
        return self.catalog.import_dataset_once(
            key, name, records, license_id, min_quality=min_quality
        )

    def datasets(self) -> list[DatasetRecord]:
        return self.parts.store.datasets.all()

    def mark_unplayable(self, track_id: int, reason: str) -> None:
        self.catalog.mark_unplayable(track_id, reason)

    def track(self, track_id: int) -> Track:
        return self.catalog.track(track_id)

    def search_tracks(
        self,
        *,
        q: str | None = None,
        genre: str | None = None,
        artist: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Track]]:
        return self.catalog.search(q=q, genre=genre, artist=artist, limit=limit, offset=offset)

    # -- devices ---------------------------------------------------------------------------

    def register_device(
        self,
        config: Mapping[str, object],
        *,
        user_id: str | None = None,
        preferences: Mapping[str, object] | None = None,
        takeover: bool = False,
    ) -> StreamingParams:
        return self.parts.devices.register(
            config, user_id=user_id, preferences=preferences, takeover=takeover
        )

    def update_device(
        self, device_id: str, *, by: Principal | None = None, **changes: Any
    ) -> StreamingParams:
        return self.parts.devices.update(device_id, by=by, **changes)

    def device_params(self, device_id: str, *, by: Principal | None = None) -> StreamingParams:
        return self.parts.devices.params(device_id, by=by)

    def follow_device(
        self,
        device_id: str,
        push: Callable[[StreamingParams | None], None],
        *,
        by: Principal,
    ) -> Callable[[], None]:
        """A running stream's feed of its device's parameters (see ``Devices.follow``)."""
        return self.parts.devices.follow(device_id, push, by=by)

    # -- status ------------------------------------------------------------------------

    def statistics(self) -> dict[str, Any]:
        """Status and numbers for operators (GET /api/v1/station)."""
        store, ledger = self.parts.store, self.parts.ledger
        mounts = self.radio.all_mounts()
        index = self.index
        return {
            "status": "running" if self.is_running() else "stopped",
            "uptime": round(self.uptime, 3),
            "tracks": index.active_count,
            "playable_tracks": int((index.active & index.playable).sum()),
            "datasets": store.datasets.count(),
            "listeners": len(store.listeners.user_ids()),
            "listening": sum(m.listener_count() for m in mounts),
            "interactions": store.interactions.count(),
            "mounts": [
                {"name": m.name, "listeners": m.listener_count(), "encoders": len(m.encoders)}
                for m in mounts
            ],
            "ledger": {
                "enabled": self.settings.enable_blockchain,
                "height": ledger.height,
                "valid": ledger.valid,
                "pending": ledger.pending_count,
            },
        }

    def health(self) -> dict[str, Any]:
        """``ok``, or ``starting`` with the step the library is at (``StartUp``)."""
        step = self.start_up.view()
        answer: dict[str, Any] = {
            "status": "ok" if step is None else "starting",
            "running": self.is_running(),
            "tracks": self.index.active_count,
        }
        if step is not None:
            answer["starting"] = {"step": step.step, "done": step.done, "total": step.total}
        return answer

    def system_version(self) -> dict[str, Any]:
        """What a peer asks first (``GET /api/system.version``): that this node is alive,
        who it is (its NodeID, the blake3 of its public key) and which record schema it
        speaks."""
        node = self.parts.node
        return {
            "status": "ok" if self.is_running() else "stopped",
            "node_id": node.node_id,
            "public_key": node.public_key.hex(),
            "software_version": qfzz.__version__,
            "schema_version": SCHEMA_VERSION,
        }

    def mounts_made(self) -> list[str] | None:
        """The shared mounts this process makes for the whole station (None: a station of
        one process, which makes its own)."""
        on_air = self.parts.on_air
        return None if on_air is None else on_air.making()

    def relay_counts(self) -> tuple[int, int] | None:
        """Changes the station's other processes told this one, and catch-ups from the
        store (None when nothing shares this station: the embedded cache)."""
        relay = self.parts.relay
        return None if relay is None else (relay.received, relay.catch_ups)

    def cache_stats(self) -> dict[str, Any]:
        """Hits, misses, errors, latency and circuit state per cache."""
        return self.parts.cache.stats()

    def clear_cache(self, namespace: str) -> int:
        """Delete one cache namespace; returns how many keys went."""
        return self.parts.caches.clear(namespace)

    @property
    def cache(self) -> Cache:
        """The cache (for its metrics collector)."""
        return self.parts.cache

    # -- trust ---------------------------------------------------------------------------

    def trust(self, content_id: str, creator_id: str) -> TrustRecord:
        """The trust record of a content item (neutral when nobody voted yet)."""
        found = self.parts.ledger.record(content_id, creator_id)
        if found is None:
            return TrustRecord(trust_key(content_id, creator_id), 0, 0, 0.5, 0.0, 0.0)
        return found

    def ledger_summary(self) -> LedgerSummary:
        ledger = self.parts.ledger
        return LedgerSummary(
            ledger.height,
            ledger.pending_count,
            ledger.valid,
            ledger.mining_seconds,
            ledger.blocks_mined,
        )

    def ledger_blocks(self, *, start: int = 0, limit: int | None = None) -> list[Block]:
        return self.parts.ledger.blocks(start=start, limit=limit)

    def ledger_events(self) -> list[LedgerEvent]:
        return self.parts.ledger.events()

    @property
    def ledger_public_key(self) -> str:
        return self.parts.ledger.public_key

    def mine_pending(self) -> list[Block]:
        """Seal every pending change into blocks now."""
        return self.parts.ledger.mine_all()

    def verify_ledger(self) -> ChainStatus:
        """Check the stored chain and the interactions it covers (a full read of both;
        concurrent callers share one check, reused while nothing changed)."""
        return self.parts.ledger.verify()

    def ledger_verification(self) -> Future[Audit]:
        """``verify_ledger`` for async handlers: await it instead of holding a thread."""
        return self.parts.ledger.verification()

    def repair_ledger(self) -> RepairReport:
        return self.parts.ledger.repair_chain()

    # -- listeners ---------------------------------------------------------------------

    def register_listener(
        self,
        user_id: str,
        preferences: Mapping[str, Any] | ListenerPreferences | None = None,
        *,
        password: str | None = None,
    ) -> Registration:
        """Create a listener; returns its stored id and a bearer token."""
        return self.parts.registrar.register(user_id, preferences, password=password)

    def listener(self, user_id: str) -> ListenerRecord | None:
        """The stored listener (role, preferences), or None."""
        return self.parts.store.listeners.get(user_id)

    def profile(self, user_id: str) -> ListenerProfile:
        """The listener's live profile (loaded from the store on first use)."""
        return self.parts.profiles.get(user_id)

    def rebuild_profile(self, user_id: str, *, save: bool = True) -> ListenerProfile:
        """Recompute a profile from its stated preferences and every stored interaction."""
        return self.parts.profiles.rebuild(user_id, save=save)

    def snapshot_profiles(self) -> None:
        self.parts.profiles.snapshot_all()

    def blended_weights(self) -> dict[str, dict[str, float]]:
        return self.parts.profiles.blended_weights()

    # -- playlist flow -----------------------------------------------------------------

    def cached_playlist(self, user_id: str, size: int | None = None) -> Playlist | None:
        return self.parts.playlists.cached(user_id, size)

    def playlist(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        return self.parts.playlists.current(user_id, size, include_unplayable=include_unplayable)

    def generate_playlist(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        return self.parts.playlists.generate(user_id, size, include_unplayable=include_unplayable)

    def playlist_capped_at(self, size: int | None) -> int | None:
        return self.parts.playlists.capped_at(size)

    def current_playlist(self, user_id: str) -> StoredPlaylist | None:
        return self.parts.playlists.stored(user_id)

    # -- feedback flow -----------------------------------------------------------------

    def record_interaction(
        self,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Interaction:
        """Validate, store durably, learn. Returns once the interaction is committed."""
        return self.parts.feedback.record([(user_id, track_id, type, rating)])[0]

    def record_interactions(
        self, batch: Sequence[tuple[str, int, str | InteractionType, float | None]]
    ) -> list[Interaction]:
        """Validate all, then learn and store each; returns once all are committed."""
        return self.parts.feedback.record(batch)

    async def arecord_interaction(
        self,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Interaction:
        """``record_interaction`` for async handlers (awaits the group commit)."""
        return (await self.parts.feedback.arecord([(user_id, track_id, type, rating)]))[0]

    async def arecord_interaction_once(
        self,
        key: IdempotencyKey,
        user_id: str,
        track_id: int,
        type: str | InteractionType,
        rating: float | None = None,
    ) -> Once[Interaction]:
        """``arecord_interaction`` once per idempotency key."""
        return await self.parts.feedback.arecord_once(key, user_id, track_id, type, rating)

    # -- creators' uploads ----------------------------------------------------------------

    def content_view(self, content_id: str, viewer: Principal | None) -> ContentView:
        """What ``viewer`` (None: anonymous) may see and do with an uploaded content."""
        return self.parts.contents.view(content_id, viewer)

    def my_contents(self, owner: Principal, limit: int) -> list[ContentView]:
        """The listener's own uploads, newest first, as the owner sees them."""
        return self.parts.contents.of_owner(owner, limit)

    def upload_finished(self, upload: Upload, data: Path) -> None:
        """The upload store's finish handler: the content, made once, and its conversion."""
        self.parts.uploads.finished(upload, data)

    def upload_content(self, upload_id: str) -> UploadedContent | None:
        """The content a finished upload became (None while it has not)."""
        return self.parts.store.contents.by_upload(upload_id)

    def content_file(self, file_hash: str) -> tuple[Path, str] | None:
        """A stored file of an upload by its hash (path, media type), or None."""
        return self.parts.contents.file(file_hash)

    def content_original(self, content_id: str, viewer: Principal | None) -> tuple[SealedFile, str]:
        """An upload's original, opened to be decrypted as read, for a viewer with a licence."""
        return self.parts.contents.original(content_id, viewer)

    def grant_license(self, content_id: str, user_id: str, by: Principal) -> bool:
        """The owner or an admin licenses a listener; False if they held one already."""
        return self.parts.contents.grant(content_id, user_id, by)

    # -- listeners' collections: shares and credentials ---------------------------------

    def create_share(
        self,
        user_id: str,
        *,
        songs: Sequence[int] = (),
        albums: Sequence[str] = (),
        playlists: Sequence[int] = (),
        description: str | None = None,
        expires_at: float | None = None,
    ) -> Share:
        """A public link to songs, albums and the listener's (or public) playlists, fixed
        to their playable songs now; an unknown id fails the whole share (nothing stored)."""
        tracks: list[Track] = []
        for track_id in songs:
            tracks.append(self.catalog.track(track_id))  # UnknownTrack
        for key in albums:
            tracks.extend(self.library.album_tracks(key)[1])  # UnknownItem
        for number in playlists:
            playlist = self.collections.playlist(user_id, number)  # UnknownItem
            tracks.extend(self.collections.tracks(playlist.track_ids))
            if len(tracks) > MAX_SHARE_TRACKS:
                break
        return self.collections.shares.create(
            user_id,
            [t for t in tracks if t.playable],
            description=description,
            expires_at=expires_at,
        )

    def share_tracks(self, share: Share) -> list[Track]:
        """The playable songs of a share, in its order."""
        return self.collections.tracks(share.track_ids)

    def is_login_password(self, user_id: str, password: str) -> bool:
        """Whether ``password`` is the listener's *login* password (one argon2 check).

        For telling someone who typed their login password into a Subsonic app that the
        app needs the app password; callers limit how often they ask (it costs a hash).
        """
        try:
            found = self.parts.store.listeners.credentials(validate_user_id(user_id))
        except InvalidInput:
            return False
        return found is not None and verify_password(found[1], password)
