"""Handshake rounds between real ``Overlay`` objects, routed in process through httpx's
transport seam (each request goes to the addressed node's ``handle_handshake``): how nodes
learn each other from one seed, hand receipts on, keep a private node unlisted, refuse to
be inflated by a lying peer, and survive peers that are down.

SWIM does not run here (no event-loop timers), so members are learned only from answers'
``known_public_nodes``: the island filter is set to one receipt, or a new node could never
be listed by anyone before a second one had reached it — in a running node SWIM's
push-pull spreads members, and handshakes carry the receipts.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from qfzz.errors import QfzzError
from qfzz.network import (
    HandshakeRejected,
    MemberRecord,
    NodeIdentity,
    NodeInfo,
    NodeScheduler,
    NonceWindow,
    SwimNode,
    SwimPushPull,
    SwimState,
    Update,
    VirtualLoop,
    build_answer,
    verify_handshake,
)
from qfzz.overlay import HANDSHAKE_PATH, Overlay, OverlayConfig, PeerClient, read_snapshot
from qfzz.testing import FakeClock


class Network:
    """Addresses → overlays; an address with no node refuses the connection."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.nodes: dict[str, Overlay] = {}
        self.liars: dict[str, NodeIdentity] = {}
        self.transport = httpx.MockTransport(self._handle)

    def add(self, tmp_path, name: str, seeds=(), privacy="public") -> Overlay:
        address = f"http://{name}.example:8000"
        config = OverlayConfig(
            public_host=address, seeds=tuple(seeds), privacy=privacy, min_receipts=1
        )
        identity = NodeIdentity.from_seed(name.encode().ljust(32, b"\0"))
        node = Overlay(
            identity,
            config,
            tmp_path / name,
            wall=self.clock,
            client=PeerClient(transport=self.transport),
        )
        self.nodes[address] = node
        return node

    def _handle(self, request: httpx.Request) -> httpx.Response:
        address = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        if address in self.liars:
            return self._lie(self.liars[address], address, request.content)
        node = self.nodes.get(address)
        if node is None:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.url.path == HANDSHAKE_PATH
        try:
            return httpx.Response(200, content=node.handle_handshake(request.content, "peer"))
        except QfzzError as exc:
            return httpx.Response(422, json={"error": exc.code, "detail": exc.detail})

    def _lie(self, identity: NodeIdentity, address: str, raw: bytes) -> httpx.Response:
        """A peer with a valid key that claims a population of a billion."""
        now = self.clock()
        request = verify_handshake(raw, nonces=NonceWindow(), now=now)
        record = MemberRecord.signed(
            identity,
            NodeInfo.of(identity, address),
            "alive",
            incarnation=0,
            logical_counter=1,
            timestamp=now,
        )
        body = build_answer(
            identity, record, request, known_public_nodes=(), n_estimate=10**9, now=now
        )
        return httpx.Response(200, content=body)


def _rounds(*nodes: Overlay, times: int = 3) -> None:
    async def run() -> None:
        for _ in range(times):
            for node in nodes:
                await node.run_round()

    asyncio.run(run())


@pytest.fixture
def net(clock):
    return Network(clock)


def test_nodes_learn_each_other_from_one_seed_and_vouch_for_each_other(net, tmp_path):
    seed = net.add(tmp_path, "seed")
    a = net.add(tmp_path, "a", seeds=[seed.config.public_host])
    b = net.add(tmp_path, "b", seeds=[seed.config.public_host])
    _rounds(seed, a, b, times=4)
    everyone = {seed.node_id, a.node_id, b.node_id}
    for node in (seed, a, b):
        assert {r.node_id for r in node.members} == everyone
    # each public node holds receipts from both others: listed by everyone
    listed = {r.node_id for r in seed.known_public_nodes()}
    assert listed == {a.node_id, b.node_id}
    assert {r.node_id for r in a.known_public_nodes()} == {seed.node_id, b.node_id}
    # the view `qfzz node peers` reads
    snapshot = read_snapshot(tmp_path / "a")
    assert snapshot is not None and {p.node_id for p in snapshot.peers} == {
        seed.node_id,
        b.node_id,
    }
    assert all(p.receipts >= 2 and p.advertised for p in snapshot.peers)


