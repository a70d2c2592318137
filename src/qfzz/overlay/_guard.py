"""What SWIM updates may say, checked at the wire: the detector itself trusts its peers.

SWIM relays updates about third parties without signatures; a member that lies could then
raise another node's incarnation (after which that node can neither refute nor be found
dead), point probes of a node at a host of its choosing, or accuse a node at an
incarnation it can never outbid. ``SwimGuard`` closes those holes:

- an alive update above incarnation 0 must carry its subject's own signature
  (``sign_alive``), kept with the update by every relay and re-attached from memory when
  the detector rebuilds an update (a push-pull snapshot);
- an update placing a known node at an address its signed record does not name is dropped;
- an accusation (suspect, dead, left) more than one incarnation above what this node holds
  is dropped: an honest accuser never holds a higher one.

An alive update about a node whose record this node lacks is dropped too, and its address
handed back so the overlay handshakes it (after which its updates pass).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from qfzz.network import (
    MemberRecord,
    NodeIdentity,
    SwimPushPull,
    SwimState,
    Update,
    alive_proof_holds,
    sign_alive,
)

MAX_PROOFS = 100_000


class _Incarnations(Protocol):
    def incarnation_of(self, node_id: str) -> int | None: ...


class SwimGuard:
    """Attaches proofs to what this node sends and vets what it receives."""

    def __init__(
        self,
        identity: NodeIdentity,
        records: Callable[[str], MemberRecord | None],
    ) -> None:
        self._identity = identity
        self._records = records
        self._proofs: dict[str, tuple[int, bytes]] = {}  # node id → its latest alive proof
        self.dropped = 0

    # --- outgoing --------------------------------------------------------------------

    def outgoing(self, message: object) -> object:
        """``message`` with every alive update above incarnation 0 proven, or left out."""
        return _map_updates(message, self._prove)

    def _prove(self, u: Update) -> Update | None:
        if u.state is not SwimState.ALIVE or u.incarnation == 0 or u.proof:
            return u
        if u.node_id == self._identity.node_id:
            held = self._proofs.get(u.node_id)
            if held is None or held[0] != u.incarnation:
                held = (u.incarnation, sign_alive(self._identity, u.address, u.incarnation))
                self._proofs[u.node_id] = held
            return dataclasses.replace(u, proof=held[1])
        held = self._proofs.get(u.node_id)
        if held is None or held[0] != u.incarnation:
            return None
        return dataclasses.replace(u, proof=held[1])

    # --- incoming --------------------------------------------------------------------

    def incoming(
        self, message: object, detector: _Incarnations, own_incarnation: int
    ) -> tuple[object, list[Update]]:
        """The message with unproven or implausible updates dropped, and the alive updates
        about nodes without a record (to handshake)."""
        unknown: list[Update] = []

        def vet(u: Update) -> Update | None:
            record = self._records(u.node_id)
            if record is not None and record.info.public_host != u.address:
                self.dropped += 1
                return None
            if u.state is SwimState.ALIVE:
                if u.incarnation == 0 or u.node_id == self._identity.node_id:
                    return u
                if record is None:
                    unknown.append(u)
                    self.dropped += 1
                    return None
                if not alive_proof_holds(u, record.info.public_key):
                    self.dropped += 1
                    return None
                self._remember(u)
                return u
            if u.node_id == self._identity.node_id:
                held: int | None = own_incarnation
            else:
                held = detector.incarnation_of(u.node_id)
            if held is not None and u.incarnation > held + 1:
                self.dropped += 1
                return None
            return u

        return _map_updates(message, vet), unknown

    def _remember(self, u: Update) -> None:
        held = self._proofs.get(u.node_id)
        if held is not None and held[0] >= u.incarnation:
            return
        if held is None and len(self._proofs) >= MAX_PROOFS:
            return
        self._proofs[u.node_id] = (u.incarnation, u.proof)


def _map_updates(message: object, change: Callable[[Update], Update | None]) -> object:
    """``message`` with ``change`` applied to each update it carries (None: left out)."""

    def mapped(updates: tuple[Update, ...]) -> tuple[Update, ...]:
        out = []
        for u in updates:
            kept = change(u)
            if kept is not None:
                out.append(kept)
        return tuple(out)

    if isinstance(message, SwimPushPull):
        return SwimPushPull(mapped(message.members), message.reply)
    updates = getattr(message, "updates", None)
    if updates is None:
        return message
    return dataclasses.replace(message, updates=mapped(updates))  # type: ignore[type-var]
