"""Shared chunks: an encoder's packets joined once per tick, sent as is to every listener.

Joining forty MP3 frames into one ``bytes`` per listener per second was most of what a
listener cost. Icecast's answer is ours: the encoder's output is cut into chunks of one
tick (a second on a shared mount) by one producer, and the same ``bytes`` object goes to
every listener at the live edge — a listener costs one wake-up and one write per tick.

Chunks live in a ``qfzz.streams`` buffer keyed by their first packet's index, so a new
listener starts from the chunk holding its burst start (sending only that chunk's tail),
and a listener that falls out of the ring is told (``IndexDropped``) like any reader.
Each chunk keeps the byte offset of every packet and *marks* where the stream title or
track changes, which is all that ICY metadata and bitrate switches at track boundaries
need.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from qfzz.broadcast._clock import Alarm, Clock
from qfzz.streams import BufferReader, EndOfStream, SourceReader, StreamBuffer

_ALL = 1 << 16  # more packets than any ring holds
#: Empty reads (of 0.1 s each) a cold encoder's first cut waits for the rest of its burst.
BURST_PATIENCE = 50


@dataclass(frozen=True, slots=True)
class Packet:
    """Encoded audio that starts ``at`` seconds into the mount's program."""

    at: float
    data: bytes
    title: str
    track_id: int | None


@dataclass(frozen=True, slots=True)
class Mark:
    """Where, in a chunk, the stream title or the track changes."""

    offset: int  # byte offset in the chunk's data
    index: int  # absolute index of the packet that starts there
    at: float  # program seconds at that packet
    title: str
    track_id: int | None


@dataclass(frozen=True, slots=True)
class Chunk:
    """Packets ``start..end-1`` of one encoder, joined; ``marks[0]`` is at offset 0."""

    start: int
    end: int
    data: bytes
    offsets: tuple[int, ...]  # byte offset of each packet in ``data``
    times: tuple[float, ...]  # program seconds at each packet
    marks: tuple[Mark, ...]

    def since(self, index: int) -> Chunk:
        """The part from packet ``index`` on (the whole chunk if it starts later)."""
        if index <= self.start:
            return self
        if index >= self.end:
            return Chunk(self.end, self.end, b"", (), (), ())
        first = index - self.start
        cut = self.offsets[first]
        current = [m for m in self.marks if m.index <= index][-1]
        later = [replace(m, offset=m.offset - cut) for m in self.marks if m.index > index]
        head = replace(current, offset=0, index=index, at=self.times[first])
        return Chunk(
            index,
            self.end,
            self.data[cut:],
            tuple(o - cut for o in self.offsets[first:]),
            self.times[first:],
            (head, *later),
        )

    def before(self, mark: Mark) -> Chunk:
        """The part before ``mark`` (where a listener leaves this encoder)."""
        count = mark.index - self.start
        return Chunk(
            self.start,
            mark.index,
            self.data[: mark.offset],
            self.offsets[:count],
            self.times[:count],
            tuple(m for m in self.marks if m.index < mark.index),
        )

    def segments(self) -> Iterator[tuple[bytes, Mark]]:
        """The data cut at its marks, each piece with the mark (title) it plays under."""
        marks = self.marks
        if not marks:
            return
        if len(marks) == 1:
            yield self.data, marks[0]
            return
        for mark, following in zip(marks, (*marks[1:], None), strict=True):
            stop = len(self.data) if following is None else following.offset
            yield self.data[mark.offset : stop], mark


def join_packets(start: int, packets: list[Packet], previous: Packet | None) -> Chunk:
    """Packets ``start, start+1, …`` as one chunk; ``previous`` is the packet before them."""
    offsets: list[int] = []
    marks: list[Mark] = []
    size = 0
    last = previous
    for i, packet in enumerate(packets):
        offsets.append(size)
        if (
            not marks
            or last is None
            or packet.title != last.title
            or packet.track_id != last.track_id
        ):
            marks.append(Mark(size, start + i, packet.at, packet.title, packet.track_id))
        size += len(packet.data)
        last = packet
    data = b"".join([packet.data for packet in packets])
    times = tuple(packet.at for packet in packets)
    return Chunk(start, start + len(packets), data, tuple(offsets), times, tuple(marks))


