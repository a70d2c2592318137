"""A mount: one program, decoded once, encoded once per (codec, bitrate), heard by many.

    Program ──PcmSource (paced by the clock)──▶ PCM StreamBuffer
        └─ EncoderSource(mp3, 128) reads PCM ──▶ packets ──ChunkSource──▶ chunks ──▶ listeners
        └─ EncoderSource(opus, 96)  reads PCM ──▶ packets ──ChunkSource──▶ chunks ──▶ listeners

Every stage is a ``qfzz.streams`` buffer: a listener is a reader of its encoder's chunks
(a tick of packets joined once, the same bytes for everyone in its phase group) with its
own cursor, so a slow one never blocks the encoder or the others, and one that falls out
of the ring is told (``IndexDropped``) and moved to the live edge. The PCM stage runs
while any encoder runs; an encoder runs while it has listeners, plus a grace period.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from qfzz.audio import SAMPLE_RATE, Codec, LiveEncoder
from qfzz.broadcast._chunks import Chunk, ChunkSource, Packet, TickGrid, chunk_holding
from qfzz.broadcast._clock import Alarm, Clock, as_clock
from qfzz.broadcast._program import PcmBlock, Program, QueuedTrack
from qfzz.broadcast._relayed import PacketFeed, RelayedSource
from qfzz.streams import BufferReader, IndexedBuffer, Intervals, SourceReader, StreamBuffer

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.1
#: Program seconds per chunk. A listener wakes and writes once per chunk: once a second
#: keeps a shared mount cheap per listener; a personal stream (one listener) gets four a
#: second, so a skip is heard at once.
SHARED_TICK_SECONDS = 1.0
PERSONAL_TICK_SECONDS = 0.25
#: A shared mount's listeners are spread over this many chunk sequences, cut a fraction of
#: a tick apart, and each joins the one cut half a tick after the moment it came: the writes
#: of a thousand listeners are spread over the second instead of landing in one instant
#: (keeping the event loop free for new connections), and a listener's writes fall midway
#: between the seconds of its own clock, so jitter never makes one second look empty and
#: the next one double.
PHASE_GROUPS = 4
#: How far the program runs ahead of the clock beyond the burst: room for the encoders'
#: own delay, so a listener's burst is always whole.
MIN_LEAD_SECONDS = 0.5
#: A cold encoder's first chunk holds this much more than the burst (of that lead).
BURST_MARGIN = 0.25


@dataclass(frozen=True, slots=True)
class Tuning:
    """A listener's place on one encoder: a reader of its phase group's chunks, and the
    packet at which its audio starts (the chunk the reader is on may begin earlier).
    ``mount`` is the mount that took the listener (a retired one hands it to its
    successor); the listener leaves that one."""

    reader: BufferReader[Chunk]
    start: int
    mount: Mount

    def to_live_edge(self) -> None:
        """Skip to the next chunk (a listener that fell out of the ring)."""
        self.reader.seek(self.reader.buffer.number_of_items_inserted)


@dataclass(frozen=True, slots=True)
class _Encoder:
    """One (codec, bitrate) on air: its packets, and their chunks per phase group."""

    packets: StreamBuffer[Packet]
    source: EncoderSource | RelayedSource
    groups: list[StreamBuffer[Chunk]]
    grid: TickGrid  # the first group's; group g is cut g/len(groups) of a tick later

    def group_for(self, now: float) -> int:
        """The group whose chunks are cut closest to half a tick from ``now``."""
        grid = self.grid
        phase = (now + grid.tick / 2 - grid.origin) % grid.tick
        return round(phase / (grid.tick / len(self.groups))) % len(self.groups)

    def buffers(self) -> list[StreamBuffer[Any]]:
        """Everything to stop, chunks before the packets they read."""
        return [*self.groups, self.packets]


@dataclass(frozen=True, slots=True)
class NowPlaying:
    track: QueuedTrack | None
    started_at: float  # wall-clock seconds when the track went on air
    position: float  # seconds into the track


class Pacer:
    """Keeps a producer ``lead`` seconds ahead of its clock (real or simulated time)."""

    def __init__(self, clock: Clock, *, lead: float = MIN_LEAD_SECONDS) -> None:
        self._clock = clock
        self.lead = lead
        self._wake = Alarm()
        self._origin = 0.0
        self.waiting = False  # parked on the clock: made all it may make until it moves

    def start(self) -> None:
        self._origin = self._clock()
        self._wake.clear()

    def interrupt(self) -> None:
        self._wake.set()

    def wall_time(self, program_seconds: float) -> float:
        return self._origin + program_seconds

    def wait_until(self, program_seconds: float) -> None:
        self.waiting = True
        try:
            self._clock.wait_until(self.wall_time(program_seconds - self.lead), self._wake)
        finally:
            self.waiting = False


class PcmSource(SourceReader[PcmBlock]):
    """The program, paced by the mount's clock, as a stream source."""

    def __init__(self, mount: Mount) -> None:
        self._mount = mount

    def open(self) -> None:
        self._mount._pacer.start()
        self._mount._restarted()
        self._mount._paced = False
        self._first = True

    def read(self) -> PcmBlock | None:
        mount = self._mount
        block = mount.program.next_block()
        if self._first:  # pacing counts from the first block after (re)starting
            mount._offset, self._first = block.start, False
            mount._paced = True
        mount._observe(block)
        mount._pacer.wait_until((block.start - mount._offset) / SAMPLE_RATE)
        return block

    def close(self) -> None:
        self._mount.program.close()  # its loudness worker too: an idle mount has no thread

    def key(self, item: PcmBlock) -> int:
        return item.start

    def interrupt(self) -> None:
        self._mount._pacer.interrupt()


