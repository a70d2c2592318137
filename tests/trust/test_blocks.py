from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.errors import TrustError
from qfzz.trust import (
    GENESIS,
    Block,
    ChainReplay,
    EventHistory,
    LedgerKey,
    block_hash,
    mine,
    sign_event,
)

KEY = LedgerKey(b"k" * 32)
LOG = "ab" * 32  # stands in for a log hash (the replay does not read rows)


def history(*records: tuple[int, int]) -> EventHistory:
    """Signed difficulty records (from height, difficulty), in this order."""
    events = [
        sign_event(KEY, seq, "difficulty", start, str(value), 0)
        for seq, (start, value) in enumerate(records, 1)
    ]
    return EventHistory.of(events, KEY)


def chain(length: int = 5, difficulty: int = 2) -> list[Block]:
    """Blocks whose changes are first votes of new listeners on new items (valid votes)."""
    blocks = [GENESIS]
    interaction = 0
    for n in range(1, length):
        changes = []
        for k in range(n % 4 + 1):
            interaction += 1
            changes.append((f"c{n}.{k}:artist", 1, 0, 1_000_000 * n + k, interaction, "ann", 1))
        blocks.append(
            mine(n, 5_000_000 + n, interaction, difficulty, blocks[-1].hash, changes, LOG)
        )
    return blocks


CHAIN = chain()


def first_bad(blocks, records=((1, 2),)) -> int | None:
    replay = ChainReplay(history(*records))
    for block in blocks:
        replay.feed(block)
    if not blocks:
        return 0
    return None if replay.fault is None else replay.fault.block


def test_genesis_is_fixed_and_blocks_meet_their_difficulty():
    assert GENESIS.index == 0 and GENESIS.previous_hash == "0" * 64 and GENESIS.changes == "[]"
    assert GENESIS.hash == block_hash(GENESIS) and GENESIS.log_hash == "0" * 64
    for difficulty in range(5):
        block = mine(1, 1, 1, difficulty, GENESIS.hash, [("k:a", 1, 0, 1, 1, "ann", 1)], LOG)
        assert block.hash.startswith("0" * difficulty) and block_hash(block) == block.hash
    with pytest.raises(TrustError):
        mine(1, 1, 1, 7, GENESIS.hash, [], LOG)
    assert first_bad(CHAIN) is None


def test_the_documented_encoding_verifies_with_hashlib_alone():
    block = CHAIN[3]
    digest = hashlib.sha256(block.changes.encode()).hexdigest()
    fields = [
        "qfzz-block-v2",
        block.index,
        block.timestamp_us,
        block.through,
        block.difficulty,
        block.previous_hash,
        digest,
        block.log_hash,
        block.nonce,
    ]
    text = "\n".join(str(f) for f in fields)
    assert hashlib.sha256(text.encode()).hexdigest() == block.hash
    assert json.loads(block.changes)[0] == ["c3.0:artist", 1, 0, 3_000_000, 6, "ann", 1]


def test_deleted_and_swapped_blocks_are_found():
    assert first_bad(CHAIN[:2] + CHAIN[3:]) == 2
    assert first_bad([CHAIN[0], CHAIN[2], CHAIN[1], *CHAIN[3:]]) == 1
    assert first_bad(CHAIN[1:]) == 0
    assert first_bad([]) == 0


def test_each_block_must_meet_the_signed_difficulty_of_its_height():
    assert first_bad(CHAIN, records=()) == 1  # no signed history: invalid at block 1
    assert first_bad(CHAIN, records=((1, 1),)) == 1  # blocks claim 2, the history says 1
    assert first_bad(CHAIN, records=((1, 2), (3, 1))) == 3  # a change from block 3 on
    assert first_bad(CHAIN, records=((1, 2), (3, 1), (3, 2))) is None  # the newest wins
    easy = chain(difficulty=0)  # correct links and hashes, no work done
    assert first_bad(easy) == 1
    assert first_bad(easy, records=((1, 0),)) is None


def test_a_forged_difficulty_record_is_ignored():
    forged = sign_event(LedgerKey(b"x" * 32), 2, "difficulty", 1, "0", 0)  # another key
    relabelled = dataclasses.replace(sign_event(KEY, 3, "difficulty", 1, "2", 0), value="0")
    records = [sign_event(KEY, 1, "difficulty", 1, "2", 0), forged, relabelled]
    signed = EventHistory.of(records, KEY)
    assert signed.difficulty_at(1) == 2 and signed.ignored == 2 and signed.next_seq == 4
    replay = ChainReplay(signed)
    for block in chain(difficulty=0):
        replay.feed(block)
    assert replay.fault is not None and replay.fault.block == 1
    assert "requires 2" in replay.fault.reason


def remined(block: Block, changes) -> Block:
    return mine(
        block.index,
        block.timestamp_us,
        block.through,
        block.difficulty,
        block.previous_hash,
        changes,
        block.log_hash,
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("c2.0:artist", 1, 1000, 2_000_000, 3, "ann", 1), "do not follow"),  # forged counts
        (("c1.0:artist", 2, 0, 2_000_000, 3, "ann", 1), "already stood"),  # the same vote again
        (("c1.0:artist", 2, 0, 2_000_000, 9, "bob", 1), "outside"),  # an interaction not covered
        (("c1.0:artist", 0, 1, 2_000_000, 3, "ann", -1), None),  # ann changes her mind: fine
    ],
)
def test_every_change_must_follow_from_the_votes_before_it(change, reason):
    blocks = chain(length=2)
    blocks.append(mine(2, 6_000_000, 3, 2, blocks[-1].hash, [change], LOG))
    replay = ChainReplay(history((1, 2)))
    for block in blocks:
        replay.feed(block)
    if reason is None:
        assert replay.fault is None and replay.votes["ann"][replay.rows["c1.0:artist"]] == -1
    else:
        assert replay.fault is not None and replay.fault.block == 2
        assert reason in replay.fault.reason
        assert replay.tip == blocks[1]  # the state is that of the blocks before it


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
    assert first_bad(tampered) == position


def test_a_bad_block_leaves_the_state_of_the_blocks_before_it():
    blocks = chain(length=2)  # block 1: ann's first votes on c1.0 and c1.1 (interactions 1–2)
    good = ("c1.0:artist", 1, 1, 7_000_000, 3, "bob", -1)  # bob reports c1.0: fine alone
    new = ("new:artist", 1, 0, 7_000_000, 4, "bob", 1)  # a new item: fine alone
    bad = ("c1.1:artist", 5, 0, 7_000_000, 5, "bob", 1)  # forged counts
    blocks.append(mine(2, 6_000_000, 5, 2, blocks[-1].hash, [good, new, bad], LOG))
    replay = ChainReplay(history((1, 2)))
    for block in blocks:
        replay.feed(block)
    assert replay.fault is not None and replay.fault.block == 2
    index = replay.index()
    assert len(index) == 2 and index.get("new:artist") is None
    record = index.get("c1.0:artist")
    assert (record.verifications, record.reports, record.last_update) == (1, 0, 1.0)
    assert "bob" not in replay.votes or replay.votes["bob"] == {}
