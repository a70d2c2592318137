"""Content trust: votes from listeners, a tamper-evident proof-of-work ledger, and the
O(1) trust index the playlist filter reads.

Plain Python, numpy, hashlib and PyNaCl; the station hands it the store's repositories
and the station's ledger key.
"""

from qfzz.models import Block, LedgerEvent
from qfzz.trust._audit import Audit, RowDamage, audit_chain
from qfzz.trust._blocks import GENESIS, MAX_DIFFICULTY, Change, block_hash, decode_changes, mine
from qfzz.trust._chain import ChainReplay, ChainStatus, Fault
from qfzz.trust._events import EventHistory, event_text, sign_event
from qfzz.trust._ledger import TrustLedger
from qfzz.trust._loghash import LogHasher, encode_row
from qfzz.trust._miner import Miner
from qfzz.trust._records import TrustIndex, TrustRecord, trust_key, trust_score
from qfzz.trust._repair import RepairReport
from qfzz.trust._signing import LedgerKey, LedgerVerifier
from qfzz.trust._votes import vote_of

__all__ = [
    "GENESIS",
    "MAX_DIFFICULTY",
    "Audit",
    "Block",
    "ChainReplay",
    "ChainStatus",
    "Change",
    "EventHistory",
    "Fault",
    "LedgerEvent",
    "LedgerKey",
    "LedgerVerifier",
    "LogHasher",
    "Miner",
    "RepairReport",
    "RowDamage",
    "TrustIndex",
    "TrustLedger",
    "TrustRecord",
    "audit_chain",
    "block_hash",
    "decode_changes",
    "encode_row",
    "event_text",
    "mine",
    "sign_event",
    "trust_key",
    "trust_score",
    "vote_of",
]
