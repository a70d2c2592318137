"""SWIM failure detection with Lifeguard, after HashiCorp memberlist.

Why not heartbeats: the design's 60 s × 3 missed heartbeats takes 180 s to notice a dead
station and every node must hear every other. SWIM probes one member per period, asks
``indirect_checks`` others to probe it too before suspecting it (one lossy link is not a
death), and spreads changes by piggy-backing them on probes plus a small periodic gossip.
Lifeguard makes it calm: a suspicion's timer starts long and shrinks as independent
members confirm it, a suspected member refutes by bumping its incarnation, and a node that
misses its own acks and nacks (it is the slow one) raises its health score, which slows
its probing and lengthens its timeouts instead of accusing healthy peers.

Pure protocol: time comes from a ``Scheduler``, messages go through a ``Transport``
(``_transport``). Identity is a string node id and an address; signatures belong to the
signed member records — ``on_change`` is the seam where a membership change leaves.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from qfzz.network._transport import Handle, Scheduler, Transport


class State(StrEnum):
    """A member's state; ``dead`` and ``left`` are final for an incarnation."""

    ALIVE = "alive"
    SUSPECT = "suspect"
    DEAD = "dead"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class Update:
    """One membership change as it is gossiped: about ``node_id``, said by ``source``.

    ``proof``: for an alive update above incarnation 0, the subject's own signature over
    it (``_wire.sign_alive``), carried along unchanged by every relay, so no member can
    raise another's incarnation. The detector never reads it (the simulation leaves it
    empty); the real transport attaches and checks it. It takes no part in equality.
    """

    node_id: str
    address: str
    incarnation: int
    state: State
    source: str
    proof: bytes = field(default=b"", compare=False)


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int
    target: str
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True, slots=True)
class IndirectPing:
    """Asks the receiver to ping ``target`` for ``requester`` and relay the ack (or a nack)."""

    seq: int
    target: str
    target_address: str
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True, slots=True)
class Nack:
    """'I could not reach your target either' — tells the requester its own links work."""

    seq: int
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True, slots=True)
class Gossip:
    updates: tuple[Update, ...]


@dataclass(frozen=True, slots=True)
class PushPull:
    """A full state exchange, used to join: the answer carries the responder's members."""

    members: tuple[Update, ...]
    reply: bool


Message = Ping | IndirectPing | Ack | Nack | Gossip | PushPull


@dataclass(frozen=True, slots=True)
class SwimConfig:
    """memberlist's LAN defaults; ``max_piggyback`` bounds every message's size."""

    probe_interval: float = 1.0
    probe_timeout: float = 0.5
    indirect_checks: int = 3
    suspicion_mult: int = 4
    suspicion_max_timeout_mult: int = 6
    retransmit_mult: int = 4
    gossip_interval: float = 0.2
    gossip_nodes: int = 3
    gossip_to_the_dead: float = 30.0
    awareness_max: int = 8
    max_piggyback: int = 16
    max_members: int = 100_000


def scale(n: int) -> int:
    """``ceil(log10(n + 1))``, at least 1: how many rounds an epidemic needs to reach n."""
    return max(1, math.ceil(math.log10(n + 1)))


@dataclass(slots=True)
class Member:
    node_id: str
    address: str
    incarnation: int
    state: State
    since: float


@dataclass(slots=True)
class _Suspicion:
    """Lifeguard's dynamic suspicion timer for one member at one incarnation.

    It starts at ``max_timeout`` and, with each independent confirmation, shrinks on a log
    curve toward ``min_timeout``, reached at ``k`` confirmations.
    """

    incarnation: int
    start: float
    k: int
    min_timeout: float
    max_timeout: float
    confirmers: set[str]
    handle: Handle | None = None

    def timeout(self) -> float:
        if self.k < 1:
            return self.min_timeout
        c = len(self.confirmers)
        frac = math.log(c + 1) / math.log(self.k + 1)
        return max(
            self.min_timeout, self.max_timeout - frac * (self.max_timeout - self.min_timeout)
        )


@dataclass(slots=True)
class _Queued:
    update: Update
    transmits: int = 0
    order: int = 0


@dataclass(slots=True)
class _Probe:
    target: str
    acked: bool = False
    nacks: int = 0
    expected_nacks: int = 0
    relay_to: tuple[str, int] | None = None
    timeout: Handle | None = None


ChangeHook = Callable[[Update], None]
"""Called with each change of this node's view (``source`` = this node): the seam where
membership leaves the detector — to signed member records, metrics, logs."""


