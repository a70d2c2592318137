"""Persistence: the only package that knows SQL.

Domain services receive these repositories as constructor arguments; ``Store`` bundles
them for the wiring in ``qfzz.app``.
"""

from __future__ import annotations

from dataclasses import dataclass

from qfzz.store._columns import CodedStrings
from qfzz.store._database import Database
from qfzz.store._feature_columns import FeatureColumns, as_arrays, from_arrays
from qfzz.store.bookmarks import BookmarkRepository
from qfzz.store.collections import CollectionRepository
from qfzz.store.contents import ContentRepository
from qfzz.store.datasets import DatasetRecord, DatasetRepository
from qfzz.store.devices import DeviceRecord, DeviceRepository
from qfzz.store.idempotency import IdempotencyRepository, KeyTaken, StoredAnswer
from qfzz.store.interactions import CommitListener, InteractionRepository, answered_interaction
from qfzz.store.jobs import JobRecord, JobRepository
from qfzz.store.leases import Lease, LeaseRepository
from qfzz.store.ledger import LedgerRepository
from qfzz.store.library import AlbumSort, LibraryRepository
from qfzz.store.listeners import ListenerRecord, ListenerRepository, StoredPlaylist
from qfzz.store.resolver_stats import RESOLVER_STATS_FILE, ResolverStatsRepository
from qfzz.store.shares import ShareRepository
from qfzz.store.taste_models import TasteModelRepository
from qfzz.store.tracks import FileState, TrackRepository

__all__ = [
    "RESOLVER_STATS_FILE",
    "AlbumSort",
    "BookmarkRepository",
    "CodedStrings",
    "CollectionRepository",
    "CommitListener",
    "ContentRepository",
    "Database",
    "DatasetRecord",
    "DatasetRepository",
    "DeviceRecord",
    "DeviceRepository",
    "FeatureColumns",
    "FileState",
    "IdempotencyRepository",
    "InteractionRepository",
    "JobRecord",
    "JobRepository",
    "KeyTaken",
    "Lease",
    "LeaseRepository",
    "LedgerRepository",
    "LibraryRepository",
    "ListenerRecord",
    "ListenerRepository",
    "ResolverStatsRepository",
    "ShareRepository",
    "Store",
    "StoredAnswer",
    "StoredPlaylist",
    "TasteModelRepository",
    "TrackRepository",
    "answered_interaction",
    "as_arrays",
    "from_arrays",
    "open_store",
]


@dataclass(frozen=True, slots=True)
class Store:
    db: Database
    tracks: TrackRepository
    listeners: ListenerRepository
    interactions: InteractionRepository
    datasets: DatasetRepository
    ledger: LedgerRepository
    devices: DeviceRepository
    jobs: JobRepository
    library: LibraryRepository
    collections: CollectionRepository
    idempotency: IdempotencyRepository
    bookmarks: BookmarkRepository
    shares: ShareRepository
    contents: ContentRepository
    leases: LeaseRepository
    taste_models: TasteModelRepository

    def close(self) -> None:
        self.interactions.stop()
        self.db.dispose()


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open the database at ``url``, migrating its schema to the newest revision."""
    db = Database(url)
    if upgrade:
        db.upgrade()
    tracks = TrackRepository(db)
    keys = IdempotencyRepository(db)
    return Store(
        db=db,
        tracks=tracks,
        listeners=ListenerRepository(db),
        interactions=InteractionRepository(db, keys),
        datasets=DatasetRepository(db, tracks, keys),
        ledger=LedgerRepository(db),
        devices=DeviceRepository(db),
        jobs=JobRepository(db, keys),
        library=LibraryRepository(db),
        collections=CollectionRepository(db),
        idempotency=keys,
        bookmarks=BookmarkRepository(db),
        shares=ShareRepository(db),
        contents=ContentRepository(db),
        leases=LeaseRepository(db),
        taste_models=TasteModelRepository(db),
    )
