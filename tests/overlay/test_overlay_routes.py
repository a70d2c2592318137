"""The network routes as a peer (or an attacker) meets them: a good handshake is answered and
stored; every kind of bad handshake or SWIM message gets a JSON 4xx with its reason, is
counted in the metrics, and changes nothing; handshakes are rate-limited per address."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.network import (
    HANDSHAKE_SKEW,
    MAX_HANDSHAKE_BYTES,
    SCHEMA_VERSION,
    MemberRecord,
    NodeIdentity,
    NodeInfo,
    ReachabilityReceipt,
    SwimGossip,
    SwimState,
    Update,
    build_handshake,
    canonical,
    new_nonce,
    seal,
    verify_answer,
)
from qfzz.overlay import Overlay, OverlayConfig

PEER = NodeIdentity.from_seed(b"\x07" * 32)
WITNESS = NodeIdentity.from_seed(b"\x08" * 32)
OTHER = NodeIdentity.from_seed(b"\x09" * 32)


def _record(identity, clock, host="http://peer.example:8000", state="alive"):
    info = NodeInfo.of(identity, host, asn="AS64500")
    return MemberRecord.signed(
        identity, info, state, incarnation=0, logical_counter=1, timestamp=clock()
    )


@pytest.fixture
def node(station, clock, tmp_path):
    """An overlay on the fake clock, behind the app's routes (its loop tasks not started:
    only what a request does is under test)."""
    config = OverlayConfig(public_host="http://node.example:8000", handshakes_per_minute=20)
    overlay = Overlay(station.parts.node, config, tmp_path, wall=clock)
    client = TestClient(create_api(station, overlay=overlay, manage_lifecycle=False))
    return overlay, client


def _state(overlay):
    return (overlay.members.snapshot(), overlay.receipts.snapshot(), len(overlay.nonces))


def _metric(client, name, **labels):
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}") or line == f"{name} " + line.split(" ")[-1]:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _assert_refused(node, path, body, reason):
    """A JSON 422 naming ``reason``, and the node's state exactly as before."""
    overlay, client = node
    before = _state(overlay)
    response = client.post(path, content=body)
    assert response.status_code == 422
    assert response.json()["error"] == "handshake_rejected"
    assert response.json()["detail"].startswith(f"{reason}:")
    assert _state(overlay) == before


def _handshake(clock, **overrides):
    receipt = ReachabilityReceipt.signed(WITNESS, PEER.node_id, asn="AS1", timestamp=clock())
    return build_handshake(
        overrides.pop("identity", PEER),
        overrides.pop("record", _record(PEER, clock)),
        now=overrides.pop("now", clock()),
        receipts=(receipt,),
        **overrides,
    )


def test_a_good_handshake_is_answered_signed_and_stored(node, clock):
    overlay, client = node
    nonce = new_nonce()
    response = client.post("/api/v1/network.handshake", content=_handshake(clock, nonce=nonce))
    assert response.status_code == 200
    answer = verify_answer(
        response.content, request_nonce=nonce, now=clock(), expected_node=overlay.node_id
    )
    assert answer.member.info.public_host == "http://node.example:8000"
    assert overlay.members.get(PEER.node_id) is not None
    assert len(overlay.receipts.fresh_for(PEER.node_id, clock())) == 1
    assert _metric(client, "qfzz_network_handshakes_total", outcome="accepted", reason="") == 1


def _resigned(raw, edit, identity=PEER):
    obj = json.loads(raw)
    edit(obj)
    payload = {k: v for k, v in obj.items() if k != "signature"}
    message = f"qfzz/{SCHEMA_VERSION}/network.handshake\n".encode() + canonical(payload)
    return json.dumps({**payload, "signature": identity.sign(message).hex()}).encode()


def _bad_handshakes(clock):
    good = _handshake(clock)
    unsigned = json.loads(good)
    unsigned["timestamp"] += 1  # changed after signing
    impostor = _record(PEER, clock).to_json()
    impostor["info"]["node_id"] = OTHER.node_id  # PEER's key claiming OTHER's id
    return {
        "bad_signature": json.dumps(unsigned).encode(),
        "stale_timestamp": _handshake(clock, now=clock() - HANDSHAKE_SKEW - 1),
        "future_timestamp": _handshake(clock, now=clock() + HANDSHAKE_SKEW + 1),
        "node_id_mismatch": _resigned(good, lambda o: o.__setitem__("node", impostor)),
        "too_large": b"{" + b" " * (MAX_HANDSHAKE_BYTES + 1) + b"}",
        "malformed": b"{not json",
        "string_too_long": _resigned(
            good, lambda o: o["node"]["info"].__setitem__("public_host", "h" * 10_000)
        ),
        "wrong_schema": _resigned(good, lambda o: o.__setitem__("schema", "v0")),
    }


@pytest.mark.parametrize(
    "reason",
    [
        "bad_signature",
        "stale_timestamp",
        "future_timestamp",
        "node_id_mismatch",
        "too_large",
        "malformed",
        "string_too_long",
        "wrong_schema",
    ],
)
def test_every_bad_handshake_is_refused_counted_and_changes_nothing(node, clock, reason):
    overlay, client = node
    _assert_refused(node, "/api/v1/network.handshake", _bad_handshakes(clock)[reason], reason)
    assert overlay.counters.handshakes_rejected[reason] == 1
    assert _metric(client, "qfzz_network_handshakes_total", outcome="rejected", reason=reason) == 1


