"""The simulator and in-memory network: deterministic per seed, honest loss, crash, stall."""

from __future__ import annotations

import random

from qfzz.network._sim import Simulation
from qfzz.network._swim import State
from qfzz.network._transport import InMemoryNetwork, VirtualLoop


def scenario(seed: int) -> Simulation:
    sim = Simulation(seed=seed, loss=0.1)
    ids = sim.bootstrap(10)
    sim.run(2.0)
    sim.join("x", ids[0])
    sim.crash(ids[4])
    sim.stall(ids[7], 3.0)
    sim.run(40.0)
    return sim


def test_the_same_seed_gives_the_same_trace() -> None:
    first, second = scenario(21), scenario(21)
    assert first.trace == second.trace
    assert first.trace  # something happened
    assert first.network.sent == second.network.sent


def test_a_different_seed_gives_a_different_trace() -> None:
    assert scenario(21).trace != scenario(22).trace


class Inbox:
    def __init__(self, loop: VirtualLoop) -> None:
        self.loop = loop
        self.got: list[tuple[float, str, object]] = []

    def receive(self, sender: str, message: object) -> None:
        self.got.append((self.loop.now(), sender, message))


def test_loss_drops_about_the_configured_share_and_delay_stays_in_range() -> None:
    loop = VirtualLoop()
    network = InMemoryNetwork(loop, random.Random(1), loss=0.25, min_delay=0.01, max_delay=0.02)
    inbox = Inbox(loop)
    transport = network.attach("a", Inbox(loop))
    network.attach("b", inbox)
    for i in range(4000):
        loop.at(i * 0.001, None, lambda i=i: transport.send("b", i))
    loop.run_until(10.0)
    assert 2800 < len(inbox.got) < 3200
    sent_at = {message: i * 0.001 for i, message in enumerate(range(4000))}
    assert all(0.01 <= t - sent_at[m] <= 0.02 + 1e-9 for t, _, m in inbox.got)  # type: ignore[index]


def test_a_crashed_node_neither_sends_nor_receives_and_a_stalled_one_catches_up() -> None:
    loop = VirtualLoop()
    network = InMemoryNetwork(loop, random.Random(1))
    a, b = Inbox(loop), Inbox(loop)
    to_b = network.attach("a", a)
    to_a = network.attach("b", b)
    loop.stall("b", 5.0)
    to_b.send("b", "during stall")
    loop.run_until(1.0)
    assert b.got == []  # frozen
    loop.run_until(6.0)
    assert [m for _, _, m in b.got] == ["during stall"]
    assert b.got[0][0] == 5.0  # handled when it woke
    loop.crash("b")
    to_b.send("b", "to the dead")
    to_a.send("a", "from the dead")
    loop.run_until(10.0)
    assert len(b.got) == 1 and a.got == []


def test_a_partition_cuts_links_both_ways_and_each_side_stays_whole() -> None:
    sim = Simulation(seed=3)
    ids = sim.bootstrap(8)
    sim.run(1.0)
    left, right = ids[:4], ids[4:]
    sim.network.partition(set(left), set(right))
    sim.run(120.0)
    for side, other in ((left, right), (right, left)):
        for node_id in side:
            node = sim.nodes[node_id]
            assert all(node.state_of(n) is State.DEAD for n in other)
            assert all(node.state_of(n) is State.ALIVE for n in side)
