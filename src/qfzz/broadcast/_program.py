"""The program: an endless PCM stream of tracks, level-matched and crossfaded.

Tracks come from a ``TrackProvider`` (the autoDJ of a shared mount, or one listener's
playlist). Each is decoded to the internal format and scaled by a gain that brings it to
the station's loudness (EBU R128, in LUFS): a loudness the station already knows (an
upload's, measured when it was converted) is used as it is, any other is measured in the
background while the current track plays. Between tracks the last seconds of one overlap
the first of the next with equal-power fades — unless the outgoing track already ends in
near silence, in which case they are simply sequenced (the complaint radio listeners make
most is a loud track faded into a quiet ending). A file that fails to decode is reported
and skipped; the stream never has a gap, and when nothing is playable it carries silence.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from qfzz.audio import SAMPLE_RATE, Loudness, Pcm, decode, measure
from qfzz.errors import UnreadableFile

log = logging.getLogger(__name__)

QUIET_TAIL_DBFS = -40.0
SKIP_FADE_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class QueuedTrack:
    track_id: int
    path: str
    title: str
    artist: str
    album: str | None = None
    duration: float | None = None
    #: Where in the file to begin: a program that was suspended (a personal stream nobody
    #: listened to) resumes the track it was playing from here.
    start_seconds: float = 0.0

    @property
    def stream_title(self) -> str:
        return f"{self.artist} - {self.title}"

    def resumed_at(self, seconds: float) -> QueuedTrack:
        """This track again, from ``seconds`` into the file."""
        return replace(self, start_seconds=max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class PcmBlock:
    """A slice of the program; ``start`` is its first sample's position in the stream."""

    start: int
    samples: Pcm
    track: QueuedTrack | None


class TrackProvider(Protocol):
    def next_track(self) -> QueuedTrack | None: ...
    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None: ...
    def failed(self, track: QueuedTrack, reason: str) -> None: ...


class _Playing:
    def __init__(self, track: QueuedTrack, blocks: Iterator[Pcm], gain: float) -> None:
        self.track = track
        self.blocks = blocks
        self.gain = np.float32(gain)
        # samples of this track sent on air (a resumed track counts what came before)
        self.played = int(track.start_seconds * SAMPLE_RATE)
        self.done = False

    def pull(self) -> Pcm | None:
        """The next decoded block with gain applied, or None at the end (or on error)."""
        if self.done:
            return None
        try:
            block = next(self.blocks)
        except StopIteration:
            self.done = True
            return None
        except UnreadableFile as exc:
            log.warning("decoding %s stopped early: %s", self.track.path, exc)
            self.done = True
            return None
        return block * self.gain


