"""Federation, part 1: who is in the network.

A node's Ed25519 identity (``NodeID = blake3(public key)``), signed membership records and
reachability receipts merged as LWW sets, the signed handshake with its answer, and a
population estimate from a HyperLogLog of node ids; and SWIM failure detection with
Lifeguard's refinements (``SwimNode``) over two seams, a ``Scheduler`` and a ``Transport``,
so the same protocol code runs in a real process and in the discrete-event simulation
(``VirtualLoop``, ``InMemoryNetwork``, ``Simulation``; ``bench/overlay.py``). Plain Python,
PyNaCl, blake3 and datasketches: no HTTP and no I/O but the key file; SWIM messages have a
bounded JSON form in a signed envelope (``seal``, ``open_envelope``), and ``qfzz.overlay``
carries the bytes.
"""

from qfzz.network._content import (
    MAX_CONTENT_BYTES,
    ContentRecord,
    content_id_of,
    content_key,
    open_blob,
    redistributable,
    seal_blob,
    verify_blob,
)
from qfzz.network._estimate import (
    DEFAULT_TRIM,
    HLL_LG_K,
    MAX_SKETCH_BYTES,
    InvalidSketch,
    NodeSketch,
    PeerReport,
    n_estimate,
)
from qfzz.network._handshake import (
    HANDSHAKE_SKEW,
    MAX_ANSWER_BYTES,
    MAX_HANDSHAKE_BYTES,
    MAX_KNOWN_NODES,
    MAX_RECEIPTS,
    REJECT_REASONS,
    Handshake,
    HandshakeAnswer,
    HandshakeRejected,
    NonceWindow,
    RejectReason,
    accept_handshake,
    build_answer,
    build_handshake,
    new_nonce,
    verify_answer,
    verify_handshake,
)
from qfzz.network._identity import (
    KEY_FILE,
    SCHEMA_VERSION,
    IdentityError,
    NodeIdentity,
    membership_key,
    node_id_of,
    receipt_key,
    verify_signature,
)
from qfzz.network._records import (
    DHT_MEMBERSHIP_TTL,
    DHT_MIN_REACHABILITY,
    DHT_MIN_RECEIPTS,
    InvalidRecord,
    MalformedRecord,
    MemberRecord,
    MemberSet,
    MemberState,
    NodeInfo,
    Privacy,
    ReachabilityReceipt,
    ReceiptSet,
    canonical,
)
from qfzz.network._sim import Observation, Simulation
from qfzz.network._swim import Ack as SwimAck
from qfzz.network._swim import Gossip as SwimGossip
from qfzz.network._swim import IndirectPing as SwimIndirectPing
from qfzz.network._swim import Nack as SwimNack
from qfzz.network._swim import Ping as SwimPing
from qfzz.network._swim import PushPull as SwimPushPull
from qfzz.network._swim import State as SwimState
from qfzz.network._swim import SwimConfig, SwimNode, Update
from qfzz.network._transport import (
    Handle,
    InMemoryNetwork,
    InMemoryTransport,
    NodeScheduler,
    Scheduler,
    Transport,
    VirtualLoop,
)
from qfzz.network._wire import (
    MAX_SWIM_BYTES,
    Envelope,
    decode_message,
    encode_message,
    open_envelope,
    seal,
    verify_envelope,
)

__all__ = [
    "DEFAULT_TRIM",
    "DHT_MEMBERSHIP_TTL",
    "DHT_MIN_REACHABILITY",
    "DHT_MIN_RECEIPTS",
    "HANDSHAKE_SKEW",
    "HLL_LG_K",
    "KEY_FILE",
    "MAX_ANSWER_BYTES",
    "MAX_CONTENT_BYTES",
    "MAX_HANDSHAKE_BYTES",
    "MAX_KNOWN_NODES",
    "MAX_RECEIPTS",
    "MAX_SKETCH_BYTES",
    "MAX_SWIM_BYTES",
    "REJECT_REASONS",
    "SCHEMA_VERSION",
    "ContentRecord",
    "Envelope",
    "Handle",
    "Handshake",
    "HandshakeAnswer",
    "HandshakeRejected",
    "IdentityError",
    "InMemoryNetwork",
    "InMemoryTransport",
    "InvalidRecord",
    "InvalidSketch",
    "MalformedRecord",
    "MemberRecord",
    "MemberSet",
    "MemberState",
    "NodeIdentity",
    "NodeInfo",
    "NodeScheduler",
    "NodeSketch",
    "NonceWindow",
    "Observation",
    "PeerReport",
    "Privacy",
    "ReachabilityReceipt",
    "ReceiptSet",
    "RejectReason",
    "Scheduler",
    "Simulation",
    "SwimAck",
    "SwimConfig",
    "SwimGossip",
    "SwimIndirectPing",
    "SwimNack",
    "SwimNode",
    "SwimPing",
    "SwimPushPull",
    "SwimState",
    "Transport",
    "Update",
    "VirtualLoop",
    "accept_handshake",
    "build_answer",
    "build_handshake",
    "canonical",
    "content_id_of",
    "content_key",
    "decode_message",
    "encode_message",
    "membership_key",
    "n_estimate",
    "new_nonce",
    "node_id_of",
    "open_blob",
    "open_envelope",
    "receipt_key",
    "redistributable",
    "seal",
    "seal_blob",
    "verify_answer",
    "verify_blob",
    "verify_envelope",
    "verify_handshake",
    "verify_signature",
]
