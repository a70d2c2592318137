"""Content trust: votes from listeners, a tamper-evident proof-of-work ledger, and the
O(1) trust index the playlist filter reads.

Plain Python, numpy and hashlib; the station hands it the store's repositories.
"""

from qfzz.models import Block
from qfzz.trust._blocks import GENESIS, MAX_DIFFICULTY, block_hash, first_bad_block, mine
from qfzz.trust._ledger import ChainStatus, RepairReport, TrustLedger, vote_of
from qfzz.trust._miner import Miner
from qfzz.trust._records import TrustIndex, TrustRecord, trust_key, trust_score

__all__ = [
    "GENESIS",
    "MAX_DIFFICULTY",
    "Block",
    "ChainStatus",
    "Miner",
    "RepairReport",
    "TrustIndex",
    "TrustLedger",
    "TrustRecord",
    "block_hash",
    "first_bad_block",
    "mine",
    "trust_key",
    "trust_score",
    "vote_of",
]