def test_a_replayed_handshake_is_refused(node, clock):
    overlay, client = node
    raw = _handshake(clock)
    assert client.post("/api/v1/network.handshake", content=raw).status_code == 200
    before = _state(overlay)
    replay = client.post("/api/v1/network.handshake", content=raw)
    assert replay.status_code == 422
    assert replay.json()["detail"].startswith("replayed_nonce:")
    assert _state(overlay) == before


def test_a_body_past_the_route_limit_is_refused_unread(node):
    overlay, client = node
    before = _state(overlay)
    response = client.post(
        "/api/v1/network.handshake", content=b"x" * (2 * MAX_HANDSHAKE_BYTES + 1)
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert _state(overlay) == before


def test_handshakes_are_rate_limited_per_address(node, clock):
    overlay, client = node
    for _ in range(overlay.config.handshakes_per_minute):
        assert (
            client.post("/api/v1/network.handshake", content=_handshake(clock)).status_code == 200
        )
    before = _state(overlay)
    limited = client.post("/api/v1/network.handshake", content=_handshake(clock))
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert _state(overlay) == before
    assert overlay.counters.handshakes_rejected["rate_limited"] == 1
    clock.advance(61)
    assert client.post("/api/v1/network.handshake", content=_handshake(clock)).status_code == 200


# -- SWIM messages -------------------------------------------------------------------------------


def _gossip(clock):
    update = Update(OTHER.node_id, "http://other.example", 3, SwimState.SUSPECT, PEER.node_id)
    return SwimGossip((update,))


def test_a_sealed_swim_message_is_accepted_and_introduces_its_sender(node, clock):
    overlay, client = node
    raw = seal(PEER, _record(PEER, clock), _gossip(clock), now=clock())
    assert client.post("/api/v1/network.swim", content=raw).status_code == 204
    assert overlay.members.get(PEER.node_id) == _record(PEER, clock)
    assert overlay.counters.swim_received == 1


def _bad_swim(clock):
    good = seal(PEER, _record(PEER, clock), _gossip(clock), now=clock())
    tampered = json.loads(good)
    tampered["message"]["updates"][0][2] = 99  # the incarnation, after signing
    return {
        "bad_signature": json.dumps(tampered).encode(),
        # signed by PEER's key but carrying OTHER's record: the key in the record decides
        "bad_signature_record": seal(PEER, _record(OTHER, clock), _gossip(clock), now=clock()),
        "stale_timestamp": seal(
            PEER, _record(PEER, clock), _gossip(clock), now=clock() - HANDSHAKE_SKEW - 1
        ),
        "not_alive": seal(PEER, _record(PEER, clock, state="left"), _gossip(clock), now=clock()),
        "malformed": b"[]",
        "too_large": b"{" + b" " * (512 * 1024 + 1) + b"}",
    }


@pytest.mark.parametrize(
    "case",
    [
        "bad_signature",
        "bad_signature_record",
        "stale_timestamp",
        "not_alive",
        "malformed",
        "too_large",
    ],
)
def test_every_bad_swim_message_is_refused_counted_and_changes_nothing(node, clock, case):
    overlay, _client = node
    reason = case.removesuffix("_record")
    _assert_refused(node, "/api/v1/network.swim", _bad_swim(clock)[case], reason)
    assert overlay.counters.swim_rejected[reason] == 1
    assert overlay.counters.swim_received == 0


def test_a_station_without_a_node_answers_503(station):
    client = TestClient(create_api(station, manage_lifecycle=False))
    response = client.post("/api/v1/network.handshake", content=b"{}")
    assert response.status_code == 503
    assert response.json()["error"] == "station_not_running"


def test_the_peer_list_is_for_admins(node):
    _overlay, client = node
    assert client.get("/api/v1/network.peers").status_code == 401


# -- shared content ------------------------------------------------------------------------------


def test_the_storage_route_serves_sealed_blobs_with_ranges(node):
    overlay, client = node
    record = overlay.replicas.share(
        b"ID3" + bytes(range(256)) * 8, media_type="audio/mpeg", title="T", artist="A",
        license="CC0-1.0",
    )  # fmt: skip
    blob = overlay.replicas.blobs.read(record.content_id)
    whole = client.get(f"/api/v1.5/storage/{record.content_id}")
    assert whole.status_code == 200 and whole.content == blob
    part = client.get(f"/api/v1.5/storage/{record.content_id}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == blob[10:20]
    assert client.get(f"/api/v1.5/storage/{'0' * 64}").status_code == 404
    assert client.get("/api/v1.5/storage/not-a-hash").status_code == 422
    audio = client.get(f"/api/v1/network.content/{record.content_id}/audio")
    assert audio.status_code == 200 and audio.content.startswith(b"ID3")


def test_a_pushed_record_with_a_bad_signature_is_refused_and_counted(node, clock, tmp_path):
    overlay, client = node
    origin = Overlay(PEER, OverlayConfig(public_host="http://peer.example:8000"), tmp_path / "o")
    record = origin.replicas.share(
        b"ID3 audio", media_type="audio/mpeg", title="T", artist="A", license="CC0-1.0"
    )
    tampered = record.to_json()
    tampered["license"] = "CC-BY-4.0"
    response = client.post(
        "/api/v1/network.replicate", content=json.dumps({"content": [tampered]}).encode()
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("bad_signature:")
    assert overlay.replicas.describe() == []
    assert overlay.counters.swim_rejected["bad_signature"] == 1
    accepted = client.post(
        "/api/v1/network.replicate", content=json.dumps({"content": [record.to_json()]}).encode()
    )
    assert accepted.status_code == 200 and accepted.json() == {"changed": 1}