@dataclass(frozen=True, slots=True)
class TickGrid:
    """When one phase group's chunks are cut: every ``tick`` seconds at ``phase`` past
    ``origin`` (the encoder's start) — and every quarter tick during the first tick, so
    the first listener of a cold encoder is not left with a tenth of a second of audio
    for a whole tick."""

    origin: float
    tick: float
    phase: float = 0.0

    def after(self, t: float) -> float:
        """The first cutting time after ``t``."""
        if t < self.origin + self.tick:
            start, step = self.origin, self.tick / 4
        else:
            start, step = self.origin + self.phase, self.tick
        due = start + (math.floor((t - start) / step) + 1) * step
        return due if due > t else due + step  # rounding may land on ``t`` itself


class ChunkSource(SourceReader[Chunk]):
    """Reads an encoder's packet buffer and cuts it into chunks at the times of ``grid``."""

    def __init__(
        self, packets: StreamBuffer[Packet], grid: TickGrid, clock: Clock, *, burst: float = 0.0
    ) -> None:
        self._packets = packets
        self._grid = grid
        self._clock = clock
        self._burst = burst
        self._stopping = Alarm()
        self._reader: BufferReader[Packet] | None = None
        self._previous: Packet | None = None
        self._due = grid.origin
        self._first = True

    def open(self) -> None:
        self._stopping.clear()
        self._due, self._previous, self._first = self._grid.origin, None, True
        # From the oldest packet: a listener arriving now gets its burst from the chunks.
        self._reader = self._packets.mk_reader(start="oldest", on_dropped="skip")
        self._reader.enter()

    def read(self) -> Chunk | None:
        reader = self._reader
        assert reader is not None
        while not self._stopping.is_set():
            if self._clock.wait_until(self._due, self._stopping):
                break
            try:
                packets = reader.read_many(_ALL, block=True, timeout=0.1)
            except EndOfStream:  # the encoder stopped: so do its chunks
                return None
            if packets:
                if self._first:
                    self._first = False
                    packets.extend(self._rest_of_burst(reader, packets[0].at))
                self._due = self._grid.after(max(self._due, self._clock()))
                start = reader.position - len(packets)  # after any packets it skipped
                chunk = join_packets(start, packets, self._previous)
                self._previous = packets[-1]
                return chunk
        return None

    def _rest_of_burst(self, reader: BufferReader[Packet], first: float) -> list[Packet]:
        """The packets after the first ones until they span the burst (the program is
        made that far ahead of the clock, so they come without the clock moving): a cold
        encoder's first listener gets its burst in the first chunk, not a tick at a time.

        Waits only for the encoder's work, never on the clock; a guard of
        ``BURST_PATIENCE`` empty reads ends it if the encoder stalls."""
        more: list[Packet] = []
        empty = 0
        last = first
        while last - first < self._burst and empty < BURST_PATIENCE:
            if self._stopping.is_set():
                break
            try:
                got = reader.read_many(_ALL, block=True, timeout=0.1)
            except EndOfStream:
                break
            if not got:
                empty += 1
                continue
            more.extend(got)
            last = got[-1].at
        return more

    def close(self) -> None:
        if self._reader is not None:
            self._reader.exit()
        self._reader = None

    def key(self, item: Chunk) -> int:
        return item.start

    def interrupt(self) -> None:
        self._stopping.set()


def chunk_holding(chunks: StreamBuffer[Chunk], packet_index: int) -> int:
    """The index of the chunk that holds packet ``packet_index`` (the live edge if none
    does yet; the oldest chunk if it was dropped)."""
    after = chunks.key_to_index(packet_index, side="right")
    newest = chunks.number_of_items_inserted
    if after is None:  # every chunk starts at or before it: the newest, or the next one
        if newest == 0 or chunks[newest - 1].end <= packet_index:
            return newest
        return newest - 1
    return max(after - 1, chunks.oldest_index)
