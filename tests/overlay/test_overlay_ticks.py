"""The overlay's replica ticks form one chain: a tick asked for while one is under way, or
while one has been started but has not yet run its first step, is marked due, never
started alongside it.

The replicas' tick is replaced by one that waits on an event the test sets, and the early
tick's delay is zero, so the loop only ever runs callbacks already due: no real time is
waited out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine

import httpx

from qfzz.network import ContentRecord, NodeIdentity, seal_blob
from qfzz.overlay import NodeView, Overlay, OverlayConfig, PeerClient, ReplicaConfig


def _batch(number: int) -> bytes:
    """A records batch with one content this node has not seen: it changes state, so the
    overlay asks for a tick at once."""
    origin = NodeIdentity.from_seed(b"origin".ljust(32, b"\0"))
    key, blob = seal_blob(bytes([number]) * 64)
    record = ContentRecord.signed(
        origin, blob, key, media_type="audio/mpeg", title=f"t{number}", artist="a",
        license="CC-BY-4.0",
    )  # fmt: skip
    return json.dumps({"content": [record.to_json()]}).encode()


async def _passes(count: int = 20) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def test_records_arriving_as_a_tick_starts_make_no_second_chain(tmp_path, clock, monkeypatch):
    """The early tick's timer fires and spawns the tick; in the same loop pass, before the
    tick's first step, a records batch asks for another. That ask must wait for the tick
    to end: were it to schedule a tick of its own, two chains would tick side by side for
    good (pushes, heartbeats and downloads of the same blob into the same file, twice)."""
    monkeypatch.setattr("qfzz.overlay._overlay.TICK_SOON", 0.0)
    refuse = httpx.MockTransport(lambda request: httpx.Response(503))
    overlay = Overlay(
        NodeIdentity.from_seed(b"node".ljust(32, b"\0")),
        OverlayConfig(
            public_host="http://node.example:8000",
            replicas=ReplicaConfig(heartbeat_interval=3600.0),
        ),
        tmp_path,
        wall=clock,
        client=PeerClient(transport=refuse),
    )
    release = asyncio.Event()
    running = peak = ticks = 0

    async def tick(view: NodeView) -> None:
        nonlocal running, peak, ticks
        ticks += 1
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    monkeypatch.setattr(overlay.replicas, "tick", tick)
    spawn = overlay._spawn
    pending: list[bytes] = []

    def spawn_then_receive(coroutine: Coroutine[object, object, None]) -> None:
        spawn(coroutine)
        while pending:  # a batch handled in the pass in which the tick was spawned
            overlay.handle_records(pending.pop(), "peer")

    monkeypatch.setattr(overlay, "_spawn", spawn_then_receive)

    async def scenario() -> None:
        release.set()
        await overlay.start()
        await _passes()  # the first tick ran and ended; the next is an hour away
        assert ticks == 1 and running == 0
        release.clear()
        pending.append(_batch(2))
        assert overlay.handle_records(_batch(1), "peer") == 1  # a tick is due now
        await _passes()
        assert ticks == 2 and running == 1  # the second batch only marked a tick due
        release.set()
        await _passes()  # the tick the second batch asked for, after the first
        await overlay.stop()

    asyncio.run(scenario())
    assert peak == 1
    assert ticks == 3
