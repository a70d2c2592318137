"""A discrete-event simulation of N real ``SwimNode``s over the in-memory lossy network.

Why: the overlay's claims (dissemination rounds, detection time, false positives) are
about thousands of nodes and hours of operation; virtual time makes them measurable in
seconds of CPU and reproducible from a seed. Nothing here re-implements the protocol —
it only wires ``_swim`` to ``_transport``'s virtual loop and records what nodes observe.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from qfzz.network._swim import State, SwimConfig, SwimNode, Update
from qfzz.network._transport import InMemoryNetwork, NodeScheduler, VirtualLoop


@dataclass(frozen=True, slots=True)
class Observation:
    """``observer`` saw ``node_id`` enter ``state`` at ``incarnation`` at virtual ``time``."""

    time: float
    observer: str
    node_id: str
    state: State
    incarnation: int


@dataclass(slots=True)
class Simulation:
    """N nodes, one seeded RNG, one virtual clock; every membership change is recorded."""

    seed: int = 0
    loss: float = 0.0
    min_delay: float = 0.001
    max_delay: float = 0.010
    config: SwimConfig = field(default_factory=SwimConfig)
    record: bool = True
    rng: random.Random = field(init=False)
    loop: VirtualLoop = field(init=False)
    network: InMemoryNetwork = field(init=False)
    nodes: dict[str, SwimNode] = field(init=False, default_factory=dict)
    trace: list[Observation] = field(init=False, default_factory=list)
    first_seen: dict[tuple[str, State], dict[str, float]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.loop = VirtualLoop()
        self.network = InMemoryNetwork(
            self.loop,
            self.rng,
            loss=self.loss,
            min_delay=self.min_delay,
            max_delay=self.max_delay,
        )

    @property
    def now(self) -> float:
        return self.loop.now()

    def add_node(self, node_id: str) -> SwimNode:
        """Creates and starts one node (address = node id); it knows only itself."""

        def observe(member: Update) -> None:
            seen = self.first_seen.setdefault((member.node_id, member.state), {})
            seen.setdefault(node_id, self.loop.now())
            if self.record:
                self.trace.append(
                    Observation(
                        self.loop.now(), node_id, member.node_id, member.state, member.incarnation
                    )
                )

        holder: list[SwimNode] = []

        class _Slot:
            def receive(self, sender: str, message: object) -> None:
                holder[0].receive(sender, message)

        transport = self.network.attach(node_id, _Slot())
        node = SwimNode(
            node_id,
            node_id,
            transport,
            NodeScheduler(self.loop, node_id),
            random.Random(self.rng.getrandbits(64)),
            self.config,
            observe,
        )
        holder.append(node)
        self.nodes[node_id] = node
        node.start()
        return node

    def bootstrap(self, n: int, prefix: str = "n") -> list[str]:
        """Starts ``n`` nodes that already know each other (a converged cluster), cheaply."""
        ids = [f"{prefix}{i}" for i in range(n)]
        for node_id in ids:
            self.add_node(node_id)
        everyone = [Update(i, i, 0, State.ALIVE, i) for i in ids]
        for node_id in ids:
            self.nodes[node_id].install(everyone)
        return ids

    def join(self, node_id: str, via: str) -> SwimNode:
        """Starts a new node and joins it through ``via`` (a push-pull state exchange)."""
        node = self.add_node(node_id)
        node.join(via)
        return node

    def crash(self, node_id: str) -> None:
        """kill -9: the node stops sending, receiving and running timers, silently."""
        self.loop.crash(node_id)

    def stall(self, node_id: str, seconds: float) -> None:
        """Freezes the node for ``seconds``; what it missed is processed when it wakes."""
        self.loop.stall(node_id, seconds)

    def run(self, seconds: float) -> None:
        self.loop.run_until(self.loop.now() + seconds)

    def live(self) -> list[str]:
        """Nodes neither crashed nor departed."""
        return [
            n for n, node in self.nodes.items() if not self.loop.is_crashed(n) and not node.leaving
        ]

    def knowers(self, node_id: str, states: tuple[State, ...]) -> list[str]:
        """Live nodes (other than ``node_id``) whose view has ``node_id`` in one of ``states``."""
        return [
            n for n in self.live() if n != node_id and self.nodes[n].state_of(node_id) in states
        ]

    def times_to(self, node_id: str, state: State, since: float) -> list[float]:
        """For each live observer that has seen ``node_id`` in ``state``: the delay after
        ``since`` at which it first did."""
        seen = self.first_seen.get((node_id, state), {})
        live = set(self.live())
        return sorted(t - since for n, t in seen.items() if n in live and n != node_id)
