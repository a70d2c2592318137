"""The station as a running node of the network (federation part 1).

``qfzz.network`` is the protocol with no I/O; this package runs it in a real process: an
``Overlay`` that owns the node's membership state and answers handshakes and SWIM messages
handed to it by the HTTP routes, handshakes peers in rounds over HTTP (``PeerClient``) and
drives ``SwimNode`` on the asyncio loop (``AsyncioScheduler``). ``qfzz.app`` builds it from
settings; ``qfzz.api`` routes bytes to it; ``qfzz.cli`` reads the view it writes down.
"""

from qfzz.overlay._config import OverlayConfig, OverlayCounters
from qfzz.overlay._guard import SwimGuard
from qfzz.overlay._overlay import TICK_SOON, Overlay, handshake_once
from qfzz.overlay._peers import (
    HANDSHAKE_PATH,
    SWIM_PATH,
    AsyncioScheduler,
    PeerClient,
    PeerUnavailable,
)
from qfzz.overlay._peers_source import PeersSource
from qfzz.overlay._replicas import NodeView, ReplicaConfig, Replicas, media_type_of
from qfzz.overlay._snapshot import PeerRow, Snapshot, add_seed, read_seeds, read_snapshot

__all__ = [
    "HANDSHAKE_PATH",
    "SWIM_PATH",
    "TICK_SOON",
    "AsyncioScheduler",
    "NodeView",
    "Overlay",
    "OverlayConfig",
    "OverlayCounters",
    "PeerClient",
    "PeerRow",
    "PeerUnavailable",
    "PeersSource",
    "ReplicaConfig",
    "Replicas",
    "Snapshot",
    "SwimGuard",
    "add_seed",
    "handshake_once",
    "media_type_of",
    "read_seeds",
    "read_snapshot",
]