class Program:
    """Produces ``PcmBlock``s of ``block_seconds``; thread-safe ``skip()``.

    A track's gain comes from ``known_loudness(path)`` when that answers (a figure stored
    elsewhere: measuring again would decode the whole file for the same number), else
    from ``loudness(path)`` (by default the whole file decoded and measured). Both run on
    the loudness worker, never on the thread that makes blocks.
    """

    def __init__(
        self,
        provider: TrackProvider,
        *,
        crossfade_seconds: float = 3.0,
        block_seconds: float = 0.1,
        loudness: Callable[[str], Loudness] | None = None,
        known_loudness: Callable[[str], Loudness | None] | None = None,
    ) -> None:
        if not 0 <= crossfade_seconds <= 10:
            raise ValueError("crossfade_seconds must be in [0, 10]")
        self._provider = provider
        self._crossfade = int(crossfade_seconds * SAMPLE_RATE)
        self._block = max(1, int(block_seconds * SAMPLE_RATE))
        self._loudness = loudness or (lambda path: measure(decode(path)))
        self._known_loudness = known_loudness
        self._ready: deque[tuple[Pcm, QueuedTrack | None]] = deque()
        self._ready_samples = 0
        self._held: deque[Pcm] = deque()  # the current track's newest samples (crossfade)
        self._held_samples = 0
        self._current: _Playing | None = None
        self._next: tuple[QueuedTrack, Future[float]] | None = None
        self._position = 0
        self._skip = threading.Event()
        self._on_air: QueuedTrack | None = None
        self._gains: dict[str, float] = {}
        self._pool: ThreadPoolExecutor | None = None  # made on first use, again after close
        self._resume: deque[QueuedTrack] = deque()  # unfinished tracks of a suspension

    @property
    def provider(self) -> TrackProvider:
        """Where the program's tracks come from (the station's autoDJ or a listener's DJ)."""
        return self._provider

    @property
    def now_playing(self) -> QueuedTrack | None:
        """The track of the newest block handed out (what listeners hear next)."""
        return self._on_air

    def skip(self) -> None:
        self._skip.set()

    def close(self) -> None:
        """Stop the loudness worker (a later ``next_block`` starts a new one)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        upcoming = self._next
        if upcoming is not None and upcoming[1].cancelled():  # measured again when due
            self._next = None
            self._resume.appendleft(upcoming[0])

    def suspend(self, heard: QueuedTrack | None, position: float) -> list[QueuedTrack]:
        """Stop where the listener was: release the decoder and the loudness worker,
        and begin the next ``next_block`` with the unfinished tracks — ``heard`` (the
        track on air, from ``position`` seconds into its file), then any track already made
        ahead of it, then the one chosen next — before asking the provider again.

        Called only while nothing reads the program (its mount's PCM stage stopped).
        Returns the tracks it will resume with, in order.
        """
        unfinished: list[QueuedTrack] = []
        if heard is not None:
            duration = heard.duration
            if duration is None or position < duration - 1.0:  # else: it has ended
                unfinished.append(heard.resumed_at(position))
        playing, upcoming = self._current, self._next
        for track in (
            playing.track if playing is not None else None,
            upcoming[0] if upcoming is not None else None,
        ):
            if track is not None and track is not heard:
                unfinished.append(track)
        if playing is not None:
            _close_blocks(playing.blocks)
        self._resume.extendleft(reversed(unfinished))
        self._ready.clear()
        self._ready_samples = 0
        self._held.clear()
        self._held_samples = 0
        self._current, self._next, self._on_air = None, None, None
        self._skip.clear()
        self.close()
        return list(self._resume)

    def next_block(self) -> PcmBlock:
        if self._skip.is_set():
            self._skip.clear()
            self._cut_current()
        while self._ready_samples < self._block:
            if not self._advance():
                self._queue(np.zeros((2, self._block - self._ready_samples), np.float32), None)
        samples, track = self._take(self._block)
        self._on_air = track
        block = PcmBlock(self._position, samples, track)
        self._position += samples.shape[1]
        return block

    # -- internals ------------------------------------------------------------------------

    def _take(self, n: int) -> tuple[Pcm, QueuedTrack | None]:
        parts: list[Pcm] = []
        track = self._ready[0][1]
        need = n
        while need:
            block, owner = self._ready[0]
            if block.shape[1] <= need:
                parts.append(block)
                self._ready.popleft()
                need -= block.shape[1]
            else:
                parts.append(block[:, :need])
                self._ready[0] = (block[:, need:], owner)
                need = 0
            if self._current is not None and owner is self._current.track:
                self._current.played += parts[-1].shape[1]
        self._ready_samples -= n
        return (parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)), track

    def _queue(self, block: Pcm, track: QueuedTrack | None) -> None:
        if block.shape[1]:
            self._ready.append((block, track))
            self._ready_samples += block.shape[1]

    def _advance(self) -> bool:
        """Make more audio ready; False when there is nothing at all to play."""
        if self._current is None:
            return self._start_next(tail=None)
        block = self._current.pull()
        if block is None:
            return self._transition()
        self._held.append(block)
        self._held_samples += block.shape[1]
        while self._held and self._held_samples - self._held[0].shape[1] >= self._crossfade:
            released = self._held.popleft()
            self._held_samples -= released.shape[1]
            self._queue(released, self._current.track)
        return True

    def _transition(self) -> bool:
        tail = np.concatenate(list(self._held), axis=1) if self._held else None
        self._held.clear()
        self._held_samples = 0
        finished = self._current
        if finished is not None:
            if tail is not None and _level_dbfs(tail[:, -SAMPLE_RATE:]) < QUIET_TAIL_DBFS:
                self._queue(tail, finished.track)  # ends softly: sequence, do not overlap
                tail = None
            self._finish(finished, extra=0 if tail is None else tail.shape[1], skipped=False)
        return self._start_next(tail=tail, outgoing=finished.track if finished else None)

    def _finish(self, playing: _Playing, *, extra: int, skipped: bool) -> None:
        seconds = (playing.played + self._ready_owned(playing.track) + extra) / SAMPLE_RATE
        try:
            self._provider.finished(playing.track, seconds, skipped)
        except Exception:
            log.exception("track provider failed on finished()")

    def _ready_owned(self, track: QueuedTrack) -> int:
        return sum(b.shape[1] for b, owner in self._ready if owner is track)

    def _start_next(self, *, tail: Pcm | None, outgoing: QueuedTrack | None = None) -> bool:
        for _attempt in range(5):
            track, gain = self._upcoming()
            if track is None:
                self._current = None
                if tail is not None:
                    self._queue(_fade(tail, out=True), outgoing)
                return tail is not None
            try:
                blocks = decode(track.path, start_seconds=track.start_seconds)
                playing = _Playing(track, blocks, gain)
                head = self._pull_samples(playing, 0 if tail is None else tail.shape[1])
            except UnreadableFile as exc:
                self._report_failure(track, str(exc))
                continue
            if head is None or (head.shape[1] == 0 and playing.done):
                self._report_failure(track, "no audio")
                continue
            self._current = playing
            if tail is not None:
                n = min(tail.shape[1], head.shape[1])
                mixed = _fade(tail[:, :n], out=True) + _fade(head[:, :n], out=False)
                self._queue(mixed, track)
                self._queue(head[:, n:], track)
                if tail.shape[1] > n:
                    self._queue(_fade(tail[:, n:], out=True), track)
            else:
                self._queue(head, track)
            self._prefetch()
            return True
        return False

    def _pull_samples(self, playing: _Playing, n: int) -> Pcm | None:
        parts: list[Pcm] = []
        have = 0
        while have < max(n, 1):
            block = playing.pull()
            if block is None:
                break
            parts.append(block)
            have += block.shape[1]
        if not parts:
            return np.zeros((2, 0), np.float32)
        return np.concatenate(parts, axis=1)

    def _report_failure(self, track: QueuedTrack, reason: str) -> None:
        log.warning("skipping %s (%s): %s", track.track_id, track.path, reason)
        try:
            self._provider.failed(track, reason)
        except Exception:
            log.exception("track provider failed on failed()")

    def _upcoming(self) -> tuple[QueuedTrack | None, float]:
        if self._next is None:
            self._prefetch()
        if self._next is None:
            return None, 1.0
        track, pending = self._next
        self._next = None
        try:
            gain = pending.result()
        except Exception as exc:
            log.warning("loudness of %s unknown (%s); playing at unity gain", track.path, exc)
            gain = 1.0
        return track, gain

    def _prefetch(self) -> None:
        """Ask for the next track now and measure its loudness while this one plays."""
        if self._next is not None:
            return
        try:
            track = self._resume.popleft() if self._resume else self._provider.next_track()
        except Exception:
            log.exception("track provider failed on next_track()")
            track = None
        if track is None:
            return
        cached = self._gains.get(track.path)
        future: Future[float] = Future()
        if cached is not None:
            future.set_result(cached)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qfzz-loudness")
            future = self._pool.submit(self._gain_of, track.path)
        self._next = (track, future)

    def _gain_of(self, path: str) -> float:
        gain = (self._known(path) or self._loudness(path)).gain()
        self._gains[path] = gain
        return gain

    def _known(self, path: str) -> Loudness | None:
        """The loudness known for ``path`` without measuring, if any (a lookup that fails
        is only a missed shortcut: the file is measured instead)."""
        if self._known_loudness is None:
            return None
        try:
            return self._known_loudness(path)
        except Exception:
            log.exception("looking up the loudness of %s failed; measuring it", path)
            return None

    def _cut_current(self) -> None:
        """A skip: fade out what is queued of the track on air and go on with the next.

        During a crossfade the track on air is the outgoing one, already counted as
        played: its remaining overlap is simply shortened.
        """
        playing = self._current
        if playing is None:
            return
        if self._on_air is not None and self._on_air is not playing.track:
            self._drop_queued(self._on_air)
            return
        self._drop_queued(playing.track)
        self._held.clear()
        self._held_samples = 0
        playing.done = True
        self._finish(playing, extra=0, skipped=True)
        self._current = None
        self._start_next(tail=None)

    def _drop_queued(self, track: QueuedTrack) -> None:
        """Keep only a short fade-out of what is queued of ``track``."""
        fade = int(SKIP_FADE_SECONDS * SAMPLE_RATE)
        kept: deque[tuple[Pcm, QueuedTrack | None]] = deque()
        budget = fade
        for block, owner in self._ready:
            if owner is track:
                if budget <= 0:
                    continue
                block = block[:, :budget]
                budget -= block.shape[1]
            kept.append((block, owner))
        self._ready = kept
        self._ready_samples = sum(b.shape[1] for b, _ in kept)
        owned = [(i, b) for i, (b, o) in enumerate(kept) if o is track]
        if owned:
            joined = np.concatenate([b for _, b in owned], axis=1)
            faded = _fade(joined, out=True)
            offset = 0
            for i, b in owned:
                kept[i] = (faded[:, offset : offset + b.shape[1]], track)
                offset += b.shape[1]


def _close_blocks(blocks: Iterator[Pcm]) -> None:
    """Close a decoder's generator now (its file and codec), not when collected."""
    close = getattr(blocks, "close", None)
    if close is not None:
        close()


def _fade(block: Pcm, *, out: bool) -> Pcm:
    """Equal-power fade over the whole block."""
    n = block.shape[1]
    if n == 0:
        return block
    phase = np.linspace(0.0, math.pi / 2, n, dtype=np.float32)
    curve = np.cos(phase) if out else np.sin(phase)
    return (block * curve).astype(np.float32)


def _level_dbfs(block: Pcm) -> float:
    if block.size == 0:
        return -math.inf
    power = float(np.mean(np.square(block, dtype=np.float64)))
    return -math.inf if power <= 0 else 10 * math.log10(power)
