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
from typing import Any

from qfzz.audio import SAMPLE_RATE, Codec, LiveEncoder
from qfzz.broadcast._chunks import Chunk, ChunkSource, Packet, TickGrid, chunk_holding
from qfzz.broadcast._clock import Alarm, Clock, as_clock
from qfzz.broadcast._program import PcmBlock, Program, QueuedTrack
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


@dataclass(frozen=True, slots=True)
class Tuning:
    """A listener's place on one encoder: a reader of its phase group's chunks, and the
    packet at which its audio starts (the chunk the reader is on may begin earlier)."""

    reader: BufferReader[Chunk]
    start: int

    def to_live_edge(self) -> None:
        """Skip to the next chunk (a listener that fell out of the ring)."""
        self.reader.seek(self.reader.buffer.number_of_items_inserted)


@dataclass(frozen=True, slots=True)
class _Encoder:
    """One (codec, bitrate) on air: its packets, and their chunks per phase group."""

    packets: StreamBuffer[Packet]
    source: EncoderSource
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

    def __init__(self, clock: Clock, *, lead: float = 0.5) -> None:
        self._clock = clock
        self._lead = lead
        self._wake = Alarm()
        self._origin = 0.0

    def start(self) -> None:
        self._origin = self._clock()
        self._wake.clear()

    def interrupt(self) -> None:
        self._wake.set()

    def wall_time(self, program_seconds: float) -> float:
        return self._origin + program_seconds

    def wait_until(self, program_seconds: float) -> None:
        self._clock.wait_until(self.wall_time(program_seconds - self._lead), self._wake)


class PcmSource(SourceReader[PcmBlock]):
    """The program, paced by the mount's clock, as a stream source."""

    def __init__(self, mount: Mount) -> None:
        self._mount = mount

    def open(self) -> None:
        self._mount._pacer.start()
        self._first = True

    def read(self) -> PcmBlock | None:
        mount = self._mount
        block = mount.program.next_block()
        if self._first:  # pacing counts from the first block after (re)starting
            mount._offset, self._first = block.start, False
        mount._observe(block)
        mount._pacer.wait_until((block.start - mount._offset) / SAMPLE_RATE)
        return block

    def close(self) -> None:
        pass

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
        self._reader = self._mount.pcm.mk_reader(start="newest", on_dropped="skip")
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


