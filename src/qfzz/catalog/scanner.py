"""Incremental library scan: new and changed files in, vanished files out.

A file is re-read only when its size or modification time changed, so re-scanning a large
library costs one ``stat`` per file. A file that cannot be read is reported and skipped;
one bad file never aborts a scan.

Only regular files are read. A FIFO, socket or device with an audio name (``x.mp3``) is
reported in ``ScanReport.skipped`` and never opened for reading (a FIFO would block the
scan for ever); it is opened without blocking and checked again on the descriptor, in
case it was swapped in after the ``stat``. Each file's reading (tags and content id, one
descriptor) runs under a deadline (:class:`~qfzz.catalog.timed_reads.TimedReads`): a file
that does not answer is reported as unreadable and the scan goes on.

A file whose tags lack energy or tempo has them measured from its audio
(:func:`qfzz.audio.analyse`), as a second job in the same worker pool under the same
deadline, so a file that decodes for ever cannot hang the scan either. Tags win: analysis
fills only what they lack. Only new and changed files are read, so only they are
analysed. A file whose audio cannot be analysed is still catalogued from its tags and is
reported once in ``ScanReport.errors``.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

import blake3

from qfzz.audio import Features, NotRegularFile, file_kind, open_regular
from qfzz.audio import analyse as analyse_audio
from qfzz.catalog.tags import SUPPORTED_EXTENSIONS, read_track
from qfzz.catalog.timed_reads import TimedReads
from qfzz.errors import CatalogError, UnreadableFile
from qfzz.models import ScannedFile

log = logging.getLogger(__name__)

#: Files written to the store per transaction.
BATCH = 200

ScanProgress = Callable[[int, int, str], None]
Analyse = Callable[[Path], Features]


class _FileState(Protocol):
    @property
    def size(self) -> int | None: ...
    @property
    def mtime(self) -> float | None: ...
    @property
    def removed(self) -> bool: ...


class ScanRepository(Protocol):
    def file_states(self) -> Mapping[str, _FileState]: ...
    def upsert_files(self, files: Sequence[ScannedFile], *, now: float) -> list[int]: ...
    def mark_removed(self, paths: Sequence[str]) -> list[int]: ...


@dataclass
class ScanReport:
    root: str
    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    #: Files that could not be read: ``(path, reason)`` (also a read past its deadline).
    #: A file whose tags were read but whose audio could not be analysed is catalogued
    #: without the missing features and listed here once, its reason saying so.
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: Special files with an audio name, never read: ``(path, "a FIFO")``…
    skipped: list[tuple[str, str]] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    removed_ids: list[int] = field(default_factory=list)


def content_id_of_file(path: Path) -> str:
    """blake3 of the file's bytes: the same audio file has the same id on every node."""
    with open_regular(path) as handle:
        return _content_id(handle)


def _content_id(handle: BinaryIO) -> str:
    hasher = blake3.blake3()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        hasher.update(chunk)
    return hasher.hexdigest()


def read_library_file(path: Path) -> ScannedFile:
    """A regular file's tags and content id, read through one descriptor."""
    with open_regular(path) as handle:
        opened = os.fstat(handle.fileno())
        meta = read_track(handle, path)
        handle.seek(0)
        return ScannedFile(str(path), opened.st_size, opened.st_mtime, meta, _content_id(handle))


def iter_audio_files(root: Path) -> Iterator[Path]:
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS:
                yield Path(folder) / name


