"""The station's catalog: the store's tracks, the DJ's index of them, and their caches.

One owner keeps the three in step: every change (scan, dataset import, a file that failed
to play) is written to the store, then the index snapshot is replaced through the
``CatalogView`` and the track and search caches are invalidated, then ``tracks_changed``
is announced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from qfzz.audio import analyse
from qfzz.cache import SearchCache, TrackCache
from qfzz.catalog.importer import DatasetImporter
from qfzz.catalog.scanner import LibraryScanner, ScanProgress, ScanReport
from qfzz.catalog.timed_reads import TimedReads
from qfzz.dj import CatalogIndex, CatalogView, TrackFeatures
from qfzz.errors import InvalidInput, UnknownTrack
from qfzz.models import IdempotencyKey, QualityReport, Track
from qfzz.settings import Settings
from qfzz.station import _index_columns as index_columns
from qfzz.station._events import Events, TracksChanged
from qfzz.station._idempotency import Idempotency, Once
from qfzz.store import DatasetRecord, DatasetRepository, Store, StoredAnswer

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]

MAX_SEARCH_PAGE = 500
#: Seconds between index edits while a long scan goes on (its tracks playable as it goes).
REINDEX_EVERY = 2.0


@dataclass(frozen=True, slots=True)
class DatasetImport:
    dataset: DatasetRecord
    track_ids: list[int]
    report: QualityReport


class Catalog:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        view: CatalogView,
        *,
        tracks: TrackCache,
        searches: SearchCache[tuple[int, list[Track]]],
        events: Events,
        idempotency: Idempotency,
        clock: Callable[[], float],
        file_reads: TimedReads,
    ) -> None:
        self._settings = settings
        self._store = store
        self.view = view
        self._tracks = tracks
        self._searches = searches
        self._events = events
        self._idempotency = idempotency
        self._clock = clock
        #: Gives every read of a library file (scans, cover art) a deadline.
        self.file_reads = file_reads
        #: Writes the index's columns for the next start after ``load`` read them.
        self._keeping: threading.Thread | None = None
        #: ``store.tracks.columns_version()`` as it was before the last full load: the
        #: index holds at least that state (``catch_up`` reloads when the store moved on).
        self._loaded_version: tuple[int, int] | None = None

    @property
    def index(self) -> CatalogIndex:
        """The current index snapshot (take it once per read)."""
        return self.view.current

    def load(self) -> None:
        """Index every stored track (start-up): columns straight from the store into the
        index, no object per track."""
        self._loaded_version = self._store.tracks.columns_version()
        self._keep_writing()  # a file being written from an earlier load goes first
        loaded = index_columns.load(self._store, self._settings.data_dir)
        columns = loaded.columns
        if loaded.keep is not None:
            self._keeping = threading.Thread(target=loaded.keep, name="index-columns")
            self._keeping.start()
        plays = _aligned_plays(columns.track_id, self._store.interactions.play_counts())
        self.view.change(  # a whole new index: whatever the old one held is replaced
            lambda _old: CatalogIndex().extended_columns(
                columns.track_id,
                columns.artist,
                columns.genre,
                columns.mood,
                columns.energy,
                columns.tempo,
                columns.playable,
                plays,
            )
        )

    def catch_up(self) -> bool:
        """Index the store's tracks again if they changed since the last full load — for a
        process that may have missed another's ``tracks_changed`` (its event channel was
        down). Whether it reloaded."""
        if self._store.tracks.columns_version() == self._loaded_version:
            return False
        self._tracks.clear()
        self._searches.clear()
        self.load()
        return True

    def everything_changed(self) -> None:
        """Any track may have changed without being told (a scan done again after its first
        worker died midway): index the store again if it moved, and tell the station's
        other processes to do the same."""
        self.catch_up()
        self._events.emit("tracks_changed", TracksChanged((), (), everything=True))

    def close(self) -> None:
        """Let the columns being kept for the next start be written (a fraction of a
        second; a file cut short by a kill is never used)."""
        self._keep_writing()

    def _keep_writing(self) -> None:
        if self._keeping is not None:
            self._keeping.join()
            self._keeping = None

    def reindex(
        self, changed_ids: Sequence[int], removed_ids: Sequence[int], *, elsewhere: bool = False
    ) -> None:
        """Bring the index and caches up to date with tracks the store already changed
        (``elsewhere``: by another process of the station, which told the others and has
        invalidated the shared caches already, every process's L1 with them)."""
        if not elsewhere:
            self._tracks.invalidate([*changed_ids, *removed_ids])
            self._searches.clear()
        tracks = self._store.tracks.get_many(list(changed_ids))
        plays = self._store.interactions.play_counts(list(tracks)) if tracks else {}
        ordered = [tracks[i] for i in changed_ids if i in tracks]

        def edit(index: CatalogIndex) -> CatalogIndex:
            return index.extended(
                [t.track_id for t in ordered],
                [t.meta.artist for t in ordered],
                [t.meta.genre for t in ordered],
                [t.meta.mood for t in ordered],
                [t.meta.energy for t in ordered],
                [t.meta.tempo for t in ordered],
                [t.playable for t in ordered],
                [plays.get(t.track_id, 0) for t in ordered],
                removed=removed_ids,
            )

        self.view.change(edit)
        self._events.emit(
            "tracks_changed",
            TracksChanged(tuple(changed_ids), tuple(removed_ids), elsewhere=elsewhere),
        )

    def scan(self, root: Path, on_progress: ScanProgress | None = None) -> ScanReport:
        scanner = LibraryScanner(
            self._store.tracks,
            clock=self._clock,
            reads=self.file_reads,
            analyse=analyse if self._settings.analyse_audio else None,
        )
        indexed, last = 0, self._clock()

        def stored(report: ScanReport) -> None:
            """A long scan's tracks become playable as it goes, not at its end: the
            batches stored are indexed every ``REINDEX_EVERY`` seconds (an index edit
            copies the index, so not after every batch of a million-file scan)."""
            nonlocal indexed, last
            if self._clock() - last >= REINDEX_EVERY:
                self.reindex(report.changed_ids[indexed:], [])
                indexed, last = len(report.changed_ids), self._clock()

        # One scan at a time in the whole station: processes starting together (hosts behind
        # a load balancer) would otherwise insert the same files at once.
        with self._store.db.exclusive("library scan"):
            report = scanner.scan(root, on_progress, stored)
        self.reindex(report.changed_ids[indexed:], report.removed_ids)
        return report

    def import_dataset(
        self,
        name: str,
        records: Sequence[Mapping[str, object]],
        license_id: str,
        *,
        min_quality: float | None = None,
        key: IdempotencyKey | None = None,
    ) -> DatasetImport:
        datasets = self._store.datasets if key is None else self._store.datasets.keyed(key)
        importer = DatasetImporter(
            datasets, allowed_licenses=self._settings.allowed_licenses, clock=self._clock
        )
        quality = self._settings.min_quality if min_quality is None else min_quality
        dataset, ids, report = importer.import_records(
            name, records, license_id, min_quality=quality
        )
        self.reindex(ids, [])
        return DatasetImport(dataset, ids, report)

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
        return self._idempotency.run(
            key,
            lambda: self.import_dataset(
                name, records, license_id, min_quality=min_quality, key=key
            ),
            _answered_import,
        )

    def mark_unplayable(self, track_id: int, reason: str) -> None:
        """A file that failed to decode stays in the catalog but goes off air."""
        log.warning("track %d taken off air: %s", track_id, reason)
        self._store.tracks.set_playable(track_id, False)
        self._tracks.invalidate([track_id])
        self._searches.clear()
        self.view.change(lambda index: index.with_playable(index.row_of(track_id), False))
        self._events.emit("tracks_changed", TracksChanged((track_id,), ()))

    def track(self, track_id: int) -> Track:
        found = self._tracks.get(track_id, self._store.tracks.get)
        if found is None:
            raise UnknownTrack(f"no track with id {track_id}")
        return found

    def tracks(self, track_ids: Sequence[int]) -> dict[int, Track]:
        """The tracks that exist among ``track_ids`` (through the track cache)."""
        return self._tracks.get_many(list(track_ids), self._store.tracks.get_many)

    def search(
        self,
        *,
        q: str | None = None,
        genre: str | None = None,
        artist: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Track]]:
        if not 1 <= limit <= MAX_SEARCH_PAGE or offset < 0:
            raise InvalidInput(f"limit must be in 1..{MAX_SEARCH_PAGE} and offset ≥ 0")
        return self._searches.get(
            q,
            {"genre": genre, "artist": artist},
            (limit, offset),
            lambda: self._store.tracks.search(
                q=q, genre=genre, artist=artist, limit=limit, offset=offset
            ),
        )

    def features_of(self, track_ids: Sequence[int]) -> list[TrackFeatures | None]:
        """Features of each track: from the index when live, from the store when it was
        removed since (replaying old interactions), ``None`` when it never existed."""
        index = self.index
        rows = index.rows_of(track_ids)
        missing = sorted({t for t, row in zip(track_ids, rows, strict=True) if row < 0})
        outside = self._store.tracks.get_many(missing) if missing else {}
        return [
            index.features(int(row))
            if row >= 0
            else (_features_of(outside[t]) if t in outside else None)
            for t, row in zip(track_ids, rows, strict=True)
        ]


