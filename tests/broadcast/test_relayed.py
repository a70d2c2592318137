"""A mount heard through a log that another process makes: its listeners get the log's
packets, from their burst on, in order, with the track changes; a packet older than one
already heard (a new maker's first seconds) is skipped. On simulated time."""

from __future__ import annotations

import threading

from qfzz.broadcast import (
    Mount,
    Packet,
    Program,
    QueuedTrack,
    RelayedSource,
    entry_packet,
    packet_entry,
)
from qfzz.testing import SimulatedClock

START = 1_800_000_000.0
RATE = 40  # packets a second, as MP3 at 44.1 kHz is near


class _Silence:
    """A program that is never started (the relayed mount encodes nothing)."""

    def next_track(self) -> QueuedTrack | None:
        return None

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        pass

    def failed(self, track: QueuedTrack, reason: str) -> None:
        pass


class MemoryFeed:
    """A PacketLog in memory: ids "1", "2", …; a read waits (briefly) for the next."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, bytes]]] = []
        self._changed = threading.Condition()

    def add(self, fields: dict[str, bytes]) -> None:
        with self._changed:
            self.entries.append((str(len(self.entries) + 1), fields))
            self._changed.notify_all()

    def tail(self, count: int) -> list[tuple[str, dict[str, bytes]]]:
        with self._changed:
            return list(self.entries[-count:])

    def read(self, after: str, *, wait: float, count: int = 256):
        seen = int(after)
        with self._changed:
            self._changed.wait_for(lambda: len(self.entries) > seen, timeout=wait)
            return list(self.entries[seen : seen + count])


def _track(n: int) -> QueuedTrack:
    return QueuedTrack(n, f"/music/{n}.mp3", f"Song {n}", "Band", "Album", 180.0)


def _feed_seconds(feed: MemoryFeed, first: float, seconds: float, track: QueuedTrack) -> bytes:
    made = b""
    for i in range(int(seconds * RATE)):
        data = f"<{track.track_id}:{first + i / RATE:.3f}>".encode()
        packet = Packet(0.0, data, track.stream_title, track.track_id)
        feed.add(packet_entry(packet, first + i / RATE, track, b""))
        made += data
    return made


def test_an_entry_round_trips_and_junk_is_refused():
    packet = Packet(0.0, b"\xff\xfbdata", "Band - Song 1", 1)
    fields = packet_entry(packet, START + 1.5, _track(1), b"OggS")
    assert entry_packet({**fields, "epoch": b"x"}) is None
    found = entry_packet(fields)
    assert found is not None
    relayed, track, header, epoch = found
    assert (relayed.at, relayed.data, relayed.track_id) == (START + 1.5, b"\xff\xfbdata", 1)
    assert track == _track(1) and header == b"OggS" and epoch == 0
    assert entry_packet({"data": b"x"}) is None
    assert entry_packet({**fields, "at": b"nan"}) is None
    assert entry_packet({**fields, "track_id": b"one"}) is None
    assert entry_packet({**fields, "title": b"\xff\xfe"}) is None


def test_listeners_of_a_relayed_mount_hear_the_log_in_order_with_its_tracks():
    clock = SimulatedClock(START)
    feed = MemoryFeed()
    early = _feed_seconds(feed, START - 3.0, 3.0, _track(1))  # the maker's past
    mount = Mount(
        "main",
        Program(_Silence()),
        clock=clock,
        burst_seconds=1.0,
        buffer_seconds=8.0,
        relayed=lambda codec, bitrate: feed,
    )
    clock.auto_advance(mount.drained)
    try:
        tuning = mount.tune_in("mp3", 128)
        heard = b""
        with tuning.reader:
            later = _feed_seconds(feed, START, 2.0, _track(2))  # made while we listen
            stale = Packet(0.0, b"<stale>", "Band - Song 9", 9)
            feed.add(packet_entry(stale, START + 1.0, _track(9), b""))  # older than heard
            last = _feed_seconds(feed, START + 2.0, 1.0, _track(2))
            while not heard.endswith(last):
                for chunk in tuning.reader.read_many(64, block=True, timeout=1.0):
                    heard += chunk.since(tuning.start).data
        mount.leave("mp3", 128)
        assert b"<stale>" not in heard
        assert heard.endswith(later + last)
        burst = heard[: len(heard) - len(later + last)]
        assert burst and early.endswith(burst)  # the burst: the latest of the past, whole
        assert clock() >= START  # the chunks of track 2 were cut, so its time has come
        now = mount.now()
        assert now.track is not None and now.track.track_id == 2
        played = mount.recent(START - 5.0, clock() + 1.0)
        assert [t.track_id for _, _, t in played] == [1, 2]
    finally:
        clock.close()
        mount.close()


def test_a_maker_whose_lease_was_taken_is_fenced_off_by_its_readers():
    feed = MemoryFeed()

    def made(epoch: int, seconds: range) -> list[bytes]:
        out = []
        for second in seconds:
            data = f"<e{epoch}:{second}>".encode()
            packet = Packet(0.0, data, "Band - Song 1", 1)
            feed.add(packet_entry(packet, START + second, _track(1), b"", epoch))
            out.append(data)
        return out

    first = made(1, range(0, 10))
    second = made(2, range(10, 15))  # the lease moved on: epoch 2
    made(1, range(15, 20))  # the old maker wakes from a stall and appends on: fenced off
    third = made(2, range(20, 25))
    source = RelayedSource(feed, burst_packets=100)
    source.open()
    try:
        heard = [source.read() for _ in range(20)]
    finally:
        source.interrupt()
        source.close()
    assert [p.data for p in heard if p is not None] == first + second + third
