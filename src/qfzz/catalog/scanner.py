"""Incremental library scan: new and changed files in, vanished files out.

A file is re-read only when its size or modification time changed, so re-scanning a large
library costs one ``stat`` per file. A file that cannot be read is reported and skipped;
one bad file never aborts a scan.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import blake3

from qfzz.catalog.tags import SUPPORTED_EXTENSIONS, read_track_file
from qfzz.errors import CatalogError, UnreadableFile
from qfzz.models import ScannedFile

log = logging.getLogger(__name__)

#: Files written to the store per transaction.
BATCH = 200

ScanProgress = Callable[[int, int, str], None]


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
    errors: list[tuple[str, str]] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    removed_ids: list[int] = field(default_factory=list)


def content_id_of_file(path: Path) -> str:
    """blake3 of the file's bytes: the same audio file has the same id on every node."""
    hasher = blake3.blake3()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def iter_audio_files(root: Path) -> Iterator[Path]:
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS:
                yield Path(folder) / name


class LibraryScanner:
    def __init__(self, tracks: ScanRepository, *, clock: Callable[[], float]) -> None:
        self._tracks = tracks
        self._clock = clock

    def scan(self, root: Path, on_progress: ScanProgress | None = None) -> ScanReport:
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise CatalogError(f"not a folder: {root}")
        report = ScanReport(root=str(root))
        known = self._tracks.file_states()
        on_disk = list(iter_audio_files(root))
        total = len(on_disk)
        pending: list[ScannedFile] = []
        new_paths: set[str] = set()
        for done, path in enumerate(on_disk, start=1):
            key = str(path)
            report.seen += 1
            try:
                stat = path.stat()
                state = known.get(key)
                if (
                    state is not None
                    and not state.removed
                    and state.size == stat.st_size
                    and state.mtime == stat.st_mtime
                ):
                    report.unchanged += 1
                else:
                    meta = read_track_file(path)
                    pending.append(
                        ScannedFile(
                            key, stat.st_size, stat.st_mtime, meta, content_id_of_file(path)
                        )
                    )
                    if state is None:
                        new_paths.add(key)
            except (UnreadableFile, OSError) as exc:
                log.warning("skipping %s: %s", path, exc)
                report.errors.append((key, str(exc)))
            if len(pending) >= BATCH:
                self._flush(pending, new_paths, report)
            if on_progress is not None:
                on_progress(done, total, key)
        self._flush(pending, new_paths, report)
        present = {str(p) for p in on_disk}
        prefix = str(root) + os.sep
        gone = [
            path
            for path, state in known.items()
            if path.startswith(prefix) and path not in present and not state.removed
        ]
        report.removed_ids = self._tracks.mark_removed(gone)
        report.removed = len(gone)
        return report

    def _flush(self, pending: list[ScannedFile], new_paths: set[str], report: ScanReport) -> None:
        if not pending:
            return
        ids = self._tracks.upsert_files(pending, now=self._clock())
        report.changed_ids.extend(ids)
        added = sum(1 for f in pending if f.path in new_paths)
        report.added += added
        report.updated += len(pending) - added
        pending.clear()
