"""How the overlay protocol talks and keeps time, as two small seams.

The SWIM code (``_swim``) never opens a socket, sleeps or reads the wall clock: it sends
through a ``Transport`` and asks a ``Scheduler`` for callbacks. A real process gives it an
HTTP transport and an asyncio-backed scheduler; the simulation (``_sim``) gives it an
in-memory lossy network and a virtual clock, so the same protocol code is what the
1,000-node bench measures and what a station runs.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Protocol


class Handle(Protocol):
    """A scheduled callback that can be called off (a probe timeout that an ack beat)."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Time as the protocol sees it: a clock it reads and callbacks it schedules.

    Injected so that virtual time (simulation, tests) and real time (an asyncio loop's
    ``call_later``) drive the same code.
    """

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle: ...


class Transport(Protocol):
    """Sends one bounded message to a node address, best effort (it may be lost).

    Delivery is the receiver's ``receive(sender_address, message)``. Messages are the
    frozen dataclasses of ``_swim``; a real transport serialises them, the in-memory one
    hands over the object itself.
    """

    def send(self, address: str, message: object) -> None: ...


# --- virtual time and an in-memory network, for the simulation and the tests -------------


class _Timer:
    """A callback on the virtual loop; cancelling only marks it (lazy deletion from the heap)."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualLoop:
    """A discrete-event loop: a heap of timed callbacks and a virtual clock.

    Each event belongs to a node address (or to nobody), so a crashed node's timers and
    deliveries vanish and a stalled node's wait until its stall ends — replayed then in
    their original order, as a paused process reads its socket and timers when it wakes.
    The heap key is ``(due, original_due, sequence)``: ties break by insertion order, so a
    run is a pure function of its seed.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._seq = 0
        self._heap: list[tuple[float, float, int, str | None, _Timer]] = []
        self._crashed: set[str] = set()
        self._stalled_until: dict[str, float] = {}
        self.events_run = 0

    def now(self) -> float:
        return self._now

    def at(self, due: float, owner: str | None, callback: Callable[[], None]) -> _Timer:
        """Runs ``callback`` at virtual time ``due`` on behalf of ``owner``."""
        timer = _Timer(callback)
        self._seq += 1
        heapq.heappush(self._heap, (max(due, self._now), due, self._seq, owner, timer))
        return timer

    def crash(self, owner: str) -> None:
        """The node stops for good: its pending and future events are dropped."""
        self._crashed.add(owner)

    def is_crashed(self, owner: str) -> bool:
        return owner in self._crashed

    def stall(self, owner: str, seconds: float) -> None:
        """The node freezes for ``seconds`` (a GC pause, a swapped-out VM) and then resumes."""
        self._stalled_until[owner] = max(self._stalled_until.get(owner, 0.0), self._now + seconds)

    def is_stalled(self, owner: str) -> bool:
        return self._stalled_until.get(owner, 0.0) > self._now

    def run_until(self, end: float) -> None:
        """Runs every event due up to ``end`` and leaves the clock at ``end``."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= end:
            due, original, seq, owner, timer = pop(heap)
            if timer.cancelled:
                continue
            if owner is not None:
                if owner in self._crashed:
                    continue
                resume = self._stalled_until.get(owner, 0.0)
                if resume > due:
                    heapq.heappush(heap, (resume, original, seq, owner, timer))
                    continue
            self._now = due
            self.events_run += 1
            timer.callback()
        self._now = max(self._now, end)


class NodeScheduler:
    """One node's view of the virtual loop (its timers obey its crash and stall)."""

    def __init__(self, loop: VirtualLoop, owner: str) -> None:
        self._loop = loop
        self._owner = owner

    def now(self) -> float:
        return self._loop.now()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        return self._loop.at(self._loop.now() + delay, self._owner, callback)


class Receiver(Protocol):
    """Whatever sits at an address and takes deliveries (a SWIM node)."""

    def receive(self, sender: str, message: object) -> None: ...


class InMemoryNetwork:
    """A lossy, delaying, partitionable network between receivers on one virtual loop.

    Every send is lost with probability ``loss`` and otherwise delivered after a delay drawn
    uniformly from ``[min_delay, max_delay]`` — all from one seeded ``random.Random``, so a
    seed fixes the whole run. ``partition`` cuts links between groups both ways.
    """

    def __init__(
        self,
        loop: VirtualLoop,
        rng: random.Random,
        *,
        loss: float = 0.0,
        min_delay: float = 0.001,
        max_delay: float = 0.010,
    ) -> None:
        if not 0.0 <= loss < 1.0 or not 0.0 <= min_delay <= max_delay:
            raise ValueError("loss must be in [0, 1) and 0 <= min_delay <= max_delay")
        self.loop = loop
        self.rng = rng
        self.loss = loss
        self.min_delay = min_delay
        self.max_delay = max_delay
        self._receivers: dict[str, Receiver] = {}
        self._group: dict[str, int] = {}
        self.sent = 0
        self.delivered = 0
        self.dropped = 0

    def attach(self, address: str, receiver: Receiver) -> InMemoryTransport:
        """Puts ``receiver`` at ``address`` and gives it a transport to send from there."""
        self._receivers[address] = receiver
        return InMemoryTransport(self, address)

    def partition(self, *groups: set[str]) -> None:
        """Only nodes in the same group (or in none) can talk until ``heal``."""
        self._group = {address: i for i, group in enumerate(groups) for address in group}

    def heal(self) -> None:
        self._group = {}

    def _send(self, sender: str, address: str, message: object) -> None:
        self.sent += 1
        receiver = self._receivers.get(address)
        cut = self._group and self._group.get(sender, -1) != self._group.get(address, -1)
        if receiver is None or cut or self.loop.is_crashed(sender) or self.rng.random() < self.loss:
            self.dropped += 1
            return
        delay = self.rng.uniform(self.min_delay, self.max_delay)

        def deliver() -> None:
            self.delivered += 1
            receiver.receive(sender, message)

        self.loop.at(self.loop.now() + delay, address, deliver)


class InMemoryTransport:
    """The ``Transport`` a node at one address of an ``InMemoryNetwork`` sends through."""

    def __init__(self, network: InMemoryNetwork, address: str) -> None:
        self._network = network
        self._address = address

    def send(self, address: str, message: object) -> None:
        self._network._send(self._address, address, message)