class EncoderSource(SourceReader[Packet]):
    """Reads the mount's PCM and encodes it at one codec and bitrate."""

    def __init__(self, mount: Mount, codec: Codec, bitrate_kbps: int) -> None:
        self._mount = mount
        self.codec = codec
        self.bitrate_kbps = bitrate_kbps
        self._reader: BufferReader[PcmBlock] | None = None
        self._encoder: LiveEncoder | None = None
        self._queue: deque[Packet] = deque()
        self._stopping = threading.Event()
        self.header = b""

    def open(self) -> None:
        self._stopping.clear()
        self._encoder = LiveEncoder(self.codec, self.bitrate_kbps)
        # From the block on air now: the program made ahead of the clock is this
        # encoder's first listener's burst (on a cold mount, everything it will make).
        self._reader = self._mount.pcm.mk_reader(
            start=self._mount._on_air_index(), on_dropped="skip"
        )
        self._reader.enter()

    def read(self) -> Packet | None:
        assert self._reader is not None and self._encoder is not None
        while not self._queue:
            block = self._reader.read(block=True, timeout=0.25)
            if not isinstance(block, PcmBlock):
                if self._stopping.is_set():
                    return None
                continue
            chunks = self._encoder.encode(block.samples)
            self.header = self._encoder.header
            title = block.track.stream_title if block.track else self._mount.name
            track_id = block.track.track_id if block.track else None
            at = block.start / SAMPLE_RATE
            self._queue.extend(Packet(at, chunk, title, track_id) for chunk in chunks)
        return self._queue.popleft()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.exit()
        self._reader = None

    def key(self, item: Packet) -> float:
        return item.at

    def interrupt(self) -> None:
        self._stopping.set()


#: Who carries on for a retired mount: ``successor(create)`` is the mount on air for the
#: same listener now (made if ``create``), or None.
Successor = Callable[[bool], "Mount | None"]


class MountRetired(RuntimeError):
    """A retired mount was asked for a listener and has no successor to hand it to."""