def _aligned_plays(track_ids: npt.NDArray[np.int64], plays: dict[int, int]) -> F32:
    """Play counts beside ``track_ids`` (ascending), 0 for tracks never played."""
    counts = np.zeros(track_ids.shape[0], dtype=np.float32)
    if not plays or not track_ids.shape[0]:
        return counts
    played = np.fromiter(plays.keys(), np.int64, len(plays))
    at = np.minimum(np.searchsorted(track_ids, played), track_ids.shape[0] - 1)
    indexed = track_ids[at] == played  # plays of removed tracks have no row
    counts[at[indexed]] = np.fromiter(plays.values(), np.float32, len(plays))[indexed]
    return counts


def _answered_import(record: StoredAnswer) -> DatasetImport:
    """The import a stored answer describes (its quality report is kept on the dataset)."""
    dataset, ids = DatasetRepository.answered(record)
    report = QualityReport(
        dataset.quality_score, dataset.components, dataset.license_id, dataset.track_count
    )
    return DatasetImport(dataset, ids, report)


def _features_of(track: Track) -> TrackFeatures:
    """Features of a track outside the index (e.g. removed since), for rebuilding."""
    meta = track.meta
    index = CatalogIndex().extended(
        [track.track_id],
        [meta.artist],
        [meta.genre],
        [meta.mood],
        [meta.energy],
        [meta.tempo],
        [track.playable],
    )
    return index.features(0)
