"""SWIM + Lifeguard behaviour, run on the real protocol code in virtual time (small N).

Every bound below is a protocol bound derived from the configuration (probe period,
suspicion timeout), measured on the virtual clock — never a wall-clock timing.
"""

from __future__ import annotations

import random

from qfzz.network._sim import Simulation
from qfzz.network._swim import (
    Ack,
    Gossip,
    Ping,
    State,
    SwimConfig,
    SwimNode,
    Update,
    scale,
)
from qfzz.network._transport import NodeScheduler, VirtualLoop

N = 12


def detection_bound(config: SwimConfig, n: int) -> float:
    """Worst case for everyone to mark a crash dead: one full probe pass to be probed,
    one probe period to fail, the longest (unconfirmed) suspicion, and a few gossip
    rounds to spread it — all protocol constants, no slack for luck."""
    minimum = config.suspicion_mult * scale(n) * config.probe_interval
    return (n + 1) * config.probe_interval + minimum * config.suspicion_max_timeout_mult + 5.0


def test_a_crashed_node_is_marked_dead_by_every_live_node_within_the_bound() -> None:
    sim = Simulation(seed=7)
    ids = sim.bootstrap(N)
    sim.run(2.0)
    sim.crash(ids[3])
    crashed_at = sim.now
    sim.run(detection_bound(sim.config, N))
    others = [n for n in ids if n != ids[3]]
    assert sim.knowers(ids[3], (State.DEAD,)) == others
    times = sim.times_to(ids[3], State.DEAD, crashed_at)
    assert len(times) == len(others)
    # With every other node probing, confirmations arrive and the timer shrinks to its
    # minimum: detection takes well under the unconfirmed maximum.
    minimum = sim.config.suspicion_mult * scale(N) * sim.config.probe_interval
    assert max(times) < minimum * sim.config.suspicion_max_timeout_mult
    # Nobody else was declared dead.
    assert all(sim.knowers(n, (State.DEAD,)) == [] for n in others)


def test_a_stalled_node_refutes_suspicion_and_is_never_declared_dead() -> None:
    sim = Simulation(seed=11)
    ids = sim.bootstrap(N)
    sim.run(2.0)
    victim = ids[5]
    minimum = sim.config.suspicion_mult * scale(N) * sim.config.probe_interval
    stall = minimum / 2  # shorter than the shortest suspicion timeout
    sim.stall(victim, stall)
    sim.run(stall + 30.0)
    suspected_by = sim.first_seen.get((victim, State.SUSPECT), {})
    assert suspected_by, "the stall should have made the node a suspect somewhere"
    assert (victim, State.DEAD) not in sim.first_seen
    assert sim.nodes[victim].incarnation >= 1  # it refuted by outbidding the suspicion
    assert sim.knowers(victim, (State.ALIVE,)) == [n for n in ids if n != victim]


def test_a_stall_longer_than_the_suspicion_timeout_is_declared_dead_and_then_rejoins() -> None:
    sim = Simulation(seed=5)
    ids = sim.bootstrap(8)
    sim.run(2.0)
    victim = ids[2]
    sim.stall(victim, 60.0)
    sim.run(58.0)
    assert sim.knowers(victim, (State.DEAD,)) == [n for n in ids if n != victim]
    sim.run(30.0)  # it wakes, hears it is dead, refutes, and everyone takes it back
    assert sim.knowers(victim, (State.ALIVE,)) == [n for n in ids if n != victim]


def test_a_join_and_a_leave_reach_every_node() -> None:
    sim = Simulation(seed=3)
    ids = sim.bootstrap(N)
    sim.run(1.0)
    sim.join("newcomer", ids[0])
    sim.run(5.0)
    assert sim.knowers("newcomer", (State.ALIVE,)) == ids
    assert set(sim.nodes["newcomer"].members) == {*ids, "newcomer"}
    sim.nodes[ids[4]].leave()
    sim.run(5.0)
    assert sim.knowers(ids[4], (State.LEFT,)) == [n for n in [*ids, "newcomer"] if n != ids[4]]
    assert (ids[4], State.DEAD) not in sim.first_seen


def test_with_heavy_loss_membership_still_converges() -> None:
    sim = Simulation(seed=9, loss=0.2)
    ids = sim.bootstrap(N)
    sim.run(2.0)
    sim.join("late", ids[1])
    sim.crash(ids[6])
    sim.run(detection_bound(sim.config, N) + 30.0)
    live = [n for n in [*ids, "late"] if n != ids[6]]
    assert sim.knowers(ids[6], (State.DEAD,)) == live
    for node_id in live:
        assert sim.knowers(node_id, (State.ALIVE, State.SUSPECT)) == [
            n for n in live if n != node_id
        ]


def test_lifeguard_a_node_that_cannot_hear_raises_its_own_health_score() -> None:
    """A node whose inbound links fail hears no acks and no nacks: it blames itself
    (awareness up), so it probes more slowly instead of accusing everyone quickly."""
    sim = Simulation(seed=2)
    ids = sim.bootstrap(6)
    sim.run(2.0)
    deaf = ids[0]
    sim.network.partition({deaf}, set(ids[1:]))
    sim.run(6.0)
    assert sim.nodes[deaf].awareness > 0
    assert all(sim.nodes[n].awareness == 0 for n in ids[1:])