class LibraryScanner:
    """Scans folders into ``tracks``. ``reads`` gives every file's reading its deadline
    (a private one per scanner when not given); ``read_file`` is what reads one file;
    ``analyse`` measures the features a file's tags lack (``None``: no audio analysis)."""

    def __init__(
        self,
        tracks: ScanRepository,
        *,
        clock: Callable[[], float],
        reads: TimedReads | None = None,
        read_file: Callable[[Path], ScannedFile] = read_library_file,
        analyse: Analyse | None = analyse_audio,
    ) -> None:
        self._tracks = tracks
        self._clock = clock
        self._reads = reads
        self._read_file = read_file
        self._analyse = analyse

    def scan(
        self,
        root: Path,
        on_progress: ScanProgress | None = None,
        on_stored: Callable[[ScanReport], None] | None = None,
    ) -> ScanReport:
        """Scan ``root``; ``on_progress(done, total, path)`` after each file,
        ``on_stored(report so far)`` after each batch is stored (its ids are at the end
        of ``report.changed_ids``)."""
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise CatalogError(f"not a folder: {root}")
        reads = self._reads or TimedReads()
        try:
            return self._scan(root, reads, on_progress, on_stored)
        finally:
            if reads is not self._reads:
                reads.close()

    def _scan(
        self,
        root: Path,
        reads: TimedReads,
        on_progress: ScanProgress | None,
        on_stored: Callable[[ScanReport], None] | None,
    ) -> ScanReport:
        report = ScanReport(root=str(root))
        known = self._tracks.file_states()
        on_disk = list(iter_audio_files(root))
        total = len(on_disk)
        pending: list[ScannedFile] = []
        new_paths: set[str] = set()
        special: set[str] = set()
        for done, path in enumerate(on_disk, start=1):
            key = str(path)
            report.seen += 1
            try:
                found = path.stat()  # never blocks, whatever the file is
                if not stat.S_ISREG(found.st_mode):
                    raise NotRegularFile(path, file_kind(found.st_mode))
                state = known.get(key)
                if (
                    state is not None
                    and not state.removed
                    and state.size == found.st_size
                    and state.mtime == found.st_mtime
                ):
                    report.unchanged += 1
                else:
                    scanned = reads.run(partial(self._read_file, path), key)
                    pending.append(self._with_features(scanned, path, reads, report))
                    if state is None:
                        new_paths.add(key)
            except NotRegularFile as exc:
                log.warning("skipping %s: %s, not a regular file", path, exc.kind)
                report.skipped.append((key, exc.kind))
                special.add(key)
            except (UnreadableFile, OSError) as exc:
                reason = _reason(exc, key)
                log.warning("skipping %s: %s", key, reason)
                report.errors.append((key, reason))
            if len(pending) >= BATCH:
                self._flush(pending, new_paths, report)
                if on_stored is not None:
                    on_stored(report)
            if on_progress is not None:
                on_progress(done, total, key)
        self._flush(pending, new_paths, report)
        # A special file is not a track (one that replaced a catalogued file removes it);
        # an unreadable regular file keeps what was catalogued from it.
        present = {str(p) for p in on_disk} - special
        prefix = str(root) + os.sep
        gone = [
            path
            for path, state in known.items()
            if path.startswith(prefix) and path not in present and not state.removed
        ]
        report.removed_ids = self._tracks.mark_removed(gone)
        report.removed = len(gone)
        return report

    def _with_features(
        self, scanned: ScannedFile, path: Path, reads: TimedReads, report: ScanReport
    ) -> ScannedFile:
        """``scanned`` with the energy and tempo its tags lack measured from its audio."""
        meta = scanned.meta
        if self._analyse is None or (meta.energy is not None and meta.tempo is not None):
            return scanned
        try:
            found = reads.run(partial(self._analyse, path), f"{path} (audio analysis)")
        except UnreadableFile as exc:
            reason = _reason(exc, scanned.path)
            log.warning("cataloguing %s without audio features: %s", path, reason)
            report.errors.append((scanned.path, f"audio analysis failed: {reason}"))
            return scanned
        energy = meta.energy if meta.energy is not None else found.energy
        tempo = meta.tempo if meta.tempo is not None else found.tempo
        return replace(scanned, meta=replace(meta, energy=energy, tempo=tempo))

    def _flush(self, pending: list[ScannedFile], new_paths: set[str], report: ScanReport) -> None:
        if not pending:
            return
        ids = self._tracks.upsert_files(pending, now=self._clock())
        report.changed_ids.extend(ids)
        added = sum(1 for f in pending if f.path in new_paths)
        report.added += added
        report.updated += len(pending) - added
        pending.clear()


def _reason(exc: Exception, path: str) -> str:
    """Why a file was skipped, said once: the report pairs it with the path already, so
    the path is not repeated in it (the readers' messages, and mutagen's, name it)."""
    return str(exc).removeprefix(f"{path}: ").replace(path, Path(path).name)