def test_a_private_node_is_a_member_but_never_listed(net, tmp_path):
    seed = net.add(tmp_path, "seed")
    a = net.add(tmp_path, "a", seeds=[seed.config.public_host])
    hidden = net.add(tmp_path, "hidden", seeds=[seed.config.public_host], privacy="private")
    _rounds(seed, a, hidden, times=4)
    for node in (seed, a):
        assert node.members.get(hidden.node_id) is not None
        assert hidden.node_id not in {r.node_id for r in node.known_public_nodes()}
    assert seed.node_id in {r.node_id for r in hidden.known_public_nodes()}


def test_a_lying_peer_cannot_inflate_the_estimate(net, tmp_path, clock):
    seed = net.add(tmp_path, "seed")
    a = net.add(tmp_path, "a", seeds=[seed.config.public_host])
    liar = NodeIdentity.from_seed(b"liar".ljust(32, b"\0"))
    net.liars["http://liar.example:8000"] = liar
    b = net.add(tmp_path, "b", seeds=[seed.config.public_host, "http://liar.example:8000"])
    _rounds(seed, a, b, times=3)
    # b heard 10**9 from a peer it reached; the estimate stays near the four real ids
    assert b._reports[liar.node_id].n_local == 10**9
    assert b.n_estimate() <= 6


def test_unreachable_peers_leave_failed_receipts_and_nothing_else(net, tmp_path, clock):
    a = net.add(tmp_path, "a", seeds=["http://gone.example:8000"])
    b = net.add(tmp_path, "b", seeds=[a.config.public_host])
    _rounds(a, b)
    del net.nodes[b.config.public_host]  # b goes away
    clock.advance(5)
    _rounds(a)
    fresh = a.receipts.fresh_for(b.node_id, clock())
    assert [r.reachable for r in fresh if r.issuer == a.node_id] == [False]
    assert a.counters.outbound_failed >= 2  # the missing seed, then b


def test_a_handshake_refused_by_the_peer_is_raised_with_its_reason(net, tmp_path, clock):
    a = net.add(tmp_path, "a")
    b = net.add(tmp_path, "b")
    b.nonces = NonceWindow(capacity=0)  # b refuses every handshake

    async def attempt() -> None:
        await a.handshake(b.config.public_host, b.node_id)

    with pytest.raises(QfzzError) as refused:
        asyncio.run(attempt())
    assert "nonce_window_full" in refused.value.detail
    assert b.counters.handshakes_rejected["nonce_window_full"] == 1
    assert not isinstance(refused.value, HandshakeRejected)  # the peer's refusal, relayed


class _Recorded:
    """A SWIM transport that only records what the detector sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def send(self, address: str, message: object) -> None:
        self.sent.append((address, message))


def test_a_member_held_dead_is_handshaken_again_after_30_s_and_rejoined(net, tmp_path, clock):
    """SWIM stops gossiping to the dead after 30 s, so two sides of a healed partition
    that hold each other dead would never speak again; the rounds try one dead member
    every round once 30 s have passed, and a success starts a SWIM push-pull with it."""
    a = net.add(tmp_path, "a")
    b = net.add(tmp_path, "b", seeds=[a.config.public_host])
    _rounds(b, a, times=1)  # each has handshaken the other
    recorded = _Recorded()
    a.swim = SwimNode(
        a.node_id,
        a.config.public_host,
        recorded,
        NodeScheduler(VirtualLoop(), a.node_id),
        random.Random(1),
    )
    a.swim.install([Update(b.node_id, b.config.public_host, 0, SwimState.DEAD, a.node_id)])
    a.swim.start()
    ok = a.counters.outbound_ok
    clock.advance(10)
    _rounds(a, times=1)
    assert a.counters.outbound_ok == ok  # dead, and tried less than 30 s ago
    clock.advance(25)
    _rounds(a, times=1)
    assert a.counters.outbound_ok == ok + 1
    assert any(
        address == b.config.public_host and isinstance(message, SwimPushPull)
        for address, message in recorded.sent
    )
