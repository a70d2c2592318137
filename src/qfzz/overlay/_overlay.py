"""The station as a running node: handshakes, membership, failure detection, the N estimate.

``Overlay`` owns the node's network state — the signed member records and receipts (LWW
sets), the nonce window, peers' estimate reports, the SWIM detector, and (through its
``Replicas``) shared content — and is the only thing that changes it. Frontends hand it
bytes (``handle_handshake``, ``handle_swim``, ``handle_records``, ``handle_heartbeat``) and
read views (``peers``, ``members_by_state``, ``n_estimate``, ``known_public_nodes``); it
talks to peers through ``PeerClient`` on the event loop, never inside a listener's
request, so a station whose peers are all unreachable serves exactly as one with no peers.

Rounds: every ``handshake_interval`` seconds the node handshakes a few members (and its
seeds while it knows nobody live, and one member held dead, so a healed partition is
noticed after SWIM has stopped gossiping to it), issues a receipt for each peer it reached
or failed to reach, and hands receipts on in later handshakes. A member SWIM learns by
gossip is handshaked at once (its key and receipts come that way).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from qfzz.errors import RateLimited
from qfzz.network import (
    HANDSHAKE_SKEW,
    MAX_RECEIPTS,
    Candidate,
    HandshakeAnswer,
    HandshakeRejected,
    InvalidRecord,
    MalformedRecord,
    MemberRecord,
    MemberSet,
    NodeIdentity,
    NodeInfo,
    NodeSketch,
    NonceWindow,
    PeerReport,
    ReachabilityReceipt,
    ReceiptSet,
    SwimNode,
    SwimState,
    Update,
    accept_handshake,
    build_answer,
    build_handshake,
    decode_message,
    n_estimate,
    new_nonce,
    open_envelope,
    seal,
    verify_answer,
    verify_envelope,
)
from qfzz.overlay._config import OverlayConfig, OverlayCounters
from qfzz.overlay._guard import SwimGuard
from qfzz.overlay._peers import AsyncioScheduler, PeerClient, PeerUnavailable
from qfzz.overlay._replicas import NodeView, Replicas
from qfzz.overlay._snapshot import PeerRow, Snapshot, read_seeds, write_snapshot
from qfzz.station import SlidingWindow

log = logging.getLogger("qfzz.overlay")

MEMBERS_PER_ROUND = 3
NEW_MEMBERS_PER_ROUND = 8
MAX_PENDING = 256
MAX_EAGER_HANDSHAKES = 8
TICK_SOON = 0.05  # s: a burst of deaths or leases makes one early tick, not one each
DEAD_RETRY_AFTER = 30.0


class Overlay:
    """This node in the network. Single-threaded: every method runs on the event loop (or
    before it starts), so the state it owns needs no lock."""

    def __init__(
        self,
        identity: NodeIdentity,
        config: OverlayConfig,
        data_dir: Path,
        *,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        client: PeerClient | None = None,
    ) -> None:
        self.identity = identity
        self.config = config
        self._data_dir = data_dir
        self._wall = wall
        self._rng = rng or random.Random()
        self._client = client or PeerClient(verify=config.tls_verify)
        self.members = MemberSet()
        self.receipts = ReceiptSet(ttl=config.membership_ttl)
        self.nonces = NonceWindow()
        self.counters = OverlayCounters()
        self._handshake_limit = SlidingWindow(config.handshakes_per_minute, 60.0, wall)
        self._swim_limit = SlidingWindow(config.swim_messages_per_second, 1.0, wall)
        self._reports: dict[str, PeerReport] = {}
        self._last_seen: dict[str, float] = {}
        self._last_tried: dict[str, float] = {}
        self._pending: set[str] = set()  # addresses SWIM told us of, not yet handshaked
        self._guard = SwimGuard(identity, self.members.get)
        self._running: set[str] = set()  # handshakes under way, by address
        self._tasks: set[asyncio.Task[None]] = set()
        self.swim: SwimNode | None = None
        self.replicas = Replicas(
            identity, data_dir, self._client, config=config.replicas, wall=wall
        )
        self._round_handle: asyncio.TimerHandle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticking = False
        self._tick_again = False
        # A restarted node must outrank its old record: the counter is its start time (ms).
        self._record = self._sign_self(int(wall() * 1000))
        self.members.apply(self._record)

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    @property
    def record(self) -> MemberRecord:
        return self._record

    def _sign_self(self, counter: int) -> MemberRecord:
        info = NodeInfo.of(
            self.identity,
            self.config.public_host,
            capabilities=self.config.capabilities,
            privacy=self.config.privacy,
            asn=self.config.asn,
        )
        return MemberRecord.signed(
            self.identity,
            info,
            "alive",
            incarnation=0,
            logical_counter=counter,
            timestamp=self._wall(),
        )

    # --- life cycle (on the event loop) ----------------------------------------------

    async def start(self) -> None:
        """Starts SWIM and the handshake rounds (the first at once)."""
        if self.swim is not None:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.swim = SwimNode(
            self.node_id,
            self.config.public_host,
            _SealedTransport(self),
            AsyncioScheduler(loop),
            self._rng,
            self.config.swim,
            on_change=self._on_change,
        )
        self.swim.start()
        self._spawn(self._round())
        self._start_tick()

    async def stop(self) -> None:
        """Says goodbye (a SWIM leave), lets it go out briefly, and stops."""
        for handle in (self._round_handle, self._tick_handle):
            if handle is not None:
                handle.cancel()
        if self.swim is not None:
            self.swim.leave()
            await self._client.drain(1.0)
            self.swim.stop()
        for task in list(self._tasks):
            task.cancel()
        await self._client.close()

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_tick(self) -> None:
        """Starts a tick, under way from here rather than from its first step: an ask for
        another in between (a death, a records batch handled in the same loop pass) must
        only mark one due, or a second chain of ticks would run beside this one for good."""
        self._ticking = True
        self._spawn(self._tick())

    async def _tick(self) -> None:
        try:
            await self.replicas.tick(self.view())
        except Exception:  # a bug here must not end replication for good
            log.exception("replica tick failed", extra={"error_id": uuid.uuid4().hex[:12]})
        finally:
            self._ticking = False
            loop = asyncio.get_running_loop()
            delay = self.config.replicas.heartbeat_interval
            if self._tick_again:
                self._tick_again = False
                delay = min(delay, TICK_SOON)
            self._tick_handle = loop.call_later(delay, self._start_tick)

    def _tick_soon(self) -> None:
        """Replicate now rather than at the next heartbeat: a holder died (reassign at once,
        as the issue asks) or a lease arrived for a blob this node lacks (fetch at once)."""
        if self.swim is None:
            return
        if self._ticking:
            self._tick_again = True
            return
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        loop = asyncio.get_running_loop()
        self._tick_handle = loop.call_later(TICK_SOON, self._start_tick)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the overlay runs on once started (its state belongs to it)."""
        return self._loop

    def view(self) -> NodeView:
        """The live members as candidates for content placement (this node included)."""
        swim = self.swim
        up = (SwimState.ALIVE, SwimState.SUSPECT)
        live = [
            r
            for r in self.members
            if r.state == "alive"
            and (r.node_id == self.node_id or (swim is not None and swim.state_of(r.node_id) in up))
        ]

        def address_of(node_id: str) -> str | None:
            record = self.members.get(node_id)
            return None if record is None else record.info.public_host

        def is_dead(node_id: str) -> bool:
            return swim is not None and swim.state_of(node_id) in (SwimState.DEAD, SwimState.LEFT)

        return NodeView(
            candidates=tuple(
                Candidate(r.node_id, r.info.asn, _first_octet(r.info.public_host)) for r in live
            ),
            address_of=address_of,
            is_dead=is_dead,
            record=self._record,
        )

    def _schedule_round(self) -> None:
        loop = asyncio.get_running_loop()
        self._round_handle = loop.call_later(
            self.config.handshake_interval, lambda: self._spawn(self._round())
        )

    def note_play(self, track_id: int, listener: str) -> None:
        """A play on this station (any route): a view, if the track is shared. Safe from any
        thread: the count is made on the event loop, which owns the metrics."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.replicas.record_play(track_id, listener)
        else:
            loop.call_soon_threadsafe(self.replicas.record_play, track_id, listener)

    def send_swim(self, address: str, message: object) -> None:
        """SWIM's way out: alive updates proven, the message sealed in this node's signed
        envelope."""
        proven = self._guard.outgoing(message)
        self._client.send(address, seal(self.identity, self._record, proven, now=self._wall()))

    # --- receiving ---------------------------------------------------------------------

    def handle_handshake(self, raw: bytes, address: str) -> bytes:
        """Verify a handshake, store what it carries, and answer; every refusal counted."""
        try:
            self._handshake_limit.hit(address)
        except RateLimited:
            self.counters.handshakes_rejected["rate_limited"] += 1
            raise
        now = self._wall()
        try:
            handshake = accept_handshake(
                raw, nonces=self.nonces, members=self.members, receipts=self.receipts, now=now
            )
        except HandshakeRejected as exc:
            self._refused(self.counters.handshakes_rejected, exc, address, "handshake")
            raise
        self.counters.handshakes_accepted += 1
        self._last_seen[handshake.member.node_id] = now
        return build_answer(
            self.identity,
            self._record,
            handshake,
            known_public_nodes=tuple(self.known_public_nodes()),
            n_estimate=self.n_estimate(),
            now=now,
            sketch=self._sketch().to_bytes(),
        )

    def handle_swim(self, raw: bytes, address: str) -> None:
        """Verify a SWIM envelope and hand its message to the detector."""
        self._limited(address)
        try:
            sender, message = self._open(raw)
        except HandshakeRejected as exc:
            self._refused(self.counters.swim_rejected, exc, address, "swim message")
            raise
        self.counters.swim_received += 1
        self._last_seen[sender.node_id] = self._wall()
        swim = self.swim
        if swim is not None:
            vetted, unknown = self._guard.incoming(message, swim, swim.incarnation)
            for update in unknown:
                self._discover(update.address, update.node_id)
            swim.receive(sender.info.public_host, vetted)

    def _admit(self, sender: MemberRecord) -> bool:
        """Takes a sender's own alive record (verified) into the member set; refuses
        anything else with a counted reason."""
        if sender.node_id == self.node_id:
            raise HandshakeRejected("unknown_sender", "a message signed as this node")
        if sender != self.members.get(sender.node_id):
            if sender.state != "alive":
                raise HandshakeRejected("not_alive", "a message carries its sender's alive record")
            try:
                self.members.apply(sender)
            except InvalidRecord as exc:
                known = ("bad_signature", "node_id_mismatch")
                reason = exc.reason if exc.reason in known else "malformed"
                raise HandshakeRejected(reason, exc.detail) from None  # type: ignore[arg-type]
        return True

    def handle_records(self, raw: bytes, address: str) -> int:
        """Content and lease records pushed by a peer (each verified; counted refusals)."""
        self._limited(address)
        try:
            changed = self.replicas.accept_records(raw, self.view())
        except HandshakeRejected as exc:
            self._refused(self.counters.swim_rejected, exc, address, "records")
            raise
        if changed:  # a new content to lead, a lease to fill, a leader to follow: act now
            self._tick_soon()
        return changed

    def handle_heartbeat(self, raw: bytes, address: str) -> int:
        """A holder's signed heartbeat for the contents this node leads."""
        self._limited(address)
        try:
            return self.replicas.accept_heartbeat(raw, self._admit)
        except HandshakeRejected as exc:
            self._refused(self.counters.swim_rejected, exc, address, "heartbeat")
            raise

    def _limited(self, address: str) -> None:
        try:
            self._swim_limit.hit(address)
        except RateLimited:
            self.counters.swim_rejected["rate_limited"] += 1
            raise

    def _open(self, raw: bytes) -> tuple[MemberRecord, object]:
        envelope = open_envelope(raw)
        sender = envelope.sender
        verify_envelope(envelope, now=self._wall(), skew=HANDSHAKE_SKEW)
        self._admit(sender)
        try:
            return sender, decode_message(envelope.message)
        except MalformedRecord as exc:
            raise HandshakeRejected("malformed", exc.detail) from None

    def _refused(
        self, counter: Counter[str], exc: HandshakeRejected, address: str, what: str
    ) -> None:
        counter[exc.reason] += 1
        log.warning(
            "%s refused: %s",
            what,
            exc.detail,
            extra={"error_id": uuid.uuid4().hex[:12], "reason": exc.reason, "peer": address},
        )

    def _on_change(self, update: Update) -> None:
        """SWIM saw a change: a member we hold no record of is handshaked at once; a member
        gone makes the replicas move now, not at the next heartbeat."""
        if update.state is SwimState.ALIVE and self.members.get(update.node_id) is None:
            self._discover(update.address, update.node_id)
        elif update.state in (SwimState.DEAD, SwimState.LEFT):
            self._tick_soon()

    def _discover(self, address: str, node_id: str) -> None:
        """Handshakes a node heard of by gossip: now while few handshakes are under way,
        else in the next round. Bounded, since the addresses come from peers' gossip."""
        if address in self._pending or len(self._pending) >= MAX_PENDING:
            return
        self._pending.add(address)
        if len(self._running) < MAX_EAGER_HANDSHAKES:
            self._spawn(self._handshake(address, node_id))

    # --- handshake rounds ----------------------------------------------------------------

    async def run_round(self) -> None:
        """One handshake round, then the view written down for ``qfzz node peers``."""
        targets = self._targets()
        await asyncio.gather(*(self._handshake(url, node_id) for url, node_id in targets))
        self.receipts.prune(self._wall())
        self._write_snapshot()

    async def _round(self) -> None:
        try:
            await self.run_round()
        except Exception:  # a bug here must not end the rounds for good
            log.exception("handshake round failed", extra={"error_id": uuid.uuid4().hex[:12]})
        finally:
            self._schedule_round()

    def _targets(self) -> list[tuple[str, str | None]]:
        """Who to handshake this round: (address, expected node id or None for a seed)."""
        now = self._wall()
        live: list[MemberRecord] = []
        dead: list[MemberRecord] = []
        for record in self.members:
            if record.node_id == self.node_id or record.state != "alive":
                continue
            state = self.swim.state_of(record.node_id) if self.swim else None
            (dead if state in (SwimState.DEAD, SwimState.LEFT) else live).append(record)
        targets: dict[str, str | None] = {}
        if not any(self.swim and self.swim.state_of(r.node_id) is SwimState.ALIVE for r in live):
            for seed in (*self.config.seeds, *read_seeds(self._data_dir)):
                targets.setdefault(seed.rstrip("/"), None)
        for record in self._rng.sample(live, min(MEMBERS_PER_ROUND, len(live))):
            targets[record.info.public_host] = record.node_id
        retry = [r for r in dead if now - self._last_tried.get(r.node_id, 0.0) > DEAD_RETRY_AFTER]
        if retry:
            record = self._rng.choice(retry)
            targets[record.info.public_host] = record.node_id
        for address in list(self._pending)[:NEW_MEMBERS_PER_ROUND]:
            targets.setdefault(address, None)
        targets.pop(self.config.public_host, None)
        return list(targets.items())

    async def _handshake(self, address: str, expected: str | None) -> None:
        """One handshake; a success or failure becomes a receipt about the peer."""
        if address in self._running:
            return
        self._running.add(address)
        try:
            answer = await self.handshake(address, expected)
        except (PeerUnavailable, HandshakeRejected) as exc:
            self.counters.outbound_failed += 1
            if expected is not None:
                self._last_tried[expected] = self._wall()
                self._issue(expected, reachable=False)
            log.info("handshake with %s failed: %s", address, exc)
            return
        finally:
            self._running.discard(address)
            self._pending.discard(address)
        self.counters.outbound_ok += 1
        self._merge_answer(answer)

    async def handshake(self, address: str, expected: str | None = None) -> HandshakeAnswer:
        """Handshakes the node at ``address`` and returns its verified answer."""
        nonce = new_nonce()
        body = build_handshake(
            self.identity,
            self._record,
            now=self._wall(),
            receipts=self._receipts_for(expected),
            sketch=self._sketch().to_bytes(),
            nonce=nonce,
        )
        raw = await self._client.handshake(address, body)
        return verify_answer(raw, request_nonce=nonce, now=self._wall(), expected_node=expected)

    def _merge_answer(self, answer: HandshakeAnswer) -> None:
        now = self._wall()
        peer = answer.member
        if peer.node_id == self.node_id:
            return  # a seed list that names this node itself
        self.members.apply(peer)
        self.members.apply_all(answer.known_public_nodes)
        sketch = None
        if answer.sketch is not None:
            try:
                sketch = NodeSketch.from_bytes(answer.sketch)
            except ValueError:
                sketch = None
        self._reports[peer.node_id] = PeerReport(peer.node_id, answer.n_estimate, sketch)
        self._last_seen[peer.node_id] = now
        self._last_tried[peer.node_id] = now
        self._issue(peer.node_id, reachable=True)
        swim = self.swim
        if swim is not None:
            for record in (peer, *answer.known_public_nodes):
                state = swim.state_of(record.node_id)
                if record.node_id != self.node_id and state not in (
                    SwimState.ALIVE,
                    SwimState.SUSPECT,
                ):
                    swim.join(record.info.public_host, attempts=3)
                    break  # one push-pull brings the rest

    def _issue(self, target: str, *, reachable: bool) -> None:
        self.receipts.apply(
            ReachabilityReceipt.signed(
                self.identity,
                target,
                asn=self.config.asn,
                timestamp=self._wall(),
                reachable=reachable,
            )
        )

    def _receipts_for(self, target: str | None) -> tuple[ReachabilityReceipt, ...]:
        """Receipts to carry: ours about the target first, then about us, then others we
        issued — at most ``MAX_RECEIPTS``, newest first within each group."""
        now = self._wall()
        fresh = [
            r
            for r in self.receipts.snapshot().values()
            if 0 <= now - r.timestamp <= self.receipts.ttl
        ]
        fresh.sort(key=lambda r: -r.timestamp)
        about_target = [r for r in fresh if r.issuer == self.node_id and r.target == target]
        about_us = [r for r in fresh if r.target == self.node_id]
        ours = [r for r in fresh if r.issuer == self.node_id and r.target != target]
        return tuple(_unique(about_target + about_us + ours))[:MAX_RECEIPTS]

    # --- views -----------------------------------------------------------------------

    def reachable(self, node_id: str) -> bool:
        """The island filter: enough fresh receipts, mostly positive."""
        return self.receipts.sufficiently_reachable(
            node_id,
            self._wall(),
            min_receipts=self.config.min_receipts,
            min_ratio=self.config.min_reachability,
        )

    def known_public_nodes(self) -> list[MemberRecord]:
        """Alive public members that enough peers reach and SWIM does not hold failed."""
        swim = self.swim
        return [
            r
            for r in self.members.known_public_nodes(reachable=self.reachable)
            if r.node_id != self.node_id
            and (swim is None or swim.state_of(r.node_id) not in (SwimState.DEAD, SwimState.LEFT))
        ]

    def _live_ids(self) -> Iterable[str]:
        swim = self.swim
        for record in self.members:
            if record.state != "alive":
                continue
            if swim is None or swim.state_of(record.node_id) in (
                None,
                SwimState.ALIVE,
                SwimState.SUSPECT,
            ):
                yield record.node_id

    def _sketch(self) -> NodeSketch:
        return NodeSketch.of(self._live_ids())

    def n_estimate(self) -> int:
        """``max(N_local, peers' reports)``, reports only from reachable peers and capped by
        the merged sketch (``qfzz.network.n_estimate``)."""
        return n_estimate(self._sketch(), self._reports.values(), reachable=self.reachable)

    def peers(self) -> list[PeerRow]:
        """Every member but this node, with what this node knows of it."""
        now = self._wall()
        rows = []
        for record in self.members:
            if record.node_id == self.node_id:
                continue
            state = self.swim.state_of(record.node_id) if self.swim else None
            fresh = self.receipts.fresh_for(record.node_id, now)
            rows.append(
                PeerRow(
                    node_id=record.node_id,
                    public_host=record.info.public_host,
                    privacy=record.info.privacy,
                    asn=record.info.asn,
                    state=state.value if state is not None else "unprobed",
                    last_seen=self._last_seen.get(record.node_id),
                    receipts=len(fresh),
                    reachability=self.receipts.reachability_ratio(record.node_id, now),
                    advertised=record.info.privacy == "public" and self.reachable(record.node_id),
                )
            )
        return rows

    def members_by_state(self) -> dict[str, int]:
        counts: Counter[str] = Counter(row.state for row in self.peers())
        return dict(counts)

    def _write_snapshot(self) -> None:
        write_snapshot(
            self._data_dir,
            Snapshot(
                node_id=self.node_id,
                public_host=self.config.public_host,
                privacy=self.config.privacy,
                asn=self.config.asn,
                n_estimate=self.n_estimate(),
                updated_at=self._wall(),
                peers=tuple(self.peers()),
            ),
        )


class _SealedTransport:
    """SWIM's ``Transport``: each message sealed in this node's signed envelope."""

    def __init__(self, overlay: Overlay) -> None:
        self._overlay = overlay

    def send(self, address: str, message: object) -> None:
        self._overlay.send_swim(address, message)


def _unique(receipts: list[ReachabilityReceipt]) -> list[ReachabilityReceipt]:
    seen: set[str] = set()
    out = []
    for receipt in receipts:
        if receipt.key not in seen:
            seen.add(receipt.key)
            out.append(receipt)
    return out


async def handshake_once(
    identity: NodeIdentity, config: OverlayConfig, data_dir: Path, address: str
) -> HandshakeAnswer:
    """One handshake from this node's key without running it (``qfzz node join``)."""
    overlay = Overlay(identity, config, data_dir)
    try:
        return await overlay.handshake(address.rstrip("/"))
    finally:
        await overlay.stop()


def _first_octet(url: str) -> int | None:
    """The first octet of a node's IPv4 address, when its URL names one (diversity)."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return int(str(address).split(".")[0]) if address.version == 4 else None
