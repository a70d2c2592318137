"""The station's shared mounts, made once and heard through every process.

With several processes serving one station, each shared mount (``QFZZ_MOUNTS``) is
encoded by one process only: the one holding the lease ``mount:<name>``
(``store.leases``, with a fencing epoch). That process plays the mount's program here
(``Radio.source``) and appends every packet of each wanted (codec, bitrate) to the mount's
log on the cache server (``cache.PacketLog``), stamped with the wall-clock time it is
heard at. Every process, the maker too, serves its listeners from the log
(``Radio.mount`` is relayed: ``broadcast.RelayedSource``), and marks the (codec, bitrate)
its listeners want (``cache.Presence``); the maker encodes what is marked, and stops an
encoder nobody marks any more (after the mount's grace period).

Each process runs one loop on the station's clock: every ``ttl / 3`` seconds it marks
what its listeners want, then takes or renews each mount's lease. If the maker dies, its
lease runs out within ``ttl`` and the next process to try takes it, one epoch on, and
starts the program afresh; its packets are stamped later than the last ones heard, so
listeners go on without reconnecting (the old maker had made a few seconds ahead of the
clock, which cover most of the gap). A maker that finds its lease gone (it stalled past
its expiry) stops making at once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import cast

from qfzz.audio import Codec
from qfzz.broadcast import Alarm, Clock, Mount, QueuedTrack, as_clock, packet_entry
from qfzz.cache import PacketLog, Presence
from qfzz.station._radio import Radio
from qfzz.store import Lease, LeaseRepository

log = logging.getLogger(__name__)

#: Seconds a mount's lease lasts unless renewed (renewed every third of it).
LEASE_SECONDS = 3.0


class _Publisher:
    """Appends one (codec, bitrate) of a mount made here to its log, on a thread."""

    def __init__(
        self,
        mount: Mount,
        codec: Codec,
        bitrate_kbps: int,
        log_: PacketLog,
        track_of: Callable[[int], QueuedTrack | None],
        epoch: int,
    ) -> None:
        self._mount = mount
        self._epoch = epoch
        self._codec = codec
        self._bitrate = bitrate_kbps
        self._log = log_
        self._track_of = track_of
        self._stop = threading.Event()
        tuning = mount.tune_in(codec, bitrate_kbps)  # a listener: the encoder runs for it
        self._reader = mount.packets(codec, bitrate_kbps).mk_reader(
            start=tuning.start, on_dropped="skip"
        )
        name = f"qfzz-on-air-{mount.name}-{codec}-{bitrate_kbps}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        track: QueuedTrack | None = None
        with self._reader:
            while not self._stop.is_set():
                try:
                    packets = self._reader.read_many(64, block=True, timeout=0.25)
                except Exception:  # the encoder stopped (the mount closed): done
                    return
                header = self._mount.header(self._codec, self._bitrate)
                for packet in packets:
                    if packet.track_id is not None and (
                        track is None or track.track_id != packet.track_id
                    ):
                        track = self._track_of(packet.track_id)
                    heard_at = self._mount.heard_at(packet.at)
                    entry = packet_entry(packet, heard_at, track, header, self._epoch)
                    if self._log.append(entry) is None:
                        log.warning("could not append to %s", self._log.key)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._mount.leave(self._codec, self._bitrate)


class OnAir:
    """Takes and keeps the shared mounts' leases, and makes the mounts it holds."""

    def __init__(
        self,
        radio: Radio,
        leases: LeaseRepository,
        *,
        log_of: Callable[[str, Codec, int], PacketLog],
        wants: Presence,
        track_of: Callable[[int], QueuedTrack | None],
        clock: Clock | Callable[[], float],
        ttl: float = LEASE_SECONDS,
    ) -> None:
        self._radio = radio
        self._leases = leases
        self._log_of = log_of
        self._wants = wants
        self._track_of = track_of
        self._clock = as_clock(clock)
        self._ttl = ttl
        #: This process, as a lease holder.
        self.holder = uuid.uuid4().hex
        self.held: dict[str, Lease] = {}
        self._publishers: dict[tuple[str, str, int], _Publisher] = {}
        self._wake = Alarm()
        self._thread: threading.Thread | None = None
        self._running = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._running = True
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="qfzz-on-air", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop making mounts and give their leases up (the next maker need not wait)."""
        thread, self._thread = self._thread, None
        self._running = False
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10)
        for name in list(self.held):
            self._lose(name, release=True)

    def _run(self) -> None:
        while self._running:
            now = self._clock()
            try:
                self.tick(now)
            except Exception:  # the store or the cache hiccuped: the next tick tries again
                log.exception("keeping the shared mounts")
            self._clock.wait_until(now + self._ttl / 3, self._wake)

    def tick(self, now: float) -> None:
        """Mark what this process's listeners want, then take or renew each lease and
        make what is wanted of the mounts held."""
        for name in self._radio.mount_names:
            for codec, bitrate in self._radio.mount(name).encoders:  # relayed: listened here
                item = f"{name}:{codec}:{bitrate}"
                self._wants.mark(item, ttl=self._ttl * 2, holder=self.holder)
        wanted = self._wants.items()
        for name in self._radio.mount_names:
            lease = self._leases.acquire(f"mount:{name}", self.holder, now=now, ttl=self._ttl)
            if lease is None:
                if name in self.held:
                    log.warning("lost the lease of mount %s: another process makes it", name)
                    self._lose(name, release=False)
                continue
            if name not in self.held:
                log.info("making mount %s for the station (lease epoch %d)", name, lease.epoch)
            self.held[name] = lease
            if wanted is not None:
                self._make(name, wanted, lease.epoch)

    def _make(self, name: str, wanted: set[str], epoch: int) -> None:
        """Publish each wanted (codec, bitrate) of ``name``; stop the ones nobody wants."""
        keep: set[tuple[str, str, int]] = set()
        for item in wanted:
            mount_name, _, rest = item.partition(":")
            codec, _, bitrate = rest.partition(":")
            if mount_name != name or codec not in ("mp3", "opus") or not bitrate.isdigit():
                continue
            chosen = cast(Codec, codec)
            key = (name, chosen, int(bitrate))
            keep.add(key)
            if key not in self._publishers:
                feed = self._log_of(name, chosen, int(bitrate))
                source = self._radio.source(name)
                self._publishers[key] = _Publisher(
                    source, chosen, int(bitrate), feed, self._track_of, epoch
                )
        for gone in [k for k in self._publishers if k[0] == name and k not in keep]:
            self._publishers.pop(gone).stop()

    def _lose(self, name: str, *, release: bool) -> None:
        for key in [k for k in self._publishers if k[0] == name]:
            self._publishers.pop(key).stop()
        self._radio.drop_source(name)
        lease = self.held.pop(name, None)
        if release and lease is not None:
            self._leases.release(lease, now=self._clock())

    def making(self) -> list[str]:
        """The mounts this process makes for the station now."""
        return sorted(self.held)