def test_suspicion_timeout_shrinks_with_independent_confirmations() -> None:
    loop = VirtualLoop()
    holder: list[SwimNode] = []

    class EveryoneAnswers:
        """Peers that ack every ping, so the node's own probing never suspects anyone."""

        def send(self, address: str, message: object) -> None:
            if isinstance(message, Ping):
                ack = Ack(message.seq)
                loop.at(loop.now() + 0.001, "a", lambda: holder[0].receive(address, ack))

    config = SwimConfig()
    node = SwimNode("a", "a", EveryoneAnswers(), NodeScheduler(loop, "a"), random.Random(0), config)
    holder.append(node)
    peers = [f"p{i}" for i in range(9)]
    node.install(Update(p, p, 0, State.ALIVE, p) for p in peers)
    node.start()
    minimum = config.suspicion_mult * scale(10) * config.probe_interval
    maximum = minimum * config.suspicion_max_timeout_mult
    node.receive("p1", Gossip((Update("p0", "p0", 0, State.SUSPECT, "p1"),)))
    assert node.state_of("p0") is State.SUSPECT
    loop.run_until(minimum + 1.0)
    assert node.state_of("p0") is State.SUSPECT  # one accuser: the long timer runs
    for confirmer in ("p2", "p3"):  # k = suspicion_mult - 2 = 2 independent confirmations
        node.receive(confirmer, Gossip((Update("p0", "p0", 0, State.SUSPECT, confirmer),)))
    loop.run_until(minimum + 1.0 + 1e-6)
    assert node.state_of("p0") is State.DEAD
    assert minimum + 1.0 < maximum
    assert node.awareness == 0


def test_a_suspected_node_refutes_with_a_higher_incarnation() -> None:
    loop = VirtualLoop()
    sent: list[tuple[str, object]] = []

    class Recorder:
        def send(self, address: str, message: object) -> None:
            sent.append((address, message))

    node = SwimNode("a", "a", Recorder(), NodeScheduler(loop, "a"), random.Random(0))
    node.install([Update("b", "b", 0, State.ALIVE, "b")])
    node.start()
    node.receive("b", Ping(1, "a", (Update("a", "a", 0, State.SUSPECT, "b"),)))
    assert node.incarnation == 1
    assert node.awareness == 1  # being suspected is a sign of our own trouble
    ack = sent[-1][1]
    assert sent[-1][0] == "b"
    assert Update("a", "a", 1, State.ALIVE, "a") in ack.updates  # type: ignore[attr-defined]


def test_every_message_carries_at_most_max_piggyback_updates() -> None:
    config = SwimConfig(max_piggyback=4)
    sim = Simulation(seed=4, config=config)
    ids = sim.bootstrap(N)
    sizes: list[int] = []
    send = sim.network._send

    def measuring(sender: str, address: str, message: object) -> None:
        updates = getattr(message, "updates", ())
        sizes.append(len(updates))
        send(sender, address, message)

    sim.network._send = measuring  # type: ignore[method-assign]
    sim.run(1.0)
    for i in range(10):  # many changes at once: the queue holds more than fits
        sim.join(f"j{i}", ids[i])
    sim.crash(ids[11])
    sim.run(30.0)
    assert max(sizes) == config.max_piggyback
    assert all(s <= config.max_piggyback for s in sizes)


def test_retransmissions_per_change_are_bounded() -> None:
    """A change is piggy-backed at most retransmit_mult·ceil(log10(N+1)) times per node,
    so the queue drains after a burst: dissemination traffic does not grow forever."""
    sim = Simulation(seed=8)
    ids = sim.bootstrap(N)
    carried: dict[str, int] = {}
    send = sim.network._send

    def counting(sender: str, address: str, message: object) -> None:
        for update in getattr(message, "updates", ()):
            if update.node_id == ids[0] and update.state is State.LEFT:
                carried[sender] = carried.get(sender, 0) + 1
        send(sender, address, message)

    sim.network._send = counting  # type: ignore[method-assign]
    sim.nodes[ids[0]].leave()
    sim.run(30.0)
    limit = sim.config.retransmit_mult * scale(N)
    assert len(carried) == N  # everyone passed it on ...
    assert max(carried.values()) <= limit  # ... a bounded number of times
    assert all(sim.nodes[n].queued() == 0 for n in ids)


def test_a_join_whose_first_exchange_is_lost_is_retried() -> None:
    sim = Simulation(seed=6)
    ids = sim.bootstrap(6)
    sim.run(1.0)
    sim.network.partition({"late"}, set(ids))  # the first push-pull goes nowhere
    sim.join("late", ids[0])
    sim.run(0.5)
    assert set(sim.nodes["late"].members) == {"late"}
    sim.network.heal()
    sim.run(3.0)
    assert set(sim.nodes["late"].members) == {*ids, "late"}
    assert sim.knowers("late", (State.ALIVE,)) == ids
