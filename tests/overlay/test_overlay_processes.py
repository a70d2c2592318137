"""Five real ``qfzz serve`` processes on loopback form a network: they find each other from
one seed, mark a SIGKILLed node dead, take it back when it restarts with the same NodeID,
and never advertise the private one.

Each node's view is read the way ``qfzz node peers`` reads it (the snapshot the node writes
after every handshake round); what nodes advertise is read the way a peer reads it, from a
signed handshake answer. With five nodes a node can hold at most four receipts, so the
network runs with ``DHT_MIN_RECEIPTS=3``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import httpx
import pytest

from qfzz.network import (
    MemberRecord,
    NodeIdentity,
    NodeInfo,
    SwimConfig,
    build_handshake,
    new_nonce,
    verify_answer,
)
from qfzz.overlay import read_snapshot
from qfzz.testing import ServeProcess, wait_for

pytestmark = pytest.mark.slow

PRIVATE = 4
ROUND = "1"  # handshake interval (s): fast rounds, so the test waits seconds, not minutes


def _node(tmp_path, i: int, seed: str | None, port: int | None = None) -> ServeProcess:
    env = {
        "QFZZ_NODE_ASN": f"AS6450{i}",
        "QFZZ_DHT_MIN_RECEIPTS": "3",
        "QFZZ_HANDSHAKE_INTERVAL_SEC": ROUND,
        "QFZZ_NODE_PRIVACY": "private" if i == PRIVATE else "public",
    }
    if seed is not None:
        env["QFZZ_PEERS"] = seed
    return ServeProcess(tmp_path / f"node{i}", env=env, port=port)


def _states(node: ServeProcess) -> dict[str, str]:
    """node id → state, as this node last wrote it down."""
    snapshot = read_snapshot(node.data_dir)
    return {} if snapshot is None else {row.node_id: row.state for row in snapshot.peers}


def _node_id(node: ServeProcess) -> str:
    return str(httpx.get(f"{node.url}/api/system.version", timeout=5).json()["node_id"])


def _advertised(node: ServeProcess, asker: NodeIdentity) -> set[str]:
    """What ``node`` lists as known public nodes to a peer that handshakes it."""
    info = NodeInfo.of(asker, "http://127.0.0.1:9", privacy="private")
    record = MemberRecord.signed(
        asker, info, "alive", incarnation=0, logical_counter=1, timestamp=time.time()
    )
    nonce = new_nonce()
    body = build_handshake(asker, record, now=time.time(), nonce=nonce)
    raw = httpx.post(f"{node.url}/api/v1/network.handshake", content=body, timeout=5)
    assert raw.status_code == 200, raw.text
    answer = verify_answer(raw.content, request_nonce=nonce, now=time.time())
    return {r.node_id for r in answer.known_public_nodes}


def test_five_processes_join_detect_a_crash_and_take_the_node_back(tmp_path):
    seed = _node(tmp_path, 0, None)
    nodes = [seed.start()]
    nodes += [_node(tmp_path, i, seed.url).start() for i in range(1, 5)]
    try:
        for node in nodes:
            node.wait_healthy()
        ids = [_node_id(node) for node in nodes]

        def everyone_sees_everyone_alive() -> bool:
            return all(
                all(_states(node).get(other) == "alive" for other in ids if other != own)
                for node, own in zip(nodes, ids, strict=True)
            )

        assert wait_for(everyone_sees_everyone_alive, timeout=60), [_states(n) for n in nodes]

        # The private node is a member everywhere, and advertised nowhere; the public ones
        # are advertised once three peers hold receipts for them.
        asker = NodeIdentity.generate()
        public = {ids[i] for i in range(5) if i != PRIVATE}

        def public_nodes_advertised() -> bool:
            return all(
                _advertised(node, asker) == public - {own}
                for i, (node, own) in enumerate(zip(nodes, ids, strict=True))
                if i != PRIVATE
            )

        assert wait_for(public_nodes_advertised, timeout=30)
        for node in nodes:
            assert ids[PRIVATE] not in _advertised(node, asker)

        # kill -9 one node: every other marks it dead within SWIM's bound
        victim = 2
        nodes[victim].kill()
        killed_at = time.monotonic()
        bound = _detection_bound(nodes=5)
        others = [n for i, n in enumerate(nodes) if i != victim]
        assert wait_for(
            lambda: all(_states(n).get(ids[victim]) == "dead" for n in others), timeout=bound
        ), [_states(n).get(ids[victim]) for n in others]
        detected = time.monotonic() - killed_at
        print(f"crash detected by all 4 in {detected:.1f} s (bound {bound:.0f} s)")
        assert ids[victim] not in _advertised(nodes[0], asker)

        # restarted on the same data directory: the same NodeID, alive again everywhere
        again = _node(tmp_path, victim, seed.url, port=nodes[victim].port).start()
        nodes[victim] = again
        again.wait_healthy()
        assert _node_id(again) == ids[victim]
        assert wait_for(
            lambda: all(_states(n).get(ids[victim]) == "alive" for n in others), timeout=60
        ), [_states(n).get(ids[victim]) for n in others]

        # `qfzz node peers` shows the view with state, receipts and ASN labels
        shown = subprocess.run(
            [sys.executable, "-m", "qfzz", "node", "peers", "--data-dir", str(nodes[0].data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        for i in range(1, 5):
            assert ids[i][:16] in shown and f"AS6450{i}" in shown
        assert "private" in shown
    finally:
        for node in nodes:
            node.kill()


def _detection_bound(nodes: int) -> float:
    """The longest a crash can take to be declared dead with the default timings: a probe
    period to notice, the suspicion's longest timeout (Lifeguard starts at 6 × the minimum,
    4 · ceil(log10(n+1)) probe periods), the next handshake round that writes the view
    down — doubled, for a loaded machine whose event loops run late."""
    config = SwimConfig()
    periods = config.suspicion_max_timeout_mult * config.suspicion_mult
    suspicion = periods * max(1, math.ceil(math.log10(nodes + 1))) * config.probe_interval
    return 2 * (config.probe_interval + config.probe_timeout + suspicion + float(ROUND)) + 10