class SwimNode:
    """One member of the overlay: probes, suspects, refutes and gossips.

    Single-threaded: every entry point (``receive``, scheduled callbacks) is called from
    one loop, so it holds no lock. Call ``start`` once, then let the scheduler drive it.
    """

    def __init__(
        self,
        node_id: str,
        address: str,
        transport: Transport,
        scheduler: Scheduler,
        rng: random.Random,
        config: SwimConfig | None = None,
        on_change: ChangeHook | None = None,
    ) -> None:
        self.node_id = node_id
        self.address = address
        self.config = config or SwimConfig()
        self._transport = transport
        self._clock = scheduler
        self._rng = rng
        self._on_change = on_change
        self.incarnation = 0
        self.awareness = 0
        self.members: dict[str, Member] = {
            node_id: Member(node_id, address, 0, State.ALIVE, scheduler.now())
        }
        self._by_address: dict[str, str] = {address: node_id}
        self._suspicions: dict[str, _Suspicion] = {}
        self._queue: dict[str, _Queued] = {}
        self._queue_order = 0
        self._probes: dict[int, _Probe] = {}
        self._seq = 0
        self._probe_order: list[str] = []
        self._probe_index = 0
        self._running = False
        self._joined = True
        self._live: int | None = None
        self._ids: list[str] = []  # every other member ever known, for O(1) random picks
        self.leaving = False

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        """Starts probing and gossiping (staggered, so a fleet started at once spreads out)."""
        if self._running:
            return
        self._running = True
        self._clock.call_later(self._rng.uniform(0, self.config.probe_interval), self._probe_tick)
        self._clock.call_later(self._rng.uniform(0, self.config.gossip_interval), self._gossip_tick)

    def stop(self) -> None:
        self._running = False

    def join(self, address: str, attempts: int = 10) -> None:
        """Asks the node at ``address`` for its member list and announces this node.

        Retried after each probe timeout (a reply takes one round trip) until one comes:
        a lost exchange would leave this node knowing nobody, and gossip only carries
        changes, never the whole list.
        """
        self._joined = False
        self._transport.send(address, PushPull(self._snapshot(), reply=False))

        def retry() -> None:
            if self._running and not self._joined:
                self.join(address, attempts - 1)

        if attempts > 1:
            self._clock.call_later(self.config.probe_timeout, retry)

    def leave(self) -> None:
        """Announces an orderly departure; keeps running so the news gets gossiped out."""
        self.leaving = True
        self.incarnation += 1
        me = self.members[self.node_id]
        me.incarnation, me.state = self.incarnation, State.LEFT
        self._live = None
        self._enqueue(
            Update(self.node_id, self.address, self.incarnation, State.LEFT, self.node_id)
        )
        self._gossip_once()

    def install(self, updates: Iterable[Update]) -> None:
        """Takes members as already known, silently (a bench's converged starting view)."""
        now = self._clock.now()
        for u in updates:
            if u.node_id != self.node_id:
                if u.node_id not in self.members:
                    self._ids.append(u.node_id)
                self.members[u.node_id] = Member(u.node_id, u.address, u.incarnation, u.state, now)
                self._by_address[u.address] = u.node_id
        self._live = None

    # --- views -----------------------------------------------------------------------

    def state_of(self, node_id: str) -> State | None:
        member = self.members.get(node_id)
        return None if member is None else member.state

    def incarnation_of(self, node_id: str) -> int | None:
        member = self.members.get(node_id)
        return None if member is None else member.incarnation

    def live_count(self) -> int:
        """Members alive or suspect, this node included (cached: every message asks)."""
        if self._live is None:
            self._live = sum(
                1 for m in self.members.values() if m.state in (State.ALIVE, State.SUSPECT)
            )
        return self._live

    def queued(self) -> int:
        return len(self._queue)

    # --- receiving -------------------------------------------------------------------

    def receive(self, sender: str, message: object) -> None:
        """Handles one delivered message; anything that is not a SWIM message is ignored."""
        if not self._running:
            return
        self._nudge(sender)
        if isinstance(message, Ping):
            self._merge(message.updates[: self.config.max_piggyback])
            if message.target == self.node_id:
                self._transport.send(sender, Ack(message.seq, self._piggyback()))
        elif isinstance(message, Ack):
            self._merge(message.updates[: self.config.max_piggyback])
            self._on_ack(message.seq)
        elif isinstance(message, Nack):
            self._merge(message.updates[: self.config.max_piggyback])
            probe = self._probes.get(message.seq)
            if probe is not None:
                probe.nacks += 1
        elif isinstance(message, IndirectPing):
            self._merge(message.updates[: self.config.max_piggyback])
            self._relay_probe(sender, message)
        elif isinstance(message, Gossip):
            self._merge(message.updates[: self.config.max_piggyback])
        elif isinstance(message, PushPull):
            self._merge(message.members[: self.config.max_members])
            if message.reply:
                self._joined = True
            else:
                self._transport.send(sender, PushPull(self._snapshot(), reply=True))

    def _nudge(self, sender: str) -> None:
        """A node we hold dead is talking to us: tell it, so it can refute.

        Gossip is probabilistic; a member that missed a refutation keeps a live node dead
        until that node speaks again. memberlist repairs this with a periodic full state
        push-pull; answering the 'dead' node directly is the cheap targeted version.
        """
        node_id = self._by_address.get(sender)
        member = None if node_id is None else self.members.get(node_id)
        if member is not None and member.state is State.DEAD:
            update = Update(
                member.node_id, member.address, member.incarnation, State.DEAD, self.node_id
            )
            self._transport.send(sender, Gossip((update,)))

    def _merge(self, updates: Iterable[Update]) -> None:
        for u in updates:
            if u.state is State.ALIVE:
                self._alive(u)
            elif u.state is State.SUSPECT:
                self._suspect(u)
            else:
                self._dead(u)

    # --- probing ---------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _scaled(self, seconds: float) -> float:
        """Lifeguard: a node in poor health waits longer before judging anyone."""
        return seconds * (self.awareness + 1)

    def _probe_tick(self) -> None:
        if not self._running:
            return
        target = self._next_target()
        if target is not None:
            self._probe(target)
        self._clock.call_later(self._scaled(self.config.probe_interval), self._probe_tick)

    def _next_target(self) -> Member | None:
        """Round-robin over a shuffled list, reshuffled each pass (bounded time to first probe)."""
        for _ in range(2):
            while self._probe_index < len(self._probe_order):
                member = self.members.get(self._probe_order[self._probe_index])
                self._probe_index += 1
                if member is not None and member.state in (State.ALIVE, State.SUSPECT):
                    return member
            self._probe_order = [n for n in self.members if n != self.node_id]
            self._rng.shuffle(self._probe_order)
            self._probe_index = 0
        return None

    def _probe(self, target: Member) -> None:
        seq = self._next_seq()
        probe = _Probe(target.node_id)
        self._probes[seq] = probe
        self._transport.send(target.address, Ping(seq, target.node_id, self._piggyback()))
        timeout = self._scaled(self.config.probe_timeout)
        probe.timeout = self._clock.call_later(timeout, lambda: self._indirect(seq, target))
        interval = self._scaled(self.config.probe_interval)
        self._clock.call_later(interval, lambda: self._probe_done(seq, target))

    def _indirect(self, seq: int, target: Member) -> None:
        probe = self._probes.get(seq)
        if probe is None or probe.acked:
            return
        chosen = self._pick(
            self.config.indirect_checks,
            lambda m: m.state is State.ALIVE and m.node_id != target.node_id,
        )
        probe.expected_nacks = len(chosen)
        for helper in chosen:
            message = IndirectPing(seq, target.node_id, target.address, self._piggyback())
            self._transport.send(helper.address, message)

    def _probe_done(self, seq: int, target: Member) -> None:
        probe = self._probes.pop(seq, None)
        if probe is None:
            return
        if probe.acked:
            self._adjust_awareness(-1)
            return
        # Lifeguard: missing nacks mean our own links (or we) are the trouble.
        missed = probe.expected_nacks - probe.nacks if probe.expected_nacks else 1
        self._adjust_awareness(max(0, missed))
        current = self.members.get(target.node_id)
        if current is not None and current.state in (State.ALIVE, State.SUSPECT):
            self._suspect(
                Update(
                    current.node_id,
                    current.address,
                    current.incarnation,
                    State.SUSPECT,
                    self.node_id,
                )
            )

    def _on_ack(self, seq: int) -> None:
        probe = self._probes.get(seq)
        if probe is None:
            return
        if probe.relay_to is not None:
            requester, their_seq = probe.relay_to
            self._probes.pop(seq, None)
            if probe.timeout is not None:
                probe.timeout.cancel()
            self._transport.send(requester, Ack(their_seq, self._piggyback()))
            return
        probe.acked = True
        if probe.timeout is not None:
            probe.timeout.cancel()

    def _relay_probe(self, requester: str, message: IndirectPing) -> None:
        seq = self._next_seq()
        probe = _Probe(message.target, relay_to=(requester, message.seq))
        self._probes[seq] = probe
        self._transport.send(message.target_address, Ping(seq, message.target, self._piggyback()))

        def give_up() -> None:
            if self._probes.pop(seq, None) is not None:
                self._transport.send(requester, Nack(message.seq, self._piggyback()))

        # Lifeguard: nack at 80% of the timeout so it reaches the requester before the end
        # of its probe period; a nack arriving late would read as the requester's fault.
        probe.timeout = self._clock.call_later(0.8 * self.config.probe_timeout, give_up)

    def _adjust_awareness(self, delta: int) -> None:
        self.awareness = min(self.config.awareness_max - 1, max(0, self.awareness + delta))

    # --- state changes -----------------------------------------------------------------

    def _changed(self, member: Member) -> None:
        if self._on_change is not None:
            self._on_change(
                Update(
                    member.node_id, member.address, member.incarnation, member.state, self.node_id
                )
            )

    def _alive(self, u: Update) -> None:
        if u.node_id == self.node_id:
            return  # others' news about us never overrides what we say about ourselves
        member = self.members.get(u.node_id)
        if member is None:
            if len(self.members) >= self.config.max_members:
                return
            member = Member(u.node_id, u.address, u.incarnation, State.ALIVE, self._clock.now())
            self.members[u.node_id] = member
            self._by_address[u.address] = u.node_id
            self._ids.append(u.node_id)
            self._live = None
        elif u.incarnation <= member.incarnation:
            return
        else:
            if member.state in (State.DEAD, State.LEFT):
                self._live = None
            member.incarnation, member.state = u.incarnation, State.ALIVE
            member.address, member.since = u.address, self._clock.now()
            self._by_address[u.address] = u.node_id
        self._clear_suspicion(u.node_id)
        self._enqueue(u)
        self._changed(member)

    def _accusable(self, u: Update) -> Member | None:
        """The member an accusation (suspect or dead) is about, if it still applies: not
        older than what we hold, and not about a member already gone. An accusation of
        this node itself is answered here (refuted unless we are leaving)."""
        if u.node_id == self.node_id:
            self._accused(u)
            return None
        member = self.members.get(u.node_id)
        if member is None or u.incarnation < member.incarnation:
            return None
        if member.state in (State.DEAD, State.LEFT):
            return None
        return member

    def _suspect(self, u: Update) -> None:
        member = self._accusable(u)
        if member is None:
            return
        suspicion = self._suspicions.get(u.node_id)
        if (
            member.state is State.SUSPECT
            and suspicion is not None
            and u.incarnation == suspicion.incarnation
        ):
            if self._confirm(u.node_id, suspicion, u.source):
                self._enqueue(u)  # a new confirmation is news: pass it on
            return
        member.incarnation, member.state, member.since = (
            u.incarnation,
            State.SUSPECT,
            self._clock.now(),
        )
        self._start_suspicion(member, u.source)
        self._enqueue(u)
        self._changed(member)

    def _dead(self, u: Update) -> None:
        member = self._accusable(u)
        if member is None:
            return
        member.incarnation = u.incarnation
        member.state = State.LEFT if u.state is State.LEFT or u.source == u.node_id else State.DEAD
        member.since = self._clock.now()
        self._live = None
        self._clear_suspicion(u.node_id)
        self._enqueue(u)
        self._changed(member)

    def _accused(self, u: Update) -> None:
        """Someone says we are suspect or dead. At our incarnation or above: refute. Below:
        we already refuted, but the accuser missed it — gossip our alive again."""
        if self.leaving:
            return
        if u.incarnation >= self.incarnation:
            self._refute(u.incarnation)
        elif self.node_id not in self._queue:
            self._enqueue(
                Update(self.node_id, self.address, self.incarnation, State.ALIVE, self.node_id)
            )

    def _refute(self, incarnation: int) -> None:
        """We are accused: outbid the accusation's incarnation and say we are alive."""
        self.incarnation = max(self.incarnation, incarnation) + 1
        self.members[self.node_id].incarnation = self.incarnation
        self._adjust_awareness(1)
        self._enqueue(
            Update(self.node_id, self.address, self.incarnation, State.ALIVE, self.node_id)
        )

    # --- suspicion timers --------------------------------------------------------------

    def _start_suspicion(self, member: Member, source: str) -> None:
        self._clear_suspicion(member.node_id)
        n = self.live_count()
        k = self.config.suspicion_mult - 2
        if n - 2 < k:
            k = 0
        minimum = self.config.suspicion_mult * scale(n) * self.config.probe_interval
        suspicion = _Suspicion(
            member.incarnation,
            self._clock.now(),
            k,
            minimum,
            self.config.suspicion_max_timeout_mult * minimum,
            {source},
        )
        self._suspicions[member.node_id] = suspicion
        self._arm(member.node_id, suspicion)

    def _confirm(self, node_id: str, suspicion: _Suspicion, source: str) -> bool:
        """Counts an independent confirmation; returns whether it was new."""
        if source in suspicion.confirmers or len(suspicion.confirmers) > suspicion.k:
            return False
        suspicion.confirmers.add(source)
        self._arm(node_id, suspicion)
        return True

    def _arm(self, node_id: str, suspicion: _Suspicion) -> None:
        if suspicion.handle is not None:
            suspicion.handle.cancel()
        remaining = suspicion.start + suspicion.timeout() - self._clock.now()

        def expire() -> None:
            member = self.members.get(node_id)
            if (
                self._running
                and member is not None
                and member.state is State.SUSPECT
                and member.incarnation == suspicion.incarnation
            ):
                self._dead(
                    Update(node_id, member.address, member.incarnation, State.DEAD, self.node_id)
                )

        suspicion.handle = self._clock.call_later(max(0.0, remaining), expire)

    def _clear_suspicion(self, node_id: str) -> None:
        suspicion = self._suspicions.pop(node_id, None)
        if suspicion is not None and suspicion.handle is not None:
            suspicion.handle.cancel()

    # --- dissemination ---------------------------------------------------------------

    def _enqueue(self, update: Update) -> None:
        """Queues a change for piggy-backing; a newer change about a node replaces the older."""
        self._queue_order += 1
        self._queue[update.node_id] = _Queued(update, 0, self._queue_order)

    def _piggyback(self) -> tuple[Update, ...]:
        """Up to ``max_piggyback`` queued changes, least-sent first, each sent a bounded
        ``retransmit_mult · ceil(log10(N+1))`` times — enough to reach everyone w.h.p."""
        if not self._queue:
            return ()
        limit = self.config.retransmit_mult * scale(self.live_count())
        items = sorted(self._queue.values(), key=lambda q: (q.transmits, -q.order))
        chosen = items[: self.config.max_piggyback]
        for q in chosen:
            q.transmits += 1
            if q.transmits >= limit:
                del self._queue[q.update.node_id]
        return tuple(q.update for q in chosen)

    def _gossip_tick(self) -> None:
        if not self._running:
            return
        self._gossip_once()
        self._clock.call_later(self.config.gossip_interval, self._gossip_tick)

    def _gossip_once(self) -> None:
        if not self._queue:
            return
        now = self._clock.now()
        dead_window = self.config.gossip_to_the_dead

        def reachable(m: Member) -> bool:
            return m.state in (State.ALIVE, State.SUSPECT) or (
                m.state is State.DEAD and now - m.since < dead_window
            )

        for peer in self._pick(self.config.gossip_nodes, reachable):
            updates = self._piggyback()
            if not updates:
                return
            self._transport.send(peer.address, Gossip(updates))

    def _pick(self, count: int, ok: Callable[[Member], bool]) -> list[Member]:
        """Up to ``count`` distinct random other members passing ``ok``.

        Random draws first (O(count), not O(N): this runs five times a second), then a
        full scan only when draws keep missing, as in a small or mostly dead cluster.
        """
        ids = self._ids
        chosen: dict[str, Member] = {}
        for _ in range(count * 4):
            if len(chosen) >= count or not ids:
                break
            member = self.members[ids[self._rng.randrange(len(ids))]]
            if member.node_id not in chosen and ok(member):
                chosen[member.node_id] = member
        if len(chosen) < count:
            rest = [m for n in ids if n not in chosen and ok(m := self.members[n])]
            more = self._rng.sample(rest, min(count - len(chosen), len(rest)))
            chosen.update((m.node_id, m) for m in more)
        return list(chosen.values())

    def _snapshot(self) -> tuple[Update, ...]:
        return tuple(
            Update(m.node_id, m.address, m.incarnation, m.state, self.node_id)
            for m in self.members.values()
        )


__all__ = [
    "Ack",
    "Gossip",
    "IndirectPing",
    "Member",
    "Message",
    "Nack",
    "Ping",
    "PushPull",
    "State",
    "SwimConfig",
    "SwimNode",
    "Update",
    "scale",
]
