"""Blocks of the trust ledger and their canonical byte encoding.

A block seals the trust records' state changes since the previous block. Its hash is
SHA-256 over this exact UTF-8 text (fields joined by ``\\n``, integers in decimal)::

    qfzz-block-v2
    <index>
    <timestamp_us>          microseconds since the epoch, an integer
    <through>               the last interaction id the block covers
    <difficulty>
    <previous_hash>         64 lowercase hex digits ("0" * 64 before the genesis block)
    <changes_sha256>        SHA-256 hex of the ``changes`` text below
    <log_hash>              the running hash over the covered interaction rows (_loghash)
    <nonce>

``changes`` is canonical JSON: a list of ``[key, verifications, reports, at_us,
interaction_id, user_id, vote]`` in the order the changes happened (``vote`` is 1 for a
verification, -1 for a report), ``json.dumps(..., separators=(",", ":"),
ensure_ascii=False)``. Proof of work: the hex hash starts with ``difficulty`` zeros, where
``difficulty`` is what the ledger's signed history says for that height (``_events``).
The genesis block is fixed. ``qfzz ledger export`` writes exactly these fields, so the
chain can be checked outside QFZZ (see the README).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from qfzz.errors import TrustError
from qfzz.models import Block

FORMAT = "qfzz-block-v2"
ZERO_HASH = "0" * 64
MAX_DIFFICULTY = 6

#: key, verifications, reports, at_us, interaction id, voter, vote (+1 / -1)
Change = tuple[str, int, int, int, int, str, int]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def encode_changes(changes: Sequence[Change]) -> str:
    return json.dumps([list(c) for c in changes], separators=(",", ":"), ensure_ascii=False)


def decode_changes(text: str) -> list[Change] | None:
    """The changes of a payload, or ``None`` when it is not exactly the documented shape."""
    try:
        decoded = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(decoded, list):
        return None
    changes: list[Change] = []
    for item in decoded:
        if not (isinstance(item, list) and len(item) == 7):
            return None
        key, verifications, reports, at_us, interaction_id, user_id, vote = item
        if not (
            isinstance(key, str)
            and isinstance(user_id, str)
            and all(_is_int(n) for n in (verifications, reports, at_us, interaction_id))
            and vote in (1, -1)
            and _is_int(vote)
        ):
            return None
        changes.append((key, verifications, reports, at_us, interaction_id, user_id, vote))
    return changes


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_hex_hash(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def header_prefix(
    index: int,
    timestamp_us: int,
    through: int,
    difficulty: int,
    previous_hash: str,
    changes: str,
    log_hash: str,
) -> bytes:
    """Everything the hash covers except the nonce (which is appended last)."""
    digest = hashlib.sha256(changes.encode()).hexdigest()
    fields = (FORMAT, index, timestamp_us, through, difficulty, previous_hash, digest, log_hash)
    return ("\n".join(str(f) for f in fields) + "\n").encode()


def block_hash(block: Block) -> str:
    prefix = header_prefix(
        block.index,
        block.timestamp_us,
        block.through,
        block.difficulty,
        block.previous_hash,
        block.changes,
        block.log_hash,
    )
    return hashlib.sha256(prefix + str(block.nonce).encode()).hexdigest()


def meets_difficulty(hex_hash: str, difficulty: int) -> bool:
    return hex_hash.startswith("0" * difficulty)


def mine(
    index: int,
    timestamp_us: int,
    through: int,
    difficulty: int,
    previous_hash: str,
    changes: Sequence[Change],
    log_hash: str,
) -> Block:
    """Find a nonce whose hash has ``difficulty`` leading hex zeros.

    The header prefix is hashed once; each try copies that state and adds only the
    nonce's digits, and tests the raw digest's leading bytes instead of its hex form.
    """
    if not 0 <= difficulty <= MAX_DIFFICULTY:
        raise TrustError(f"difficulty must be in 0..{MAX_DIFFICULTY}")
    payload = encode_changes(changes)
    base = hashlib.sha256(
        header_prefix(index, timestamp_us, through, difficulty, previous_hash, payload, log_hash)
    )
    whole, half = divmod(difficulty, 2)
    zeros = bytes(whole)
    nonce = 0
    while True:
        attempt = base.copy()
        attempt.update(str(nonce).encode())
        digest = attempt.digest()
        if digest[:whole] == zeros and (not half or digest[whole] < 16):
            return Block(
                index,
                timestamp_us,
                through,
                difficulty,
                previous_hash,
                nonce,
                digest.hex(),
                payload,
                log_hash,
            )
        nonce += 1


GENESIS = mine(0, 0, 0, 0, ZERO_HASH, [], ZERO_HASH)

#: The genesis block of chains written before qfzz-block-v2 (recognised to say so).
GENESIS_V1_HASH = hashlib.sha256(
    "\n".join(
        str(f)
        for f in ("qfzz-block-v1", 0, 0, 0, 0, ZERO_HASH, hashlib.sha256(b"[]").hexdigest(), 0)
    ).encode()
).hexdigest()


def header_fault(block: Block, position: int, previous: Block) -> str | None:
    """What is wrong with a block's own fields and its link, or ``None`` (difficulty
    against the signed history and the changes' arithmetic are checked by the replay)."""
    try:
        if block.index != position:
            return f"it is stored at height {position} but says it is block {block.index}"
        if block.previous_hash != previous.hash:
            return f"it does not link to block {position - 1}"
        if block.through < previous.through:
            return "it goes back in the interaction log"
        if not is_hex_hash(block.log_hash):
            return "its interaction hash is malformed"
        if block_hash(block) != block.hash:
            return "its hash does not match its contents"
        if not meets_difficulty(block.hash, block.difficulty):
            return f"its hash does not meet its difficulty {block.difficulty}"
    except (TypeError, ValueError):  # garbage in a field (e.g. undecodable text) is bad
        return "a field is malformed"
    return None


def genesis_fault(block: Block) -> str | None:
    if block == GENESIS:
        return None
    if block.hash == GENESIS_V1_HASH:
        return (
            "the chain was written in the qfzz-block-v1 format, which binds neither its "
            "difficulty nor the interactions it covers; `qfzz ledger repair` derives it "
            "again from the interaction log, losing no vote"
        )
    return "it is not the fixed genesis block"
