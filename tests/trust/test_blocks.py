from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.errors import TrustError
from qfzz.trust import GENESIS, Block, block_hash, first_bad_block, mine


def chain(length: int = 5, difficulty: int = 2) -> list[Block]:
    blocks = [GENESIS]
    for n in range(1, length):
        changes = [(f"c{n}:artist", n, n % 3, 1_000_000 * n + k) for k in range(n % 4 + 1)]
        blocks.append(mine(n, 5_000_000 + n, 10 * n, difficulty, blocks[-1].hash, changes))
    return blocks


CHAIN = chain()


def test_genesis_is_fixed_and_blocks_meet_their_difficulty():
    assert GENESIS.index == 0 and GENESIS.previous_hash == "0" * 64 and GENESIS.changes == "[]"
    assert GENESIS.hash == block_hash(GENESIS)
    for difficulty in range(5):
        block = mine(1, 1, 1, difficulty, GENESIS.hash, [("k:a", 1, 0, 1)])
        assert block.hash.startswith("0" * difficulty) and block_hash(block) == block.hash
    with pytest.raises(TrustError):
        mine(1, 1, 1, 7, GENESIS.hash, [])
    assert first_bad_block(CHAIN) is None


def test_the_documented_encoding_verifies_with_hashlib_alone():
    block = CHAIN[3]
    digest = hashlib.sha256(block.changes.encode()).hexdigest()
    fields = [
        "qfzz-block-v1",
        block.index,
        block.timestamp_us,
        block.through,
        block.difficulty,
        block.previous_hash,
        digest,
        block.nonce,
    ]
    text = "\n".join(str(f) for f in fields)
    assert hashlib.sha256(text.encode()).hexdigest() == block.hash
    assert json.loads(block.changes)[0] == ["c3:artist", 3, 0, 3_000_000]


def test_deleted_and_swapped_blocks_are_found():
    assert first_bad_block(CHAIN[:2] + CHAIN[3:]) == 2
    assert first_bad_block([CHAIN[0], CHAIN[2], CHAIN[1], *CHAIN[3:]]) == 1
    assert first_bad_block(CHAIN[1:]) == 0
    assert first_bad_block([]) == 0


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_to_any_block_is_detected(data):
    position = data.draw(st.integers(0, len(CHAIN) - 1), label="block")
    block = CHAIN[position]
    field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(Block)]), label="field")
    value = getattr(block, field)
    text = str(value).encode()
    at = data.draw(st.integers(0, len(text) - 1), label="byte")
    new_byte = data.draw(st.integers(0, 255).filter(lambda b: b != text[at]), label="new")
    changed = text[:at] + bytes([new_byte]) + text[at + 1 :]
    if isinstance(value, int):
        try:
            new_value: object = int(changed.decode())
        except (UnicodeDecodeError, ValueError):
            return  # not representable in an integer column: the database would refuse it
        if new_value == value:
            return  # e.g. "7" → "07": the same stored integer
    else:
        new_value = changed.decode("utf-8", errors="replace")  # what a text column returns
    tampered = list(CHAIN)
    tampered[position] = dataclasses.replace(block, **{field: new_value})
    assert first_bad_block(tampered) == position
