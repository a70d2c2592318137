"""Shared content on this node: what it published, what it holds, what it leads.

``Replicas`` owns the content records, the lease register of every content it knows, the
sealed blobs and, where it leads, the holders' heartbeats. Every ``tick`` (the heartbeat
interval) it places each content over the live members (``place``: rendezvous rank with
ASN / address diversity), and then:

- as the **leader** (smallest NodeID among the placed holders) it starts or takes over the
  lease record at a higher epoch, reassigns at once the slots of holders that membership
  declares dead or that missed three heartbeats (epoch + 1: the old holder is fenced before
  its TTL runs out), fills empty slots, renews the holders that heartbeated, and pushes the
  signed records to holders and origin;
- as a **holder** with a lease it may serve, it fetches the sealed blob it lacks from the
  origin or another holder (``BlobStore.put`` refuses one that does not hash to its id, and
  the next source is tried) and heartbeats the leader;
- as anyone else that knows the content while its recorded leader is not the placed one
  (dead, or a join moved it), it hands the records to the placed leader, so a new leader
  always learns what it must lead.

Records from peers arrive through ``accept_records`` (each verified; nothing stored from
one that fails) and heartbeats through ``accept_heartbeat`` (a signed envelope). Content
and lease records are kept as files under ``data_dir/network/records``, so a restart keeps
them and ``qfzz node share`` (another process) can add content the running node picks up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qfzz.errors import Forbidden, NotFound
from qfzz.network import (
    DHT_HEARTBEAT_INTERVAL,
    DHT_HEARTBEAT_MISS_THRESHOLD,
    DHT_LEASE_TTL,
    DHT_MIN_ASN,
    DHT_MIN_IP_OCTETS,
    DHT_REPLICATION_TARGET,
    METRIC_WINDOW_SEC,
    Candidate,
    ContentRecord,
    HandshakeRejected,
    InvalidRecord,
    MalformedRecord,
    MemberRecord,
    MetaRecord,
    MetaRegister,
    MetricBook,
    MetricRecord,
    MetricTotals,
    NodeIdentity,
    Placement,
    expired_holders,
    holder_may_serve,
    open_blob,
    open_envelope,
    place,
    reassign_dead,
    rendezvous_order,
    renew,
    seal_blob,
    seal_json,
    take_over,
    verify_envelope,
)
from qfzz.overlay._blobs import BlobStore
from qfzz.overlay._peers import PeerClient, PeerUnavailable

log = logging.getLogger("qfzz.overlay")

RECORDS_DIR = "records"
KEYS_DIR = "keys"
MAX_BATCH = 64
MAX_RECORDS_BYTES = 1024 * 1024
MAX_HEARTBEAT_BYTES = 256 * 1024
MAX_HEARTBEAT_CONTENTS = 1024
MAX_METRICS_PER_BATCH = 512
HEARTBEAT_KIND = "network.heartbeat"
SHARED_TRACKS = "shared-tracks.json"


@dataclass(frozen=True)
class ReplicaConfig:
    r_target: int = DHT_REPLICATION_TARGET
    lease_ttl: float = DHT_LEASE_TTL
    heartbeat_interval: float = DHT_HEARTBEAT_INTERVAL
    heartbeat_misses: int = DHT_HEARTBEAT_MISS_THRESHOLD
    min_asn: int = DHT_MIN_ASN
    min_ip_octets: int = DHT_MIN_IP_OCTETS
    metric_window_sec: int = METRIC_WINDOW_SEC


@dataclass
class ReplicaCounters:
    corrupt_blobs_refused: int = 0
    records_refused: int = 0
    blobs_fetched: int = 0
    leader_changes: int = 0
    pushes_failed: int = 0
    heartbeats_received: int = 0
    views_recorded: int = 0


@dataclass(frozen=True)
class NodeView:
    """What the replicas need to know of the membership, as the overlay sees it now."""

    candidates: tuple[Candidate, ...]
    address_of: Callable[[str], str | None]
    is_dead: Callable[[str], bool]
    record: MemberRecord


@dataclass
class _Known:
    """One content as this node knows it."""

    content: ContentRecord
    register: MetaRegister = field(init=False)
    heartbeats: dict[str, float] = field(default_factory=dict)  # as leader: holder → last

    def __post_init__(self) -> None:
        self.register = MetaRegister(self.content.content_id)


class Replicas:
    """The owner of this node's shared-content state (see the module text)."""

    def __init__(
        self,
        identity: NodeIdentity,
        data_dir: Path,
        client: PeerClient,
        *,
        config: ReplicaConfig | None = None,
        wall: Callable[[], float],
    ) -> None:
        self.identity = identity
        self.config = config or ReplicaConfig()
        self.blobs = BlobStore(data_dir)
        self.counters = ReplicaCounters()
        self._dir = data_dir / "network" / RECORDS_DIR
        self._keys = data_dir / "network" / KEYS_DIR
        self._client = client
        self._wall = wall
        self._known: dict[str, _Known] = {}
        self._tracks: dict[int, tuple[str, float]] = {}  # shared track → content, seconds
        self.metrics = MetricBook(window_sec=self.config.metric_window_sec)
        self._placements: dict[str, Placement] = {}
        self._placed_over: tuple[Candidate, ...] = ()
        self.load()

    # --- sharing (the origin) ----------------------------------------------------------

    def share(
        self,
        plaintext: bytes,
        *,
        media_type: str,
        title: str,
        artist: str,
        license: str,
        track_id: int | None = None,
        duration: float | None = None,
    ) -> ContentRecord:
        """Seal and publish one file from this node; its key stays here unless the licence
        lets peers play copies (then the signed record carries it)."""
        key, blob = seal_blob(plaintext)
        self.blobs.add(blob)
        record = ContentRecord.signed(
            self.identity, blob, key, media_type=media_type, title=title, artist=artist,
            license=license,
        )  # fmt: skip
        if record.key is None:
            self._keep_key(record.content_id, key)
        self._store_content(record)
        if track_id is not None:
            self._tracks[track_id] = (record.content_id, duration or 0.0)
            shared = {str(t): [c, d] for t, (c, d) in sorted(self._tracks.items())}
            self._save(SHARED_TRACKS.removesuffix(".json"), shared)
        return record

    # --- play metrics ---------------------------------------------------------------------

    def record_play(self, track_id: int, listener: str) -> bool:
        """A listener played a track this node shared: one view in the content's window.

        The view's device salt is this node's signature over the listener's id: stable per
        listener (uniques count people, not plays) and not a hash anyone could reverse by
        guessing ids, since only this node can compute it."""
        shared = self._tracks.get(track_id)
        if shared is None:
            return False
        return self.record_view(shared[0], listener, watch_seconds=round(shared[1]))

    def record_view(self, content_id: str, listener: str, *, watch_seconds: int = 0) -> bool:
        """One view of a known content served by this node (a shared track played here, or
        a replica's audio fetched from here)."""
        known = self._known.get(content_id)
        if known is None:
            return False
        salt = self.identity.sign(b"qfzz/view-salt\n" + listener.encode())
        counted = self.metrics.record_view(
            self.identity.node_id,
            content_id,
            salt[:32],
            watch_seconds=watch_seconds,
            bytes_out=known.content.size,
            completed=True,
            now=self._wall(),
        )
        self.counters.views_recorded += counted
        return counted

    def totals(self) -> MetricTotals:
        """Every known content's metrics, summed (uniques summed per content)."""
        parts = [self.metrics.totals(content_id) for content_id in self._known]
        return MetricTotals(
            views=sum(t.views for t in parts),
            uniques=sum(t.uniques for t in parts),
            watch_seconds=sum(t.watch_seconds for t in parts),
            bytes_out=sum(t.bytes_out for t in parts),
            completions=sum(t.completions for t in parts),
        )

    def replication(self) -> tuple[int, int]:
        """Contents this node leads with fewer than R holders, and with more."""
        me, under, over = self.identity.node_id, 0, 0
        for known in self._known.values():
            meta = known.register.record
            if meta is not None and meta.leader == me:
                under += len(meta.leases) < self.config.r_target
                over += len(meta.leases) > self.config.r_target
        return under, over

    def _keep_key(self, content_id: str, key: bytes) -> None:
        self._keys.mkdir(parents=True, exist_ok=True)
        path = self._keys / content_id
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)

    def plaintext(self, content_id: str) -> tuple[bytes, str]:
        """The audio of a content this node may play: a replica whose record carries the
        key, or its own content. Raises ``InvalidInput`` otherwise."""
        known = self._known.get(content_id)
        if known is None or not self.blobs.has(content_id):
            raise NotFound("this node holds no such content")
        key = known.content.key
        if key is None and known.content.origin == self.identity.node_id:
            key = (self._keys / content_id).read_bytes()
        if key is None:
            raise Forbidden("its licence does not let this node play a copy")
        return open_blob(self.blobs.read(content_id), key), known.content.media_type

    # --- records from peers -------------------------------------------------------------

    def accept_records(self, raw: bytes, view: NodeView | None = None) -> int:
        """Verify and merge a batch of content and lease records; returns how many changed
        state. A batch that is malformed, or any record that fails, is refused whole.

        With ``view``, a lease record counts only from a plausible leader: a node among the
        first R + 2 by rendezvous rank of this node's live members (a valid signature alone
        would let any member take over any content by claiming a higher epoch), or a member
        the view holds dead that would rank there were it live — a leader that died, whose
        record the node taking over from it must learn to lead at a higher epoch."""
        if len(raw) > MAX_RECORDS_BYTES:
            raise HandshakeRejected("too_large", f"body is larger than {MAX_RECORDS_BYTES} B")
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise MalformedRecord("body must be an object")
            contents = [ContentRecord.from_json(r) for r in _bounded(body.get("content"))]
            metas = [MetaRecord.from_json(r) for r in _bounded(body.get("meta"))]
            metrics = [
                MetricRecord.from_json(r)
                for r in _bounded(body.get("metrics"), MAX_METRICS_PER_BATCH)
            ]
            for content in contents:
                content.verify()
            for meta in metas:
                meta.verify()
            for metric in metrics:
                metric.verify()
        except (ValueError, RecursionError) as exc:
            self.counters.records_refused += 1
            raise HandshakeRejected("malformed", f"records: {exc}") from None
        except (MalformedRecord, InvalidRecord) as exc:
            self.counters.records_refused += 1
            raise HandshakeRejected("bad_signature", f"records: {exc.detail}") from None
        changed = sum(self._store_content(c) for c in contents)
        for metric in metrics:
            if metric.content_id in self._known:
                try:
                    changed += self.metrics.apply(metric, now=self._wall())
                except InvalidRecord:
                    self.counters.records_refused += 1
        for meta in metas:
            known = self._known.get(meta.content_id)
            if known is None:
                continue
            may_lead = None if view is None else self._plausible(known, view)
            try:
                if known.register.apply(meta, may_lead=may_lead):
                    self._save(f"meta-{meta.content_id}", meta.to_json())
                    changed += 1
            except InvalidRecord:
                self.counters.records_refused += 1
        return changed

    def _plausible(self, known: _Known, view: NodeView) -> Callable[[str], bool]:
        content_id, depth = known.content.content_id, self.config.r_target + 2
        top = {c.node_id for c in rendezvous_order(content_id, view.candidates, depth)}
        current = known.register.record
        if current is not None:
            top.add(current.leader)

        def may_lead(leader: str) -> bool:
            if leader in top:
                return True
            if not view.is_dead(leader):
                return False
            # A leader that died is no live candidate, yet its record is what a leader
            # taking over must start from: refused, the new one would begin again at epoch
            # 1, below the record every other node keeps, and never fence its holders.
            ranked = rendezvous_order(content_id, (*view.candidates, Candidate(leader)), depth)
            return any(c.node_id == leader for c in ranked)

        return may_lead

    def accept_heartbeat(self, raw: bytes, sender_known: Callable[[MemberRecord], bool]) -> int:
        """A holder says it still holds these contents; as their leader, note it."""
        envelope = open_envelope(raw, kind=HEARTBEAT_KIND, max_bytes=MAX_HEARTBEAT_BYTES)
        verify_envelope(envelope, now=self._wall())
        if not sender_known(envelope.sender):
            raise HandshakeRejected("unknown_sender", "heartbeat from a node this one lacks")
        ids = envelope.message.get("contents")
        if not isinstance(ids, list) or len(ids) > MAX_HEARTBEAT_CONTENTS:
            raise HandshakeRejected("malformed", "contents must be a bounded list")
        holder, now, noted = envelope.sender.node_id, self._wall(), 0
        for content_id in ids:
            known = self._known.get(content_id) if isinstance(content_id, str) else None
            meta = None if known is None else known.register.record
            if (
                known is not None
                and meta is not None
                and meta.leader == self.identity.node_id
                and meta.lease_of(holder) is not None
            ):
                known.heartbeats[holder] = now
                noted += 1
        self.counters.heartbeats_received += 1
        return noted

    # --- the periodic work ----------------------------------------------------------------

    async def tick(self, view: NodeView) -> None:
        """One heartbeat period: lead, hold, hand over (see the module text)."""
        self.load()
        await self._place_all(view)
        now = self._wall()
        me = self.identity.node_id
        pushes: dict[str, list[_Known]] = {}
        beats: dict[str, list[str]] = {}
        played = {r.content_id for r in self.metrics.export(self.identity)}
        fetches: list[tuple[_Known, list[str]]] = []
        for content_id, known in list(self._known.items()):
            placement = self._placed(content_id, view)
            meta = known.register.record
            if placement.leader == me:
                meta = self._lead(known, meta, placement.holders, view, now)
                targets = {lease.holder for lease in meta.leases} | {known.content.origin}
                for target in targets - {me}:
                    pushes.setdefault(target, []).append(known)
            elif placement.leader is not None and (
                meta is None or meta.leader != placement.leader or content_id in played
            ):
                # a new leader learns what to lead; the leader gathers this node's plays
                pushes.setdefault(placement.leader, []).append(known)
            lease = None if meta is None else meta.lease_of(me)
            if (
                meta is not None
                and lease is None
                and known.content.origin != me
                and len(meta.leases) >= self.config.r_target
                and not any(view.is_dead(x.holder) for x in meta.leases)
                and self.blobs.has(content_id)
            ):
                self.blobs.remove(content_id)  # fenced out, and R live others hold it
            if meta is not None and lease is not None and holder_may_serve(lease, meta, now):
                if not self.blobs.has(content_id):
                    sources = [known.content.origin, *(x.holder for x in meta.leases)]
                    fetches.append((known, [s for s in sources if s != me]))
                else:
                    beats.setdefault(meta.leader, []).append(content_id)
        await asyncio.gather(
            *(self._fetch(known, sources, view) for known, sources in fetches),
            *(self._push(target, items, view) for target, items in pushes.items()),
            *(self._beat(leader, ids, view, now) for leader, ids in beats.items()),
        )

    async def _place_all(self, view: NodeView) -> None:
        """Places every content again when the membership changed: O(contents × N) hashes
        (seconds at 10k contents and 1,000 nodes), so in a worker thread — the event loop
        keeps serving listeners meanwhile — and only then swapped in."""
        if view.candidates == self._placed_over:
            return
        ids = list(self._known)

        def place_each() -> dict[str, Placement]:
            return {content_id: self._place(content_id, view) for content_id in ids}

        self._placements = await asyncio.to_thread(place_each)
        self._placed_over = view.candidates

    def _placed(self, content_id: str, view: NodeView) -> Placement:
        """The content's placement over the live members, kept until they change."""
        placement = self._placements.get(content_id)
        if placement is None:
            placement = self._placements[content_id] = self._place(content_id, view)
        return placement

    def _place(self, content_id: str, view: NodeView) -> Placement:
        return place(
            content_id,
            view.candidates,
            r_target=self.config.r_target,
            min_asn=self.config.min_asn,
            min_ip_octets=self.config.min_ip_octets,
        )

    def _lead(
        self,
        known: _Known,
        meta: MetaRecord | None,
        holders: tuple[str, ...],
        view: NodeView,
        now: float,
    ) -> MetaRecord:
        me, ttl = self.identity, self.config.lease_ttl
        content_id = known.content.content_id
        wanted = min(self.config.r_target, len(view.candidates))
        if meta is None or meta.leader != me.node_id:
            if meta is not None:
                self.counters.leader_changes += 1
            meta = take_over(me, content_id, now, previous=meta, holders=holders, ttl=ttl)
            # holders still heartbeat the old leader until they see this record: a grace
            # period of the full miss threshold from now, not from the old grants
            known.heartbeats = {lease.holder: now for lease in meta.leases}
        if self.blobs.has(content_id):
            known.heartbeats[me.node_id] = now  # the leader holds too, and needs no message
        silent = expired_holders(
            meta,
            now,
            known.heartbeats,
            interval=self.config.heartbeat_interval,
            misses=self.config.heartbeat_misses,
        )
        dead = {x.holder for x in meta.leases if view.is_dead(x.holder)} | set(silent)
        if dead:
            live = sum(1 for x in meta.leases if x.holder not in dead)
            order = [c.node_id for c in rendezvous_order(content_id, view.candidates, 32)]
            holding = {x.holder for x in meta.leases}
            spare = [n for n in dict.fromkeys((*holders, *order)) if n not in holding]
            # replace only as many as R needs: a surplus holder's slot is vacated
            meta = reassign_dead(me, meta, dead, spare[: max(0, wanted - live)], now, ttl=ttl)
        if len(meta.leases) < wanted:
            meta = take_over(me, content_id, now, previous=meta, holders=holders, ttl=ttl)
        meta = self._trim(known, meta, holders, wanted, now)
        fresh = [
            x.holder
            for x in meta.leases
            if known.heartbeats.get(x.holder, 0.0) > x.granted_at
            and x.expires_at - now < ttl - self.config.heartbeat_interval
        ]
        if fresh:
            meta = renew(me, meta, fresh, now, ttl=ttl)
        if known.register.apply(meta):
            self._save(f"meta-{content_id}", meta.to_json())
        return known.register.record or meta

    def _trim(
        self, known: _Known, meta: MetaRecord, holders: tuple[str, ...], wanted: int, now: float
    ) -> MetaRecord:
        """Once every placed holder has heartbeated since its grant (it stores the blob),
        the slots of surplus holders — kept through a change of leader or a join — are
        vacated at a new epoch, so leases do not drift above R."""
        surplus = [x.holder for x in meta.leases if x.holder not in holders]
        if not surplus or len(meta.leases) <= wanted:
            return meta
        for holder in holders:
            lease = meta.lease_of(holder)
            if lease is None or known.heartbeats.get(holder, 0.0) <= lease.granted_at:
                return meta
        excess = surplus[: len(meta.leases) - wanted]
        return reassign_dead(self.identity, meta, excess, [], now, ttl=self.config.lease_ttl)

    async def _push(self, target: str, items: list[_Known], view: NodeView) -> None:
        address = view.address_of(target)
        if address is None:
            return
        for start in range(0, len(items), MAX_BATCH // 2):
            chunk = items[start : start + MAX_BATCH // 2]
            ids = {k.content.content_id for k in chunk}
            metrics = [r.to_json() for r in self.metrics.records() if r.content_id in ids]
            body = {
                "content": [k.content.to_json() for k in chunk],
                "meta": [k.register.record.to_json() for k in chunk if k.register.record],
                "metrics": metrics[-MAX_METRICS_PER_BATCH:],
            }
            try:
                await self._client.post(address, "/api/v1/network.replicate", _dumps(body))
            except PeerUnavailable as exc:
                self.counters.pushes_failed += 1
                log.info("records to %s not delivered: %s", address, exc)

    async def _fetch(self, known: _Known, sources: list[str], view: NodeView) -> None:
        content = known.content
        for source in dict.fromkeys(sources):
            address = view.address_of(source)
            if address is None or view.is_dead(source):
                continue
            path = f"/api/v1.5/storage/{content.content_id}"
            incoming = self.blobs.incoming(content.content_id)
            try:
                digest = await self._client.download(
                    address, path, incoming, max_bytes=content.size
                )
                self.blobs.commit(content.content_id, incoming, digest)
            except PeerUnavailable:
                incoming.unlink(missing_ok=True)
                continue
            except InvalidRecord:
                self.counters.corrupt_blobs_refused += 1
                log.warning("corrupt blob %s from %s refused", content.content_id, address)
                continue
            self.counters.blobs_fetched += 1
            return

    async def _beat(self, leader: str, ids: list[str], view: NodeView, now: float) -> None:
        if leader == self.identity.node_id:
            for content_id in ids:
                self._known[content_id].heartbeats[leader] = now
            return
        address = view.address_of(leader)
        if address is None:
            return
        for start in range(0, len(ids), MAX_HEARTBEAT_CONTENTS):
            message = {"contents": ids[start : start + MAX_HEARTBEAT_CONTENTS]}
            body = seal_json(self.identity, view.record, message, now=now, kind=HEARTBEAT_KIND)
            try:
                await self._client.post(address, "/api/v1/network.heartbeat", body)
            except PeerUnavailable:
                self.counters.pushes_failed += 1

    # --- views ---------------------------------------------------------------------------

    def contents(self) -> list[ContentRecord]:
        return [k.content for k in self._known.values()]

    def describe(self) -> list[dict[str, Any]]:
        """Each known content with this node's part in it (for the API and the tests)."""
        out = []
        for content_id, known in sorted(self._known.items()):
            meta = known.register.record
            out.append(
                {
                    "content_id": content_id,
                    "title": known.content.title,
                    "artist": known.content.artist,
                    "license": known.content.license,
                    "redistributable": known.content.redistributable,
                    "origin": known.content.origin,
                    "size": known.content.size,
                    "stored_here": self.blobs.has(content_id),
                    "leader": None if meta is None else meta.leader,
                    "epoch": None if meta is None else meta.epoch,
                    "holders": [] if meta is None else [x.holder for x in meta.leases],
                    "views": self.metrics.totals(content_id).views,
                }
            )
        return out

    def meta(self, content_id: str) -> MetaRecord | None:
        known = self._known.get(content_id)
        return None if known is None else known.register.record

    # --- persistence ---------------------------------------------------------------------

    def _store_content(self, record: ContentRecord) -> bool:
        if record.content_id in self._known:
            return False
        self._known[record.content_id] = _Known(record)
        self._save(f"content-{record.content_id}", record.to_json())
        return True

    def _save(self, name: str, value: dict[str, Any]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        temporary = self._dir / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(value), encoding="utf-8")
        os.replace(temporary, self._dir / f"{name}.json")

    def load(self) -> None:
        """Reads records written by an earlier run or by ``qfzz node share`` (only files
        not yet known: a directory listing per tick)."""
        if not self._dir.is_dir():
            return
        shared = self._dir / SHARED_TRACKS
        if shared.is_file():
            entries = json.loads(shared.read_text(encoding="utf-8"))
            self._tracks = {int(t): (str(c), float(d)) for t, (c, d) in entries.items()}
        for path in sorted(self._dir.glob("content-*.json")):
            content_id = path.stem.removeprefix("content-")
            if content_id in self._known:
                continue
            record = ContentRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
            record.verify()
            self._known[content_id] = _Known(record)
            meta_path = self._dir / f"meta-{content_id}.json"
            if meta_path.is_file():
                meta = MetaRecord.from_json(json.loads(meta_path.read_text(encoding="utf-8")))
                self._known[content_id].register.apply(meta)


def _bounded(value: object, limit: int = MAX_BATCH) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > limit:
        raise MalformedRecord(f"a batch is a list of at most {limit} records")
    return value


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def media_type_of(path: str) -> str:
    """The media type of an audio file by its name (``application/octet-stream`` if unknown)."""
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"
