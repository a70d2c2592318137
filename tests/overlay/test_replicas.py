"""Replicas between in-process nodes (httpx's transport seam routes each request to the
addressed node): a holder refuses a corrupted blob and fetches it again from another
source; a record with a bad signature is refused and changes nothing; a licence that does
not allow copies keeps the key at the origin; the record of a leader that died reaches the
node taking over from it, which leads at a higher epoch."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from qfzz.errors import Forbidden, QfzzError
from qfzz.network import (
    Candidate,
    HandshakeRejected,
    MemberRecord,
    NodeIdentity,
    NodeInfo,
    rendezvous_order,
    renew,
    take_over,
)
from qfzz.overlay import NodeView, PeerClient, ReplicaConfig, Replicas
from qfzz.testing import FakeClock

NAMES = ("origin", "good", "bad", "holder")


class Cluster:
    """Four nodes; the one named in ``corrupt`` serves every blob with one byte changed;
    those in ``dead`` refuse connections, and the others' membership holds them dead."""

    def __init__(self, tmp_path, clock: FakeClock) -> None:
        self.clock = clock
        self.corrupt = "bad"
        self.dead: set[str] = set()
        self.ids = {n: NodeIdentity.from_seed(n.encode().ljust(32, b"\0")) for n in NAMES}
        self.address = {n: f"http://{n}.example:8000" for n in NAMES}
        transport = httpx.MockTransport(self._handle)
        self.nodes = {
            n: Replicas(
                self.ids[n],
                tmp_path / n,
                PeerClient(transport=transport),
                config=ReplicaConfig(min_asn=0, min_ip_octets=0),
                wall=clock,
            )
            for n in NAMES
        }

    def _handle(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host.split(".")[0]
        if name in self.dead:
            raise httpx.ConnectError("connection refused", request=request)
        node = self.nodes[name]
        if request.url.path.startswith("/api/v1.5/storage/"):
            content_id = request.url.path.rsplit("/", 1)[1]
            if not node.blobs.has(content_id):
                return httpx.Response(404)
            blob = bytearray(node.blobs.read(content_id))
            if name == self.corrupt:
                blob[len(blob) // 2] ^= 0x01
            return httpx.Response(200, content=bytes(blob))
        if request.url.path == "/api/v1/network.replicate":
            try:
                node.accept_records(request.content, self.view(name))  # as the route does
            except QfzzError as exc:
                return httpx.Response(422, json={"detail": exc.detail})
            return httpx.Response(200, json={})
        return httpx.Response(204)

    def view(self, of: str) -> NodeView:
        by_id = {self.ids[n].node_id: n for n in NAMES}
        info = NodeInfo.of(self.ids[of], self.address[of])
        record = MemberRecord.signed(
            self.ids[of], info, "alive", incarnation=0, logical_counter=1, timestamp=1.0
        )
        return NodeView(
            candidates=tuple(Candidate(self.ids[n].node_id) for n in NAMES if n not in self.dead),
            address_of=lambda node_id: self.address.get(by_id.get(node_id, "")),
            is_dead=lambda node_id: by_id.get(node_id) in self.dead,
            record=record,
        )


@pytest.fixture
def cluster(tmp_path, clock):
    return Cluster(tmp_path, clock)


def _share(cluster, license="CC-BY-4.0"):
    return cluster.nodes["origin"].share(
        b"ID3" + bytes(range(256)) * 40,
        media_type="audio/mpeg",
        title="Tone",
        artist="Ann",
        license=license,
    )


def _lease_to_holder(cluster, record, *others):
    """The origin leads and gives ``holder`` (and ``others``) a lease; the holder learns
    both records."""
    meta = take_over(
        cluster.ids["origin"],
        record.content_id,
        cluster.clock(),
        holders=[cluster.ids[n].node_id for n in ("holder", *others)],
    )
    body = {"content": [record.to_json()], "meta": [meta.to_json()]}
    cluster.nodes["holder"].accept_records(json.dumps(body).encode())


def test_a_corrupted_blob_is_refused_and_fetched_again_from_another_source(cluster):
    """The origin's copy arrives with one byte changed: refused, then taken from the other
    holder, whose copy is intact."""
    record = _share(cluster)
    original = cluster.nodes["origin"].blobs.read(record.content_id)
    cluster.nodes["good"].blobs.put(record.content_id, original)
    cluster.corrupt = "origin"
    _lease_to_holder(cluster, record, "good")
    holder = cluster.nodes["holder"]
    asyncio.run(holder.tick(cluster.view("holder")))
    assert holder.counters.corrupt_blobs_refused == 1
    assert holder.counters.blobs_fetched == 1
    assert holder.blobs.read(record.content_id) == original
    audio, media_type = holder.plaintext(record.content_id)
    assert audio.startswith(b"ID3") and media_type == "audio/mpeg"


def test_a_holder_fetches_what_it_leases_on_its_tick(cluster):
    record = _share(cluster)
    _lease_to_holder(cluster, record)
    holder = cluster.nodes["holder"]
    assert not holder.blobs.has(record.content_id)
    asyncio.run(holder.tick(cluster.view("holder")))
    assert holder.blobs.has(record.content_id)


def test_records_with_a_bad_signature_are_refused_and_change_nothing(cluster):
    record = _share(cluster)
    holder = cluster.nodes["holder"]
    tampered = record.to_json()
    tampered["title"] = "Something else"
    before = holder.describe()
    with pytest.raises(HandshakeRejected) as refused:
        holder.accept_records(json.dumps({"content": [tampered]}).encode())
    assert refused.value.reason == "bad_signature"
    with pytest.raises(HandshakeRejected):
        holder.accept_records(b"{not json")
    with pytest.raises(HandshakeRejected):
        holder.accept_records(json.dumps({"content": [record.to_json()] * 65}).encode())
    assert holder.describe() == before == []
    assert holder.counters.records_refused == 3
    assert not (holder.blobs.path(record.content_id)).exists()


def test_a_licence_without_copies_keeps_the_key_at_the_origin(cluster):
    record = _share(cluster, license="LicenseRef-All-Rights-Reserved")
    assert record.key is None
    _lease_to_holder(cluster, record)
    holder = cluster.nodes["holder"]
    asyncio.run(holder.tick(cluster.view("holder")))
    assert holder.blobs.has(record.content_id)  # held for durability ...
    with pytest.raises(Forbidden):
        holder.plaintext(record.content_id)  # ... not for playback
    audio, _ = cluster.nodes["origin"].plaintext(record.content_id)
    assert audio.startswith(b"ID3")


def test_a_lease_record_from_an_implausible_leader_is_not_taken(cluster, tmp_path):
    """Any member can sign a record with a higher epoch; only one ranked among the first
    R + 2 for the content may lead it."""
    record = _share(cluster)
    holder = cluster.nodes["holder"]
    holder.accept_records(json.dumps({"content": [record.to_json()]}).encode())
    usurper = NodeIdentity.from_seed(b"usurper".ljust(32, b"\0"))
    grab = take_over(usurper, record.content_id, cluster.clock(), holders=[usurper.node_id])
    view = cluster.view("holder")  # four members; the usurper is not one of them
    body = json.dumps({"meta": [grab.to_json()]}).encode()
    assert holder.accept_records(body, view) == 0
    assert holder.meta(record.content_id) is None
    assert holder.counters.records_refused == 1
    legit = take_over(cluster.ids["origin"], record.content_id, cluster.clock(), holders=[])
    assert holder.accept_records(json.dumps({"meta": [legit.to_json()]}).encode(), view) == 1


def test_a_dead_leaders_record_reaches_the_node_taking_over_from_it(cluster):
    """``bad`` leads a content that ``good`` never knew, and dies. ``good``, now the placed
    leader (the smallest id of the three live nodes), learns the content and ``bad``'s
    record from ``holder``: the record counts though its signer is no longer live (it
    would still rank among the first R + 2), so ``good`` takes over at a higher epoch,
    which fences ``bad``'s leases, and ``holder`` follows it.

    Were the record refused, ``good`` would start the lease record afresh at epoch 1,
    below the dead leader's renewed one, which every other node would keep following
    until ``good``'s own renewals out-ranked it at that same epoch: no epoch above the
    dead leader's would ever fence its holders."""
    ids = {name: identity.node_id for name, identity in cluster.ids.items()}
    assert ids["good"] == min(ids[n] for n in ("origin", "good", "holder"))
    record = _share(cluster)
    started = take_over(
        cluster.ids["bad"],
        record.content_id,
        cluster.clock(),
        holders=[ids["bad"], ids["holder"], ids["origin"]],
    )
    cluster.clock.advance(60)
    renewed = renew(cluster.ids["bad"], started, [ids["holder"]], cluster.clock())
    holder, good = cluster.nodes["holder"], cluster.nodes["good"]
    body = {"content": [record.to_json()], "meta": [renewed.to_json()]}
    holder.accept_records(json.dumps(body).encode())
    assert good.meta(record.content_id) is None

    cluster.dead.add("bad")
    cluster.clock.advance(5)
    asyncio.run(holder.tick(cluster.view("holder")))  # hands the records to the placed leader
    assert good.meta(record.content_id) == renewed
    assert good.counters.records_refused == 0

    cluster.clock.advance(1)
    asyncio.run(good.tick(cluster.view("good")))
    taken = good.meta(record.content_id)
    assert taken is not None and taken.leader == ids["good"]
    assert taken.epoch > renewed.epoch
    assert ids["bad"] not in {lease.holder for lease in taken.leases}
    assert holder.meta(record.content_id) == taken


def test_a_member_held_dead_counts_only_if_it_would_rank_among_the_first_r_plus_2(cluster):
    """Taking a dead leader's record is no way round the rule: of two members the view
    holds dead, the one ranked first for the content may have led it, the one ranked last
    (below ten live members) may not."""
    record = _share(cluster)
    holder = cluster.nodes["holder"]
    holder.accept_records(json.dumps({"content": [record.to_json()]}).encode())
    members = {m.node_id: m for m in (NodeIdentity.from_seed(bytes([i]) * 32) for i in range(12))}
    order = [c.node_id for c in rendezvous_order(record.content_id, map(Candidate, members), 12)]
    first, last = order[0], order[-1]
    view = NodeView(
        candidates=tuple(Candidate(node_id) for node_id in order[1:-1]),
        address_of=lambda node_id: None,
        is_dead=lambda node_id: node_id in (first, last),
        record=cluster.view("holder").record,
    )

    def claim(node_id: str) -> bytes:
        meta = take_over(members[node_id], record.content_id, cluster.clock(), holders=[])
        return json.dumps({"meta": [meta.to_json()]}).encode()

    assert holder.accept_records(claim(last), view) == 0
    assert holder.counters.records_refused == 1
    assert holder.accept_records(claim(first), view) == 1
    assert holder.meta(record.content_id).leader == first
