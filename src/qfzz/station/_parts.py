"""The parts a station is made of, built by ``qfzz.app`` (the one composition root) and
handed to ``QFZZStation``; each part owns its own state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qfzz.cache import Cache, CacheServices
from qfzz.dj import PersonalizedDJ, TrustFilter
from qfzz.network import NodeIdentity
from qfzz.settings import Settings
from qfzz.station._auth import Accounts
from qfzz.station._catalog import Catalog
from qfzz.station._collections import Collections
from qfzz.station._contents import Contents
from qfzz.station._devices import Devices
from qfzz.station._events import Events
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._idempotency import Idempotency
from qfzz.station._jobs import CatalogJobs
from qfzz.station._library import Library
from qfzz.station._on_air import OnAir
from qfzz.station._playlists import Playlists
from qfzz.station._profiles import ProfileBook
from qfzz.station._radio import Radio
from qfzz.station._ratelimit import SlidingWindow
from qfzz.station._registration import Registrar
from qfzz.station._relay import EventRelay
from qfzz.station._resolving import Resolving
from qfzz.station._running import RunState
from qfzz.station._taste_model import TasteModelTrainer
from qfzz.station._uploads import Uploads
from qfzz.store import Store
from qfzz.trust import Miner, TrustLedger


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The station's sliding windows against guessing and flooding."""

    #: Sign-in attempts per address per minute.
    login: SlidingWindow
    #: Sign-ups per address per hour.
    register: SlidingWindow
    #: Password checks (logins, sign-ups) per second for the whole station: attempts
    #: spread over many addresses pass the per-address limits, not this one.
    password_budget: SlidingWindow
    #: Failed Subsonic sign-ins (apps sign every request, so only failures count).
    auth_failures: SlidingWindow


@dataclass(frozen=True, slots=True)
class StationParts:
    settings: Settings
    clock: Callable[[], float]
    #: This station as a node of the network: its Ed25519 key (``data_dir/node.key``).
    node: NodeIdentity
    store: Store
    cache: Cache
    caches: CacheServices
    ledger: TrustLedger
    miner: Miner
    trust_filter: TrustFilter | None
    events: Events
    run_state: RunState
    catalog: Catalog
    profiles: ProfileBook
    registrar: Registrar
    dj: PersonalizedDJ
    playlists: Playlists
    feedback: FeedbackFlow
    idempotency: Idempotency
    accounts: Accounts
    devices: Devices
    radio: Radio
    library: Library
    collections: Collections
    jobs: CatalogJobs
    #: Creators' uploads: their views and licences.
    contents: Contents
    #: Finished uploads into content, and their conversion.
    uploads: Uploads
    #: Audio for dataset tracks that have none (qfzz.resolver, run by jobs or the CLI).
    resolving: Resolving
    #: Refits the DJ's collaborative model in the background.
    taste_model: TasteModelTrainer
    limits: RateLimits
    #: Tells this station's other processes what changed here, and applies what they
    #: tell (None: nothing shares the station: the embedded cache).
    relay: EventRelay | None = None
    #: Keeps the shared mounts' leases and makes the mounts held (None: one process makes
    #: its own mounts: the embedded cache).
    on_air: OnAir | None = None
