"""A mount heard through a log: its packets made by another process, read here.

With several processes serving one station, a shared mount is encoded once — by the
process holding its lease — and that process appends every packet it makes to a log on
the cache server (``qfzz.cache.PacketLog``), one log per (codec, bitrate). Every process
(the maker too) serves its own listeners from that log: a :class:`RelayedSource` is the
packet source of its mount's encoder stage, in place of an encoder, so everything after
it — chunks cut per phase group, bursts, ICY titles, listener sessions — is as for a
mount encoded here.

A packet's time in the log is the wall-clock second it is heard at (not a program's own
seconds, which start again when another process takes the mount over), so it only grows
across makers; a packet older than one already read (the new maker's first seconds,
made while the old maker's last ones were still ahead of the clock) is skipped. Each
entry carries the epoch of the lease its maker held: once a later epoch's packets have
come, an earlier one's are dropped (a maker that stalled past its lease and woke up still
appending is fenced off by its readers). Each
entry also names its track, and carries the encoder's stream header when that changes
(an Ogg/Opus stream's header pages; empty for MP3).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

from qfzz.broadcast._chunks import Packet
from qfzz.broadcast._program import QueuedTrack
from qfzz.streams import SourceReader

log = logging.getLogger(__name__)

#: The log's entries: an id and byte fields.
Entry = tuple[str, dict[str, bytes]]
#: Seconds a read waits on the server before checking whether to stop.
READ_WAIT = 0.25
#: Seconds to wait after a read the server could not answer.
RETRY_PAUSE = 0.5
#: Fields a track change carries, and their lengths at most (from our own maker, but a
#: log on a shared server is input like any other).
_TRACK_FIELDS = ("track_id", "path", "title", "artist", "album", "duration")
_MAX_TEXT = 1024


class PacketFeed(Protocol):
    """What a relayed mount reads: ``qfzz.cache.PacketLog`` is one."""

    def tail(self, count: int) -> list[Entry] | None: ...

    def read(self, after: str, *, wait: float, count: int = 256) -> list[Entry] | None: ...


def packet_entry(
    packet: Packet, heard_at: float, track: QueuedTrack | None, header: bytes, epoch: int = 0
) -> dict[str, bytes]:
    """A packet made here as a log entry: heard at ``heard_at`` (wall clock), the track
    on air, the encoder's header (for a new listener), and the epoch of the lease it was
    made under (readers drop a maker's packets once a later epoch's have come)."""
    fields = {
        "at": repr(heard_at).encode(),
        "data": packet.data,
        "header": header,
        "epoch": str(epoch).encode(),
    }
    if track is not None:
        fields.update(
            track_id=str(track.track_id).encode(),
            path=track.path.encode(),
            title=track.title.encode(),
            artist=track.artist.encode(),
            album=(track.album or "").encode(),
            duration=repr(track.duration if track.duration is not None else -1.0).encode(),
        )
    return fields


def entry_packet(
    fields: dict[str, bytes],
) -> tuple[Packet, QueuedTrack | None, bytes, int] | None:
    """The packet, track, header and lease epoch of a log entry (None: not one of ours)."""
    try:
        at = float(fields["at"])
        data = fields["data"]
        header = fields.get("header", b"")
        epoch = int(fields.get("epoch", b"0"))
        track = None
        if "track_id" in fields:
            texts = {k: fields[k].decode() for k in _TRACK_FIELDS}
            if any(len(v) > _MAX_TEXT for v in texts.values()):
                return None
            duration = float(texts["duration"])
            track = QueuedTrack(
                int(texts["track_id"]),
                texts["path"],
                texts["title"],
                texts["artist"],
                texts["album"] or None,
                duration if duration >= 0 else None,
            )
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    if not math.isfinite(at):
        return None
    title = track.stream_title if track is not None else ""
    packet = Packet(at, data, title, track.track_id if track is not None else None)
    return packet, track, header, epoch


class RelayedSource(SourceReader[Packet]):
    """One (codec, bitrate) of a relayed mount: its packets, read from ``feed``.

    Opening takes the last ``burst_packets`` entries (a new listener's burst), then reads
    on from the last id read; a server that does not answer is asked again after a pause
    (the listeners hear silence meanwhile, then the log goes on). ``on_track`` is told
    each track change with the wall-clock time it is heard at (now playing, history).
    """

    def __init__(
        self,
        feed: PacketFeed,
        *,
        burst_packets: int,
        on_track: Callable[[QueuedTrack | None, float], None] | None = None,
    ) -> None:
        self._feed = feed
        self._burst = burst_packets
        self._on_track = on_track
        self._queue: deque[Packet] = deque()
        self._after = "0"
        self._last_at = -math.inf
        self._track_id: int | None = None
        self._epoch = 0  # the highest lease epoch of a packet taken
        self._stopping = threading.Event()
        self.header = b""

    def open(self) -> None:
        self._stopping.clear()
        self._queue.clear()
        self._last_at, self._track_id, self._epoch = -math.inf, None, 0
        tail = self._feed.tail(self._burst)
        self._after = "0"
        if tail:
            self._take(tail)

    def read(self) -> Packet | None:
        while not self._queue:
            if self._stopping.is_set():
                return None
            entries = self._feed.read(self._after, wait=READ_WAIT)
            if entries is None:  # the server did not answer: ask again a little later
                self._stopping.wait(RETRY_PAUSE)
                continue
            self._take(entries)
        return self._queue.popleft()

    def _take(self, entries: list[Entry]) -> None:
        for entry_id, fields in entries:
            self._after = entry_id
            found = entry_packet(fields)
            if found is None:
                log.warning("skipped a malformed entry of a relayed mount")
                continue
            packet, track, header, epoch = found
            if epoch < self._epoch:  # a maker whose lease another took: fenced off
                continue
            if packet.at < self._last_at:  # a new maker's first seconds: already heard
                continue
            self._epoch = epoch
            if header:
                self.header = header
            if packet.track_id != self._track_id and self._on_track is not None:
                self._on_track(track, packet.at)
            self._track_id, self._last_at = packet.track_id, packet.at
            self._queue.append(packet)

    def close(self) -> None:
        self._queue.clear()

    def key(self, item: Packet) -> float:
        return item.at

    def interrupt(self) -> None:
        self._stopping.set()