class Mount:
    """One program on air; ``listen(codec, bitrate)`` gives a reader of its packets."""

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
    ) -> None:
        self.name = name
        self.personal = personal  # one listener's radio, not a shared station
        self.description = description
        self.program = program
        self.burst_seconds = burst_seconds
        self.idle_grace_seconds = idle_grace_seconds
        self._clock = as_clock(clock)  # paces the program and cuts chunks
        self._pacer = Pacer(self._clock)
        self._offset = 0
        self._buffer_seconds = buffer_seconds
        self.pcm: StreamBuffer[PcmBlock] = StreamBuffer(
            PcmSource(self), maxlen=max(20, int(5 / BLOCK_SECONDS))
        )
        self.tick_seconds = PERSONAL_TICK_SECONDS if personal else SHARED_TICK_SECONDS
        self._encoders: dict[tuple[str, int], _Encoder] = {}
        self._listeners: dict[tuple[str, int], int] = {}
        self._idle_since: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()
        self.history: IndexedBuffer[tuple[float, float, QueuedTrack]] = IndexedBuffer(
            10_000, bounds=Intervals()
        )
        self._current: tuple[QueuedTrack | None, float] = (None, self._clock())
        self._listeners_total = 0

    # -- listening ----------------------------------------------------------------------

    def tune_in(self, codec: Codec, bitrate_kbps: int, at: float | None = None) -> Tuning:
        """A new listener of (codec, bitrate), starting ``burst_seconds`` back from the live
        edge — or at program time ``at`` (a listener moving here from another bitrate).

        Starts the encoder if it is not running. The caller must ``enter()`` (or ``async
        with``) the reader and call ``leave`` when done.
        """
        key = (codec, bitrate_kbps)
        with self._lock:
            encoder = self._encoders.get(key)
            if encoder is None:
                encoder = self._encoders[key] = self._start_encoder(codec, bitrate_kbps)
            self._listeners[key] = self._listeners.get(key, 0) + 1
            self._listeners_total += 1
            self._idle_since.pop(key, None)
        packets = encoder.packets
        start = self._burst_start(packets) if at is None else self._index_at(packets, at)
        chunks = encoder.groups[encoder.group_for(self._clock())]
        reader = chunks.mk_reader(start=chunk_holding(chunks, start), on_dropped="raise")
        return Tuning(reader, start)

    def _start_encoder(self, codec: Codec, bitrate_kbps: int) -> _Encoder:
        source = EncoderSource(self, codec, bitrate_kbps)
        packets_per_second = 40 if codec == "mp3" else 1 / 0.2 + 1
        maxlen = int(self._buffer_seconds * packets_per_second)
        packets: StreamBuffer[Packet] = StreamBuffer(source, maxlen=maxlen, allow_equal_keys=True)
        packets.__enter__()  # the mount's own hold: released after the grace period
        tick = self.tick_seconds
        count = 1 if self.personal else PHASE_GROUPS
        origin = self._clock()
        grids = [TickGrid(origin, tick, tick * g / count) for g in range(count)]
        groups: list[StreamBuffer[Chunk]] = []
        for grid in grids:
            chunks: StreamBuffer[Chunk] = StreamBuffer(
                ChunkSource(packets, grid, self._clock),
                maxlen=math.ceil(self._buffer_seconds / self.tick_seconds) + 4,
            )
            chunks.__enter__()
            groups.append(chunks)
        return _Encoder(packets, source, groups, grids[0])

    def header(self, codec: Codec, bitrate_kbps: int) -> bytes:
        encoder = self._encoders.get((codec, bitrate_kbps))
        return encoder.source.header if encoder else b""

    def _burst_start(self, buffer: StreamBuffer[Packet]) -> int:
        newest = buffer.number_of_items_inserted
        if newest == 0:
            return 0
        live_edge = buffer[newest - 1].at
        index = buffer.key_to_index(live_edge - self.burst_seconds)
        return buffer.oldest_index if index is None else max(index, buffer.oldest_index)

    def _index_at(self, buffer: StreamBuffer[Packet], at: float) -> int:
        """The first packet at or after program time ``at`` (the live edge if none yet)."""
        found = buffer.key_to_index(at)
        if found is None:
            return buffer.number_of_items_inserted
        return max(found, buffer.oldest_index)

    def leave(self, codec: Codec, bitrate_kbps: int) -> None:
        key = (codec, bitrate_kbps)
        with self._lock:
            remaining = self._listeners.get(key, 1) - 1
            self._listeners[key] = remaining
            if remaining <= 0:
                self._idle_since[key] = self._clock()
        self.reap()

    def reap(self) -> None:
        """Stop encoders that have had no listener for the grace period."""
        now = self._clock()
        stopping: list[StreamBuffer[Any]] = []
        with self._lock:
            for key, since in list(self._idle_since.items()):
                if now - since >= self.idle_grace_seconds and self._listeners.get(key, 0) <= 0:
                    encoder = self._encoders.pop(key, None)  # None: closed meanwhile
                    stopping.extend(encoder.buffers() if encoder else [])
                    self._idle_since.pop(key)
                    self._listeners.pop(key, None)
        for buffer in stopping:
            buffer.__exit__(None, None, None)

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
        out: they read the packets when their tick comes, not as they arrive.) Simulated
        time advances only then, so in a test no stage falls out of a ring because the
        clock outran the CPU (``qfzz.testing.SimulatedClock``)."""
        with self._lock:
            encoders = list(self._encoders.values())
        buffers: list[StreamBuffer[Any]] = [self.pcm]
        buffers.extend(group for encoder in encoders for group in encoder.groups)
        return all(buffer.readers_behind() == 0 for buffer in buffers)

    def listener_count(self) -> int:
        with self._lock:
            return sum(n for n in self._listeners.values() if n > 0)

    def now(self) -> NowPlaying:
        track, started = self._current
        return NowPlaying(track, started, max(0.0, self._clock() - started))

    def recent(self, start: float, end: float) -> list[tuple[float, float, QueuedTrack]]:
        """Tracks on air during ``[start, end)`` (wall-clock seconds), by interval query."""
        found = self.history.query(start, end, how="overlaps")
        track, started = self._current
        if track is not None and started < end:
            found.append((started, max(started, self._clock()), track))
        return found

    def _observe(self, block: PcmBlock) -> None:
        """Note track changes, as wall-clock times of when they are heard."""
        track, started = self._current
        if block.track is not track:
            at = self._pacer.wall_time((block.start - self._offset) / SAMPLE_RATE)
            if track is not None:
                self.history.append((started, max(started, at), track))
            self._current = (block.track, at)
