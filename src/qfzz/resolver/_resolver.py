"""The resolver: for each wanted track, the original source first, then the learned order.

For one track (the resolver design, issue 17):

1. **The original source first**: when the track's origin is a configured source, ask it by
   reference (``refresh``), then by search; a high-confidence match there that verifies is
   taken at once. A merely acceptable match there is kept in reserve, tried after the
   fallbacks. These attempts are not recorded: the statistics rank *fallbacks*.
2. **Fallbacks in the learned order** (``fallback_order``: the configured order during the
   origin's warm-up, then ranked; a failing statistics database means the configured order).
   An attempt on a source is its search, and the download and verification of its best
   acceptable candidate; the first attempt that verifies wins, every fallback attempt is
   recorded (success or not, with its duration) under the track's origin.

Many tracks at once run as the design's two pools: *resolving* workers (network-bound:
searches, many at once) feed a bounded *ready* queue that *fetching* workers (downloads and
decoding, CPU-bound: few) drain. A candidate that fails verification sends its track back
to the resolving workers for the next source. The number of tracks in flight is bounded,
so memory does not grow with the size of the work list. Downloads land in ``.part`` files
that are removed on any failure and renamed into place only once verified.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qfzz.resolver._match import ACCEPTABLE, HIGH_CONFIDENCE
from qfzz.resolver._ranking import Ranking, fallback_order, record_attempt
from qfzz.resolver._stats import StatsRepository
from qfzz.resolver._types import Candidate, Source, SourceFailed, Wanted
from qfzz.resolver._verify import Verdict, Verifier

log = logging.getLogger(__name__)

#: The statistics group of tracks whose dataset named no origin.
UNKNOWN_ORIGIN = "unknown"
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try on one source: what happened and how long it took (clock seconds)."""

    source: str
    ok: bool
    reason: str
    seconds: float
    fallback: bool


@dataclass(frozen=True, slots=True)
class Resolved:
    wanted: Wanted
    source: str
    path: Path
    candidate: Candidate
    verdict: Verdict
    attempts: tuple[Attempt, ...]
    seconds: float  # from the first attempt to the verified file


@dataclass(frozen=True, slots=True)
class Unresolved:
    wanted: Wanted
    attempts: tuple[Attempt, ...]
    seconds: float

    @property
    def reason(self) -> str:
        if not self.attempts:
            return "no source to try"
        return "; ".join(f"{a.source}: {a.reason}" for a in self.attempts)


Outcome = Resolved | Unresolved


@dataclass
class _Step:
    source: str
    fallback: bool


@dataclass
class _Item:
    """One track on its way through the pools (owned by one worker at a time)."""

    wanted: Wanted
    steps: list[_Step]
    started: float
    next_step: int = 0
    reserve: tuple[_Step, Candidate] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    step_started: float = 0.0


