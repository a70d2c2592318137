"""The station: the facade every frontend talks to, and the parts it is made of.

``qfzz.app.build_station`` assembles the parts; frontends use ``QFZZStation``.
"""

from qfzz.models import MAX_RESOLVE
from qfzz.station._accounts import token_digest, verify_password
from qfzz.station._auth import ADMIN, Accounts, Principal, load_secret_key
from qfzz.station._catalog import Catalog, DatasetImport
from qfzz.station._collections import Collections, NowPlaying, PlaybackState
from qfzz.station._contents import Contents, ContentView, ViewOption
from qfzz.station._devices import Devices
from qfzz.station._events import (
    DeviceChanged,
    EventName,
    Events,
    InteractionRecorded,
    PlaylistGenerated,
    TracksChanged,
    Unsubscribe,
)
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._idempotency import Idempotency, Once, parse_key, request_key
from qfzz.station._jobs import CATALOG_QUEUE, CatalogJobs
from qfzz.station._known_loudness import StoredLoudness
from qfzz.station._library import AlbumOrder, Annotations, Library
from qfzz.station._on_air import OnAir
from qfzz.station._parts import RateLimits, StationParts
from qfzz.station._playlists import Playlists
from qfzz.station._profiles import SNAPSHOT_EVERY, ProfileBook
from qfzz.station._radio import Radio, RadioParts, queued
from qfzz.station._ratelimit import SlidingWindow
from qfzz.station._registration import Registrar, Registration
from qfzz.station._relay import EventRelay
from qfzz.station._resolving import ResolveReport, Resolving, local_source
from qfzz.station._running import RunState
from qfzz.station._shares import MAX_SHARE_TRACKS, ShareExpired, Shares
from qfzz.station._start_up import StartUp, StartUpCancelled, StartUpStep
from qfzz.station._station import LedgerSummary, QFZZStation
from qfzz.station._taste_model import TasteModelTrainer
from qfzz.station._uploads import CONVERT_QUEUE, Uploads

__all__ = [
    "ADMIN",
    "CATALOG_QUEUE",
    "CONVERT_QUEUE",
    "MAX_RESOLVE",
    "MAX_SHARE_TRACKS",
    "SNAPSHOT_EVERY",
    "Accounts",
    "AlbumOrder",
    "Annotations",
    "Catalog",
    "CatalogJobs",
    "Collections",
    "ContentView",
    "Contents",
    "DatasetImport",
    "DeviceChanged",
    "Devices",
    "EventName",
    "EventRelay",
    "Events",
    "FeedbackFlow",
    "Idempotency",
    "InteractionRecorded",
    "LedgerSummary",
    "Library",
    "NowPlaying",
    "OnAir",
    "Once",
    "PlaybackState",
    "PlaylistGenerated",
    "Playlists",
    "Principal",
    "ProfileBook",
    "QFZZStation",
    "Radio",
    "RadioParts",
    "RateLimits",
    "Registrar",
    "Registration",
    "ResolveReport",
    "Resolving",
    "RunState",
    "ShareExpired",
    "Shares",
    "SlidingWindow",
    "StartUp",
    "StartUpCancelled",
    "StartUpStep",
    "StationParts",
    "StoredLoudness",
    "TasteModelTrainer",
    "TracksChanged",
    "Unsubscribe",
    "Uploads",
    "ViewOption",
    "load_secret_key",
    "local_source",
    "parse_key",
    "queued",
    "request_key",
    "token_digest",
    "verify_password",
]
