"""The store's guards for the trust ledger: interactions commit in id order, and a block
goes in only at a free height on top of the block it links to."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from qfzz.errors import ChainConflict
from qfzz.models import Interaction, InteractionType
from qfzz.store import ListenerRecord
from qfzz.store._schema import interactions
from qfzz.store.interactions import serialise_inserts
from qfzz.testing import SyntheticTrack, add_synthetic_tracks, wait_for
from qfzz.trust import GENESIS, mine


def _ann(store) -> int:
    store.listeners.create(
        ListenerRecord("ann", {}, 0.2, 0.5, "varied", 1.0),
        password_hash=None,
        token_digest="d" * 64,
        weights={},
    )
    return add_synthetic_tracks(store, [SyntheticTrack("So What", "Miles", "jazz")])[0]


@pytest.mark.postgres
def test_on_postgresql_a_later_insert_waits_for_an_earlier_one_to_commit(postgres_url):
    """Otherwise id 12 could commit before id 11, and a reader following ids that saw 12
    would never count 11 (the trust ledger reads the log by id)."""
    from qfzz.store import open_store

    store = open_store(postgres_url)
    try:
        track = _ann(store)
        row = {"user_id": "ann", "track_id": track, "type": "play", "created_at": 1.0}
        later: list[int] = []
        with store.db.write() as conn:  # writer A, inside its transaction, after its insert
            serialise_inserts(conn)
            first = conn.execute(interactions.insert().returning(interactions.c.id), row)
            first_id = int(first.scalar_one())
            holder = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            writer = threading.Thread(
                target=lambda: later.extend(
                    store.interactions.write_batch(
                        [Interaction("ann", track, InteractionType.LIKE, None, 2.0)]
                    )
                )
            )
            writer.start()

            def queued_behind_a() -> bool:
                with store.db.read() as probe:
                    blocked = probe.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE :holder = ANY(pg_blocking_pids(pid))"
                        ),
                        {"holder": holder},
                    )
                    return int(blocked.scalar_one()) > 0

            assert wait_for(queued_behind_a, timeout=10)
            assert not later  # nothing of B's is committed while A's id is not
        writer.join(10)
        assert later and later[0] > first_id
        assert [i for i, _ in store.interactions.after(0)] == [first_id, later[0]]
    finally:
        store.close()


def test_a_block_goes_in_only_at_a_free_height_on_top_of_its_link(store):
    store.ledger.append([GENESIS])
    ours = mine(1, 1, 0, 0, GENESIS.hash, [], GENESIS.log_hash)
    theirs = mine(1, 2, 0, 0, GENESIS.hash, [], GENESIS.log_hash)
    store.ledger.append([ours])
    with pytest.raises(ChainConflict):
        store.ledger.append([theirs])  # the height is taken
    orphan = mine(2, 3, 0, 0, theirs.hash, [], GENESIS.log_hash)
    with pytest.raises(ChainConflict):
        store.ledger.append([orphan])  # it would link to a block that is not stored
    assert store.ledger.blocks() == [GENESIS, ours] and store.ledger.height() == 2
    assert store.ledger.fingerprint() == (2, 0, ours.hash)
