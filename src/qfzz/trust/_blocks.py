"""Blocks of the trust ledger and their canonical byte encoding.

A block seals the trust records' state changes since the previous block. Its hash is
SHA-256 over this exact UTF-8 text (fields joined by ``\\n``, integers in decimal)::

    qfzz-block-v1
    <index>
    <timestamp_us>          microseconds since the epoch, an integer
    <through>               the last interaction id whose votes the block includes
    <difficulty>
    <previous_hash>         64 lowercase hex digits ("0" * 64 before the genesis block)
    <changes_sha256>        SHA-256 hex of the ``changes`` text below
    <nonce>

``changes`` is canonical JSON: a list of ``[key, verifications, reports, at_us]`` in the
order the changes happened, ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``.
Proof of work: the hex hash starts with ``difficulty`` zeros. The genesis block is fixed.
``qfzz ledger export`` writes one block per JSON line with exactly these fields, so the
chain can be checked with ``hashlib`` alone (see the README).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from qfzz.errors import TrustError
from qfzz.models import Block

FORMAT = "qfzz-block-v1"
ZERO_HASH = "0" * 64
MAX_DIFFICULTY = 6

Change = tuple[str, int, int, int]


def encode_changes(changes: Sequence[Change]) -> str:
    return json.dumps([list(c) for c in changes], separators=(",", ":"), ensure_ascii=False)


def header_prefix(
    index: int,
    timestamp_us: int,
    through: int,
    difficulty: int,
    previous_hash: str,
    changes: str,
) -> bytes:
    """Everything the hash covers except the nonce (which is appended last)."""
    digest = hashlib.sha256(changes.encode()).hexdigest()
    fields = (FORMAT, index, timestamp_us, through, difficulty, previous_hash, digest)
    return ("\n".join(str(f) for f in fields) + "\n").encode()


def block_hash(block: Block) -> str:
    prefix = header_prefix(
        block.index,
        block.timestamp_us,
        block.through,
        block.difficulty,
        block.previous_hash,
        block.changes,
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
) -> Block:
    """Find a nonce whose hash has ``difficulty`` leading hex zeros.

    The header prefix is hashed once; each try copies that state and adds only the
    nonce's digits, and tests the raw digest's leading bytes instead of its hex form.
    """
    if not 0 <= difficulty <= MAX_DIFFICULTY:
        raise TrustError(f"difficulty must be in 0..{MAX_DIFFICULTY}")
    payload = encode_changes(changes)
    base = hashlib.sha256(
        header_prefix(index, timestamp_us, through, difficulty, previous_hash, payload)
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
            )
        nonce += 1


GENESIS = mine(0, 0, 0, 0, ZERO_HASH, [])


def first_bad_block(blocks: Sequence[Block]) -> int | None:
    """Index of the first block that breaks the chain, or ``None`` when all hold.

    Checks the fixed genesis block, each block's position, its link to the previous
    hash, its recomputed hash, its proof of work, that its payload decodes, and that
    the interaction watermark never goes back.
    """
    if not blocks:
        return 0
    if blocks[0] != GENESIS:
        return 0
    previous = blocks[0]
    for position in range(1, len(blocks)):
        if not _block_ok(blocks[position], position, previous):
            return position
        previous = blocks[position]
    return None


def _block_ok(block: Block, position: int, previous: Block) -> bool:
    try:
        return not (
            block.index != position
            or block.previous_hash != previous.hash
            or block.through < previous.through
            or not 0 <= block.difficulty <= MAX_DIFFICULTY
            or block_hash(block) != block.hash
            or not meets_difficulty(block.hash, block.difficulty)
            or not _payload_ok(block.changes)
        )
    except (TypeError, ValueError):  # garbage in a field (e.g. undecodable text) is bad
        return False


def _payload_ok(changes: str) -> bool:
    try:
        decoded = json.loads(changes)
    except ValueError:
        return False
    return isinstance(decoded, list) and all(
        isinstance(c, list) and len(c) == 4 and isinstance(c[0], str) for c in decoded
    )
