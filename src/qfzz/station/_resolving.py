"""The station's side of the resolver: its work list, its sources, and what a found file
changes in the catalog.

Dataset tracks arrive as metadata (``playable`` false, no path). ``run`` takes up to
``limit`` of them (optionally of one origin), lets :class:`qfzz.resolver.Resolver` find,
fetch and verify audio for each, and attaches every verified file to its track: stored
under ``data_dir/resolved``, the track keeps its dataset metadata (its duration filled in
from the decoded file only where the dataset had none) and becomes playable — in playlists,
on the streams, in Subsonic — as soon as it is found (the catalog is re-indexed in small
batches while the run goes on).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qfzz.resolver import (
    LocalFile,
    LocalSource,
    Outcome,
    Resolved,
    Resolver,
    Unresolved,
    Wanted,
)
from qfzz.station._catalog import Catalog
from qfzz.store import Store

log = logging.getLogger(__name__)

#: Resolved tracks re-indexed together (one index rebuild per batch, not per track).
REINDEX_BATCH = 16
#: Tracks of the library a local lookup considers per wanted title.
LOCAL_LOOKUP_LIMIT = 25
#: Words of the wanted title searched for (the search refuses very long queries; the
#: source compares whole titles afterwards anyway).
LOCAL_LOOKUP_WORDS = 8
MAX_REASONS = 20

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class ResolveReport:
    total: int
    resolved: int
    unresolved: int
    by_source: dict[str, int] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()  # the first few tracks not found, and why

    def summary(self) -> str:
        sources = ", ".join(f"{n} from {s}" for s, n in sorted(self.by_source.items()))
        found = f"{self.resolved} of {self.total} resolved"
        return f"{found} ({sources})" if sources else found


def library_lookup(store: Store) -> Callable[[str, str], Sequence[LocalFile]]:
    """The local source's lookup: playable library files holding the wanted title's words
    (in title, artist or album; the source then matches title, artist and duration
    properly)."""

    def lookup(title: str, _artist: str) -> list[LocalFile]:
        words = " ".join(word[:100] for word in title.split()[:LOCAL_LOOKUP_WORDS])
        _total, found = store.tracks.search(q=words, limit=LOCAL_LOOKUP_LIMIT)
        return [
            LocalFile(Path(t.path), t.title, t.artist, t.meta.duration)
            for t in found
            if t.playable and t.path is not None
        ]

    return lookup


def local_source(store: Store) -> LocalSource:
    return LocalSource(library_lookup(store))


class Resolving:
    """Runs the resolver over the catalog's unresolved tracks and attaches what it finds."""

    def __init__(self, store: Store, catalog: Catalog, resolver: Resolver) -> None:
        self._store = store
        self._catalog = catalog
        self.resolver = resolver
        self._lock = threading.Lock()  # one run at a time: they would share the out folder

    def run(
        self,
        *,
        limit: int,
        origin: str | None = None,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ResolveReport:
        """Resolve up to ``limit`` unresolved tracks (of ``origin`` when given)."""
        tracks = self._store.tracks.unresolved(limit=limit, origin=origin)
        wanted = [
            Wanted(
                track_id=t.track_id,
                title=t.title,
                artist=t.artist,
                duration=t.meta.duration,
                album=t.meta.album,
                origin=t.meta.origin,
                origin_ref=t.meta.origin_ref,
            )
            for t in tracks
        ]
        total = len(wanted)
        state = _RunState(total)
        say = progress or (lambda done, total, message: None)
        say(0, total, "resolving")

        def done(outcome: Outcome) -> None:
            attached = isinstance(outcome, Resolved) and self._attach(outcome)
            batch = state.finished(outcome, attached)
            if batch:
                self._catalog.reindex(batch, [])
            say(state.done, total, state.message())

        with self._lock:
            self.resolver.remove_leftovers()
            self.resolver.resolve_all(wanted, done, stop=stop)
        rest = state.flush()
        if rest:
            self._catalog.reindex(rest, [])
        return state.report()

    def _attach(self, outcome: Resolved) -> bool:
        path = outcome.path
        info = path.stat()
        attached = self._store.tracks.attach_file(
            outcome.wanted.track_id,
            str(path.resolve()),
            size=info.st_size,
            mtime=info.st_mtime,
            duration=outcome.verdict.seconds,
        )
        if not attached:  # another run attached a file first (or the track was removed)
            path.unlink(missing_ok=True)
        return attached


class _RunState:
    """Counts of one run, shared by the resolver's worker threads."""

    def __init__(self, total: int) -> None:
        self._lock = threading.Lock()
        self.total = total
        self.done = 0
        self.resolved = 0
        self.by_source: dict[str, int] = {}
        self.reasons: list[str] = []
        self._pending: list[int] = []

    def finished(self, outcome: Outcome, attached: bool) -> list[int]:
        """Count one outcome; answer a batch of track ids to re-index when one is full."""
        with self._lock:
            self.done += 1
            if attached and isinstance(outcome, Resolved):
                self.resolved += 1
                self.by_source[outcome.source] = self.by_source.get(outcome.source, 0) + 1
                self._pending.append(outcome.wanted.track_id)
            elif isinstance(outcome, Unresolved) and len(self.reasons) < MAX_REASONS:
                wanted = outcome.wanted
                self.reasons.append(f"{wanted.artist} – {wanted.title}: {outcome.reason}")
            if len(self._pending) >= REINDEX_BATCH:
                batch, self._pending = self._pending, []
                return batch
            return []

    def flush(self) -> list[int]:
        with self._lock:
            batch, self._pending = self._pending, []
            return batch

    def message(self) -> str:
        with self._lock:
            return f"{self.resolved} resolved, {self.done - self.resolved} not found"

    def report(self) -> ResolveReport:
        with self._lock:
            return ResolveReport(
                self.total,
                self.resolved,
                self.done - self.resolved,
                dict(self.by_source),
                tuple(self.reasons),
            )
