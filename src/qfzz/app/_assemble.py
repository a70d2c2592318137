"""The composition root: the only place that turns ``Settings`` into parts.

``build_station`` opens the store, cache, trust ledger and miner, builds the DJ over one
catalog view, the broadcaster (radio) and the job queue, and hands each part what it needs
by constructor. ``qfzz serve``, every CLI command and ``qfzz.testing`` build through it, so
what tests run is what operators run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from qfzz.app._resolver import build_resolving
from qfzz.audio import Codec
from qfzz.cache import (
    CacheServices,
    PacketLog,
    Presence,
    SharedMap,
    event_channel,
    open_cache,
    server_link,
)
from qfzz.catalog.timed_reads import TimedReads
from qfzz.dj import CatalogView, Collaborative, PersonalizedDJ
from qfzz.edge import DeviceRegistry
from qfzz.ingest import Converter, ConvertJobs, ConvertLimits
from qfzz.jobs import open_queue
from qfzz.models import InteractionType
from qfzz.network import NodeIdentity
from qfzz.overlay import Overlay, OverlayConfig, PeersSource
from qfzz.serving import operator_digest
from qfzz.settings import Settings
from qfzz.station import (
    CATALOG_QUEUE,
    CONVERT_QUEUE,
    Accounts,
    Catalog,
    CatalogJobs,
    Collections,
    Contents,
    Devices,
    EventRelay,
    Events,
    FeedbackFlow,
    Idempotency,
    InteractionRecorded,
    Library,
    OnAir,
    Playlists,
    ProfileBook,
    QFZZStation,
    Radio,
    RadioParts,
    RateLimits,
    Registrar,
    RunState,
    SlidingWindow,
    StationParts,
    StoredLoudness,
    TasteModelTrainer,
    Uploads,
    load_secret_key,
    queued,
)
from qfzz.store import Store, open_store
from qfzz.trust import LedgerKey, Miner, TrustLedger


def build_station(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> QFZZStation:
    """A station on ``settings`` (not started): every part built and wired once."""
    settings = settings or Settings()
    store = store or open_store(settings.resolved_database_url)
    cache = open_cache(
        settings.cache_url,
        clock=clock,
        prefix=settings.cache_prefix,
        max_entries=settings.cache_max_entries,
        l1_entries=settings.cache_l1_entries,
        l1_ttl=settings.cache_l1_ttl,
        timeout=settings.cache_timeout,
    )
    caches = CacheServices.build(cache)
    secret_key = load_secret_key(settings.data_dir, settings.secret_key)
    node = NodeIdentity.load_or_create(settings.data_dir)
    ledger = TrustLedger(
        store.ledger,
        store.interactions,
        store.tracks.trust_identities,
        key=LedgerKey.from_secret(secret_key),
        clock=clock,
        difficulty=settings.difficulty,
        mine_every_records=settings.mine_every_records,
        mine_every_seconds=settings.mine_every_seconds,
    )
    events = Events()
    run_state = RunState(clock)
    idempotency = Idempotency(store.idempotency, clock)
    view = CatalogView()
    collaborative = Collaborative(artist_weight=settings.taste_artist_weight)
    dj = PersonalizedDJ(view, seed=settings.seed, collaborative=collaborative)
    catalog = Catalog(
        settings,
        store,
        view,
        tracks=caches.tracks,
        searches=caches.search,
        events=events,
        idempotency=idempotency,
        clock=clock,
        file_reads=TimedReads(),
    )
    #: Other processes may serve this station: they share the cache's server.
    channel = event_channel(cache, "station")
    profiles = ProfileBook(
        store, catalog, recent_window=settings.recent_plays_window, shared=channel is not None
    )
    trust_filter = None
    if settings.enable_blockchain:
        store.interactions.listen_commits(ledger.apply_committed)
        trust_filter = ledger.trust_filter(settings.trust_threshold, settings.trust_min_voters)
    playlists = Playlists(
        dj=dj,
        profiles=profiles,
        catalog=catalog,
        listeners=store.listeners,
        cache=caches.playlists,
        trust_filter=trust_filter,
        max_size=settings.max_playlist_size,
        run_state=run_state,
        events=events,
        clock=clock,
        familiarity=settings.familiarity,
    )
    feedback = FeedbackFlow(
        profiles=profiles,
        catalog=catalog,
        interactions=store.interactions,
        idempotency=idempotency,
        run_state=run_state,
        events=events,
        clock=clock,
    )
    uploaded_music = settings.data_dir / "uploaded-music"  # uploaded songs, as catalog files

    def mount_log(name: str, codec: Codec, bitrate_kbps: int) -> PacketLog:
        # the mount's last stream_buffer_seconds (and its burst ahead) at ~40 packets/s
        seconds = settings.stream_buffer_seconds + settings.burst_seconds + 2
        return PacketLog(cache, f"mount:{name}:{codec}:{bitrate_kbps}", maxlen=int(seconds * 40))

    radio = Radio(
        RadioParts(
            settings=settings,
            clock=clock,
            catalog=catalog,
            dj=dj,
            profiles=profiles,
            playlists=playlists,
            feedback=feedback,
            trust_filter=trust_filter,
            known_loudness=StoredLoudness(
                store.contents, music_dir=uploaded_music, data_dir=settings.data_dir
            ),
            relayed=None if channel is None else mount_log,
        )
    )
    on_air = (
        None
        if channel is None
        else OnAir(
            radio,
            store.leases,
            log_of=mount_log,
            wants=Presence(cache, "mount-wants"),
            track_of=lambda track_id: queued(track_id, catalog),
            clock=clock,
        )
    )

    def taste_changed(event: InteractionRecorded) -> None:
        if event.interaction.type in (InteractionType.SKIP, InteractionType.DISLIKE):
            radio.taste_changed(event.interaction.user_id)

    events.listen("interaction_recorded", taste_changed)  # a radio that reacts
    relay = (
        None
        if channel is None
        else EventRelay(
            channel,
            events,
            interactions=store.interactions,
            profiles=profiles,
            catalog=catalog,
            taste_changed=radio.taste_changed,
            votes=ledger.apply_committed if settings.enable_blockchain else None,
        )
    )
    library = Library(
        settings,
        store,
        catalog=catalog,
        profiles=profiles,
        dj=dj,
        playlists=playlists,
        feedback=feedback,
        clock=clock,
    )
    collections = Collections(
        store,
        catalog=catalog,
        playlists=playlists,
        feedback=feedback,
        clock=clock,
        shared_now=None if channel is None else SharedMap(cache, "now-playing"),
    )
    resolving = build_resolving(settings, store, catalog, clock)
    jobs = CatalogJobs(
        open_queue(
            CATALOG_QUEUE,
            store=store.jobs,
            clock=clock,
            codec=cache.codec,
            server=server_link(cache, "jobs"),
            visibility=settings.job_handout_seconds,
            max_attempts=3,
        ),
        caches.job_progress,
        catalog,
        idempotency,
        resolving,
        clock=clock,
        keep_every=settings.job_handout_seconds / 3,
    )
    accounts = Accounts(
        store.listeners,
        secret_key=secret_key,
        clock=clock,
        token_ttl=settings.token_ttl_seconds,
        stream_token_ttl=settings.stream_token_ttl_seconds,
        sessions=caches.sessions,
        operator_digest=operator_digest(settings.data_dir),
    )
    limits = RateLimits(
        login=SlidingWindow(settings.login_attempts_per_minute, 60.0, clock),
        register=SlidingWindow(settings.registrations_per_hour, 3600.0, clock),
        password_budget=SlidingWindow(settings.password_checks_per_second, 1.0, clock),
        auth_failures=SlidingWindow(settings.login_attempts_per_minute, 60.0, clock),
    )
    devices = Devices(DeviceRegistry(clock), store.devices, events, require_listener=profiles.get)
    return QFZZStation(
        StationParts(
            settings=settings,
            clock=clock,
            node=node,
            store=store,
            cache=cache,
            caches=caches,
            ledger=ledger,
            miner=Miner(ledger),
            trust_filter=trust_filter,
            events=events,
            run_state=run_state,
            catalog=catalog,
            profiles=profiles,
            registrar=Registrar(
                store.listeners,
                profiles,
                default_discovery=settings.discovery_factor,
                token_ttl=settings.token_ttl_seconds,
                clock=clock,
            ),
            dj=dj,
            playlists=playlists,
            feedback=feedback,
            idempotency=idempotency,
            accounts=accounts,
            devices=devices,
            radio=radio,
            library=library,
            collections=collections,
            jobs=jobs,
            contents=Contents(store, data_dir=settings.data_dir, clock=clock),
            uploads=Uploads(
                store,
                lambda record: ConvertJobs(
                    open_queue(
                        CONVERT_QUEUE,
                        store=store.jobs,
                        clock=clock,
                        codec=cache.codec,
                        server=server_link(cache, "jobs"),
                        visibility=settings.convert_timeout_seconds + 60,
                        max_attempts=3,
                    ),
                    Converter(
                        settings.data_dir / "derivatives", ConvertLimits.from_settings(settings)
                    ),
                    settings.data_dir / "convert-inbox",
                    record,
                ),
                settings.data_dir / "content",
                catalog=catalog,
                music_dir=uploaded_music,
                clock=clock,
            ),
            resolving=resolving,
            taste_model=TasteModelTrainer(
                store,
                collaborative,
                view,
                interval=settings.taste_model_interval_seconds,
                min_interactions=settings.taste_model_min_interactions,
                shared=None if channel is None else store.taste_models,
                clock=clock,
            ),
            limits=limits,
            relay=relay,
            on_air=on_air,
        )
    )


def build_overlay(station: QFZZStation) -> Overlay:
    """The station as a network node: its key, its settings, its data directory."""
    settings = station.settings
    if settings.public_host is None and settings.host in ("0.0.0.0", "::", ""):
        logging.getLogger("qfzz.overlay").warning(
            "peers cannot reach http://%s:%d: set QFZZ_PUBLIC_HOST to the URL they should use",
            settings.host,
            settings.port,
        )
    overlay = Overlay(station.parts.node, OverlayConfig.from_settings(settings), settings.data_dir)
    order = settings.download_sources
    if "peers" in order:  # the resolver's federation source exists with the overlay
        resolver = station.parts.resolving.resolver
        before = set(order[: order.index("peers")])
        position = sum(1 for name in resolver.configured if name in before)
        resolver.add_source(PeersSource(overlay), position)

    def played(event: InteractionRecorded) -> None:
        if event.interaction.type is InteractionType.PLAY:
            overlay.note_play(event.interaction.track_id, event.interaction.user_id)

    station.events.listen("interaction_recorded", played)  # stream, Subsonic and web plays
    return overlay