class Resolver:
    """Finds, fetches and verifies audio for wanted tracks from ``sources`` (in their
    configured order: the order settings give, the warm-up order of every origin)."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        stats: StatsRepository,
        ranking: Ranking,
        verifier: Verifier,
        out_dir: Path,
        clock: Callable[[], float],
        max_bytes: int = DEFAULT_MAX_BYTES,
        resolving_workers: int = 4,
        fetching_workers: int = 2,
        ready_capacity: int = 8,
    ) -> None:
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique: {names}")
        self._sources = {source.name: source for source in sources}
        self._configured = names
        self._stats = stats
        self._ranking = ranking
        self._verifier = verifier
        self._out = out_dir
        self._clock = clock
        self._max_bytes = max_bytes
        self._resolving = max(1, resolving_workers)
        self._fetching = max(1, fetching_workers)
        self._ready_capacity = max(1, ready_capacity)

    @property
    def configured(self) -> list[str]:
        return list(self._configured)

    def add_source(self, source: Source, position: int) -> None:
        """A source that exists only once something else started (the federation's), at
        ``position`` of the configured order. Runs already going keep their plans."""
        if source.name in self._sources:
            raise ValueError(f"a source named {source.name!r} is there already")
        configured = list(self._configured)
        configured.insert(position, source.name)
        self._sources = {**self._sources, source.name: source}
        self._configured = configured  # replaced whole: readers see the old or the new list

    # -- one track, in the caller's thread ---------------------------------------------------

    def resolve(self, wanted: Wanted) -> Outcome:
        """Resolve one track now (the pools' steps, run inline)."""
        item = self._begin(wanted)
        while True:
            found = self._search(item)
            if found is None:
                return self._give_up(item)
            outcome = self._fetch(item, *found)
            if outcome is not None:
                return outcome

    # -- many tracks: the two pools -----------------------------------------------------------

    def resolve_all(
        self,
        items: Iterable[Wanted],
        on_done: Callable[[Outcome], None],
        *,
        stop: threading.Event | None = None,
    ) -> tuple[int, int]:
        """Resolve ``items`` with the resolving and fetching pools; ``on_done`` is called once
        per track (from a worker thread). Returns (resolved, unresolved). A set ``stop``
        admits no more tracks; those in flight finish."""
        stop = stop or threading.Event()
        in_flight = threading.Semaphore(self._resolving + self._ready_capacity + self._fetching)
        todo: queue.Queue[_Item | None] = queue.Queue()
        ready: queue.Queue[tuple[_Item, _Step, Candidate] | None] = queue.Queue(
            self._ready_capacity
        )
        lock = threading.Lock()
        counts = {"admitted": 0, "done": 0, "resolved": 0}
        fed = threading.Event()
        all_done = threading.Event()

        def finish(outcome: Outcome) -> None:
            try:
                on_done(outcome)
            except Exception:
                log.exception("resolver: on_done failed for track %d", outcome.wanted.track_id)
            in_flight.release()
            with lock:
                counts["done"] += 1
                counts["resolved"] += isinstance(outcome, Resolved)
                if fed.is_set() and counts["done"] == counts["admitted"]:
                    all_done.set()

        def feed() -> None:
            for wanted in items:
                in_flight.acquire()
                if stop.is_set():
                    in_flight.release()
                    break
                with lock:
                    counts["admitted"] += 1
                todo.put(self._begin(wanted))
            with lock:
                fed.set()
                if counts["done"] == counts["admitted"]:
                    all_done.set()

        def resolving() -> None:
            while (item := todo.get()) is not None:
                try:
                    found = self._search(item)
                except Exception as exc:  # a bug must not lose the track or the worker
                    log.exception("resolver: searching for track %d", item.wanted.track_id)
                    item.attempts.append(Attempt("resolver", False, f"error: {exc}", 0.0, False))
                    found = None
                if found is None:
                    finish(self._give_up(item))
                else:
                    ready.put((item, *found))

        def fetching() -> None:
            while (job := ready.get()) is not None:
                item, step, candidate = job
                try:
                    outcome = self._fetch(item, step, candidate)
                except Exception as exc:
                    log.exception("resolver: fetching for track %d", item.wanted.track_id)
                    item.attempts.append(Attempt(step.source, False, f"error: {exc}", 0.0, False))
                    outcome = None
                if outcome is None:
                    todo.put(item)  # the next source
                else:
                    finish(outcome)

        threads = [
            threading.Thread(target=resolving, name=f"qfzz-resolve-{n}", daemon=True)
            for n in range(self._resolving)
        ] + [
            threading.Thread(target=fetching, name=f"qfzz-fetch-{n}", daemon=True)
            for n in range(self._fetching)
        ]
        for thread in threads:
            thread.start()
        feeder = threading.Thread(target=feed, name="qfzz-resolve-feed", daemon=True)
        feeder.start()
        all_done.wait()
        feeder.join()
        for _ in range(self._resolving):
            todo.put(None)
        for _ in range(self._fetching):
            ready.put(None)
        for thread in threads:
            thread.join()
        return counts["resolved"], counts["done"] - counts["resolved"]

    # -- the steps ---------------------------------------------------------------------------

    def _begin(self, wanted: Wanted) -> _Item:
        now = self._clock()
        steps: list[_Step] = []
        origin = wanted.origin
        if origin is not None and origin in self._sources:
            steps.append(_Step(origin, fallback=False))
        group = origin or UNKNOWN_ORIGIN
        others = [name for name in self._configured if name != origin]
        for name in fallback_order(self._ranking, self._stats, group, others, now):
            steps.append(_Step(name, fallback=True))
        return _Item(wanted, steps, started=now)

    def _search(self, item: _Item) -> tuple[_Step, Candidate] | None:
        """Advance to the next step with a candidate worth fetching (None: none is left)."""
        while item.next_step < len(item.steps):
            step = item.steps[item.next_step]
            item.next_step += 1
            item.step_started = self._clock()
            candidate, reason = self._best_candidate(item, step)
            if candidate is not None:
                return step, candidate
            self._attempted(item, step, False, reason)
        if item.reserve is not None:
            step, candidate = item.reserve
            item.reserve = None
            item.step_started = self._clock()
            return step, candidate
        return None

    def _best_candidate(self, item: _Item, step: _Step) -> tuple[Candidate | None, str]:
        source = self._sources[step.source]
        wanted = item.wanted
        try:
            found: list[Candidate] = []
            if not step.fallback and wanted.origin_ref:
                refreshed = source.refresh(wanted)
                if refreshed is not None:
                    found.append(refreshed)
            if not found or found[0].confidence < HIGH_CONFIDENCE:
                found.extend(source.search(wanted))
        except SourceFailed as exc:
            return None, f"failed: {exc.detail}"
        best = max(found, key=lambda c: c.confidence, default=None)
        if best is None:
            return None, "nothing found"
        if best.confidence < ACCEPTABLE:
            return None, f"best match only {best.confidence:.2f} alike"
        if not step.fallback and best.confidence < HIGH_CONFIDENCE:
            if item.reserve is None:
                item.reserve = (step, best)  # acceptable at the origin: after the fallbacks
            return None, f"match {best.confidence:.2f} kept in reserve"
        return best, "found"

    def _fetch(self, item: _Item, step: _Step, candidate: Candidate) -> Outcome | None:
        """Download and verify; the outcome when verified, None to go on with the next step."""
        wanted = item.wanted
        self._out.mkdir(parents=True, exist_ok=True)
        suffix = candidate.suffix.lower() if _SUFFIX.fullmatch(candidate.suffix.lower()) else ""
        part = self._out / f".{wanted.track_id}.{secrets.token_hex(4)}.part{suffix}"
        try:
            try:
                self._sources[step.source].download(candidate, part, max_bytes=self._max_bytes)
            except SourceFailed as exc:
                self._attempted(item, step, False, f"download failed: {exc.detail}")
                return None
            if not part.is_file():
                self._attempted(item, step, False, "download wrote nothing")
                return None
            verdict = self._verifier.verify(part, wanted, candidate)
            if not verdict.ok:
                self._attempted(item, step, False, f"wrong file: {verdict.reason}")
                return None
            target = self._out / f"{wanted.track_id}{suffix or '.audio'}"
            part.replace(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        self._attempted(item, step, True, verdict.reason)
        return Resolved(
            wanted,
            step.source,
            target,
            candidate,
            verdict,
            tuple(item.attempts),
            self._clock() - item.started,
        )

    def _attempted(self, item: _Item, step: _Step, ok: bool, reason: str) -> None:
        now = self._clock()
        seconds = max(0.0, now - item.step_started)
        item.attempts.append(Attempt(step.source, ok, reason, seconds, step.fallback))
        if step.fallback:  # only fallback attempts teach the order
            origin = item.wanted.origin or UNKNOWN_ORIGIN
            record_attempt(self._stats, origin, step.source, ok, seconds, now)

    def _give_up(self, item: _Item) -> Unresolved:
        return Unresolved(item.wanted, tuple(item.attempts), self._clock() - item.started)

    def remove_leftovers(self) -> int:
        """Delete ``.part`` files a crashed run left (call before a run, one resolver per
        directory)."""
        removed = 0
        if self._out.is_dir():
            for leftover in self._out.glob(".*.part*"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
                    removed += 1
        return removed