class Mount:
    """One program on air; ``listen(codec, bitrate)`` gives a reader of its packets.

    Idle encoders stop ``idle_grace_seconds`` after their last listener left, when
    ``reap`` is called at or after that time (``Radio`` runs a reaper that waits on the
    clock for ``next_due``); the PCM stage stops with the last encoder. A mount that
    is ``quiet`` (no encoder, no listener) for the grace period may be ``retire``d.
    """

    def __init__(
        self,
        name: str,
        program: Program,
        *,
        clock: Clock | Callable[[], float] = time.time,
        burst_seconds: float = 4.0,
        buffer_seconds: float = 30.0,
        idle_grace_seconds: float = 10.0,
        description: str = "",
        personal: bool = False,
        on_idle: Callable[[], None] | None = None,
        relayed: Callable[[Codec, int], PacketFeed] | None = None,
    ) -> None:
        self.name = name
        #: Heard through a log another process makes (``_relayed``): each (codec, bitrate)
        #: reads ``relayed(codec, bitrate)`` instead of encoding the program here.
        self._relayed = relayed
        self.personal = personal  # one listener's radio, not a shared station
        self.description = description
        self.program = program
        self.burst_seconds = burst_seconds
        self.idle_grace_seconds = idle_grace_seconds
        self._clock = as_clock(clock)  # paces the program and cuts chunks
        # The program runs the burst (and a margin for the encoders) ahead of the clock
        # from the moment it starts: a cold mount's first listener gets its burst at once.
        self._pacer = Pacer(self._clock, lead=burst_seconds + MIN_LEAD_SECONDS)
        self._offset = 0
        self._paced = False  # the offset is this run's (its first block was made)
        self._buffer_seconds = buffer_seconds
        self.pcm: StreamBuffer[PcmBlock] = StreamBuffer(
            PcmSource(self),
            maxlen=max(int(5 / BLOCK_SECONDS), math.ceil((self._pacer.lead + 2) / BLOCK_SECONDS)),
        )
        self.tick_seconds = PERSONAL_TICK_SECONDS if personal else SHARED_TICK_SECONDS
        self._encoders: dict[tuple[str, int], _Encoder] = {}
        self._listeners: dict[tuple[str, int], int] = {}
        self._idle_since: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()
        self._on_idle = on_idle
        self._quiet_since: float | None = self._clock()  # no encoder, no listener since
        self._retired = False
        self._successor: Successor | None = None
        self._air_lock = threading.Lock()
        self.history: IndexedBuffer[tuple[float, float, QueuedTrack]] = IndexedBuffer(
            10_000, bounds=Intervals()
        )
        self._current: tuple[QueuedTrack | None, float] = (None, self._clock())
        self._changes: deque[tuple[QueuedTrack | None, float]] = deque()  # made, not yet heard
        self._made: QueuedTrack | None = None  # the track of the newest block made
        self._listeners_total = 0

    # -- listening ----------------------------------------------------------------------

    def tune_in(self, codec: Codec, bitrate_kbps: int, at: float | None = None) -> Tuning:
        """A new listener of (codec, bitrate), starting ``burst_seconds`` back from the live
        edge — or at program time ``at`` (a listener moving here from another bitrate).

        Starts the encoder if it is not running. The caller must ``enter()`` (or ``async
        with``) the reader and call ``leave`` on ``Tuning.mount`` when done. A retired
        mount hands the listener to its successor (the listener's radio, resumed).
        """
        key = (codec, bitrate_kbps)
        encoder: _Encoder | None = None
        with self._lock:
            retired = self._retired
            if not retired:
                encoder = self._encoders.get(key)
                if encoder is None:
                    encoder = self._encoders[key] = self._start_encoder(codec, bitrate_kbps)
                self._listeners[key] = self._listeners.get(key, 0) + 1
                self._listeners_total += 1
                self._idle_since.pop(key, None)
                self._quiet_since = None
        if encoder is None:  # retired
            successor = self._successor(True) if self._successor is not None else None
            if successor is None:
                raise MountRetired(f"{self.name} is off the air")
            return successor.tune_in(codec, bitrate_kbps, at)
        packets = encoder.packets
        chunks = encoder.groups[encoder.group_for(self._clock())]
        start = self._burst_start(packets) if at is None else self._index_at(packets, at)
        reader = chunks.mk_reader(start=chunk_holding(chunks, start), on_dropped="raise")
        return Tuning(reader, start, self)

    def _start_encoder(self, codec: Codec, bitrate_kbps: int) -> _Encoder:
        packets_per_second = 40 if codec == "mp3" else 1 / 0.2 + 1
        seconds = self._buffer_seconds + self._pacer.lead  # the past, and the burst ahead
        source: EncoderSource | RelayedSource
        if self._relayed is None:
            source = EncoderSource(self, codec, bitrate_kbps)
        else:
            source = RelayedSource(
                self._relayed(codec, bitrate_kbps),
                burst_packets=math.ceil(self._pacer.lead * packets_per_second),
                on_track=self._heard_relayed,
            )
        maxlen = int(seconds * packets_per_second)
        packets: StreamBuffer[Packet] = StreamBuffer(source, maxlen=maxlen, allow_equal_keys=True)
        packets.__enter__()  # the mount's own hold: released after the grace period
        tick = self.tick_seconds
        count = 1 if self.personal else PHASE_GROUPS
        origin = self._clock()
        grids = [TickGrid(origin, tick, tick * g / count) for g in range(count)]
        groups: list[StreamBuffer[Chunk]] = []
        for grid in grids:
            chunks: StreamBuffer[Chunk] = StreamBuffer(
                ChunkSource(packets, grid, self._clock, burst=self.burst_seconds + BURST_MARGIN),
                maxlen=math.ceil(seconds / self.tick_seconds) + 4,
            )
            chunks.__enter__()
            groups.append(chunks)
        return _Encoder(packets, source, groups, grids[0])

    def header(self, codec: Codec, bitrate_kbps: int) -> bytes:
        encoder = self._encoders.get((codec, bitrate_kbps))
        return encoder.source.header if encoder else b""

    def _burst_start(self, buffer: StreamBuffer[Packet]) -> int:
        """``burst_seconds`` back from the live edge (and a block more: packets of one
        block share its time, so the burst is never a block short)."""
        newest = buffer.number_of_items_inserted
        if newest == 0:
            return 0
        live_edge = buffer[newest - 1].at
        index = buffer.key_to_index(live_edge - self.burst_seconds - BLOCK_SECONDS)
        return buffer.oldest_index if index is None else max(index, buffer.oldest_index)

    def _index_at(self, buffer: StreamBuffer[Packet], at: float) -> int:
        """The first packet at or after program time ``at`` (the live edge if none yet)."""
        found = buffer.key_to_index(at)
        if found is None:
            return buffer.number_of_items_inserted
        return max(found, buffer.oldest_index)

    def _on_air_index(self) -> int | Literal["newest"]:
        """The PCM block heard now (a new encoder starts there), or ``"newest"`` when the
        PCM stage has not made it (stopped: it starts with the clock)."""
        pcm = self.pcm
        if not pcm.is_running or not self._paced:
            return "newest"
        heard = self._offset + round((self._clock() - self._pacer.wall_time(0.0)) * SAMPLE_RATE)
        after = pcm.key_to_index(heard, side="right")
        oldest, newest = pcm.span
        if after is None:
            return "newest" if newest == oldest else max(oldest, newest - 1)
        return max(oldest, after - 1)

    def leave(self, codec: Codec, bitrate_kbps: int) -> None:
        key = (codec, bitrate_kbps)
        with self._lock:
            remaining = self._listeners.get(key, 1) - 1
            self._listeners[key] = remaining
            if remaining <= 0:
                self._idle_since[key] = self._clock()
        self.reap()
        if self._on_idle is not None:
            self._on_idle()  # a new deadline for the reaper

    def reap(self, now: float | None = None) -> None:
        """Stop encoders that have had no listener for the grace period (by ``now``)."""
        now = self._clock() if now is None else now
        stopping: list[StreamBuffer[Any]] = []
        last_left: float | None = None
        with self._lock:
            for key, since in list(self._idle_since.items()):
                if now >= since + self.idle_grace_seconds and self._listeners.get(key, 0) <= 0:
                    encoder = self._encoders.pop(key, None)  # None: closed meanwhile
                    stopping.extend(encoder.buffers() if encoder else [])
                    self._idle_since.pop(key)
                    self._listeners.pop(key, None)
                    last_left = since if last_left is None else max(last_left, since)
            if last_left is not None and not self._encoders and self._quiet_since is None:
                self._quiet_since = last_left  # quiet since its last listener left
        for buffer in stopping:
            buffer.__exit__(None, None, None)

    def next_due(self) -> float | None:
        """When ``reap`` next has an encoder to stop (or, for a personal mount, when it
        will be ``quiet`` long enough to retire)."""
        grace = self.idle_grace_seconds
        with self._lock:
            if self._retired:
                return None
            dues = [since + grace for since in self._idle_since.values()]
            if self.personal and self._quiet_since is not None and not self._encoders:
                dues.append(self._quiet_since + grace)
        return min(dues) if dues else None

    def quiet(self, now: float) -> bool:
        """No encoder and no listener for the grace period by ``now``."""
        with self._lock:
            since = self._quiet_since
            return (
                not self._encoders and since is not None and now >= since + self.idle_grace_seconds
            )

    def retire(self, now: float, successor: Successor) -> bool:
        """Take the mount off the air if it is ``quiet`` by ``now``: its program is
        suspended where it was heard (``Program.suspend``); a listener who still holds
        this mount is handed to ``successor(True)``, and ``now``/``recent`` answer for
        ``successor(False)`` once there is one. False if it is not quiet."""
        with self._lock:
            since = self._quiet_since
            if (
                self._retired
                or self._encoders
                or since is None
                or now < since + self.idle_grace_seconds
            ):
                return False
            self._retired, self._successor = True, successor
        playing = self._now()  # the PCM stage stopped (and joined) with the last encoder
        self.program.suspend(playing.track, playing.position)
        return True

    @property
    def retired(self) -> bool:
        return self._retired

    def close(self) -> None:
        with self._lock:
            buffers = [b for encoder in self._encoders.values() for b in encoder.buffers()]
            self._encoders.clear()
            self._listeners.clear()
            self._idle_since.clear()
        for buffer in buffers:
            buffer.__exit__(None, None, None)
        self.program.close()

    # -- what is on air -----------------------------------------------------------------

    @property
    def encoders(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._encoders)

    def packets(self, codec: Codec, bitrate_kbps: int) -> StreamBuffer[Packet]:
        """The running encoder's packets (KeyError if it is not running): what a
        listener's burst and place in the program are measured on."""
        with self._lock:
            return self._encoders[(codec, bitrate_kbps)].packets

    def chunk_groups(self, codec: Codec, bitrate_kbps: int) -> list[StreamBuffer[Chunk]]:
        """The running encoder's chunk sequences, one per phase group (KeyError if it is
        not running); a listener reads one of them."""
        with self._lock:
            return list(self._encoders[(codec, bitrate_kbps)].groups)

    def drained(self) -> bool:
        """True when nothing on air waits to be consumed: the encoders have read all the
        program made, and every listener all the chunks cut. (The chunk cutters are left
        out: they read the packets when their tick comes, not as they arrive.) A running
        program must be parked on the clock too — not busy decoding or measuring the next
        track — or time would jump past what it has yet to make. Simulated time advances
        only then, so in a test no stage falls out of a ring because the clock outran the
        CPU (``qfzz.testing.SimulatedClock``)."""
        if self.pcm.is_running and not self._pacer.waiting:
            return False
        with self._lock:
            encoders = list(self._encoders.values())
        buffers: list[StreamBuffer[Any]] = [self.pcm]
        buffers.extend(group for encoder in encoders for group in encoder.groups)
        return all(buffer.readers_behind() == 0 for buffer in buffers)

    def listener_count(self) -> int:
        with self._lock:
            return sum(n for n in self._listeners.values() if n > 0)

    def now(self) -> NowPlaying:
        """What is heard now (a resumed track counts from where it was resumed)."""
        if self._retired and (successor := self._live_successor()) is not None:
            return successor.now()
        return self._now()

    def _now(self) -> NowPlaying:
        with self._air_lock:
            now = self._settle()
            track, started = self._current
        offset = track.start_seconds if track is not None else 0.0
        return NowPlaying(track, started, offset + max(0.0, now - started))

    def recent(self, start: float, end: float) -> list[tuple[float, float, QueuedTrack]]:
        """Tracks on air during ``[start, end)`` (wall-clock seconds), by interval query."""
        if self._retired and (successor := self._live_successor()) is not None:
            return successor.recent(start, end)
        with self._air_lock:
            now = self._settle()
            found = self.history.query(start, end, how="overlaps")
            track, started = self._current
        if track is not None and started < end:
            found.append((started, max(started, now), track))
        return found

    def _live_successor(self) -> Mount | None:
        successor = self._successor(False) if self._successor is not None else None
        return successor if successor is not None and successor is not self else None

    def _observe(self, block: PcmBlock) -> None:
        """Note track changes as the wall-clock times they will be heard (the program is
        made ahead of the clock; ``now`` and ``recent`` settle them as time reaches them)."""
        if block.track is not self._made:
            at = self._pacer.wall_time((block.start - self._offset) / SAMPLE_RATE)
            with self._air_lock:
                self._changes.append((block.track, at))
                self._made = block.track

    def _heard_relayed(self, track: QueuedTrack | None, at: float) -> None:
        """A relayed mount's track change, heard at wall-clock time ``at``."""
        with self._air_lock:
            if self._changes and self._changes[-1][1] > at:
                return  # an older change told again (a reader that reopened)
            self._changes.append((track, at))

    def heard_at(self, packet_at: float) -> float:
        """The wall-clock time a packet of this mount (program time ``packet_at``) is
        heard at: what its entry in a relayed mount's log says."""
        return self._pacer.wall_time(packet_at - self._offset / SAMPLE_RATE)

    def _restarted(self) -> None:
        """The PCM stage starts again: what was made ahead but never heard is forgotten."""
        with self._air_lock:
            self._settle()
            self._changes.clear()
            self._made = self._current[0]

    def _settle(self) -> float:
        """Move the changes the clock has reached into ``_current`` and the history
        (``_air_lock`` held); returns the time read."""
        now = self._clock()
        while self._changes and self._changes[0][1] <= now:
            track, at = self._changes.popleft()
            previous, started = self._current
            if previous is not None:
                self.history.append((started, max(started, at), previous))
            self._current = (track, at)
        return now
