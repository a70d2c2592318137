"""Writers the station does not know: another process's interactions and another miner."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks, tracks_of_genre, trust_counts
from qfzz.trust._blocks import mine as mine_block
from qfzz.trust._state import LedgerState


@pytest.fixture
def shared_settings(tmp_path, store_url) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=store_url,
        demo_library=False,
        difficulty=1,
        mine_every_records=100,
        mine_every_seconds=30,
    )


@pytest.fixture
def server(shared_settings, clock):
    """The serving station (its ledger hears its own commits only)."""
    st = build_station(shared_settings, clock=clock)
    add_synthetic_tracks(st.parts.store, SIX_GENRES, now=clock())
    st.start()
    for user in ("ann", "bob", "cat", "dan"):
        st.register_listener(user, {})
    yield st
    st.close()


def another_process(settings, clock) -> QFZZStation:
    """What a CLI command does: its own station over the same database."""
    st = build_station(settings, clock=clock)
    st.start()
    return st


def test_a_vote_written_by_another_process_is_counted_and_sealed(server, shared_settings, clock):
    track = tracks_of_genre(server, "jazz")[0]
    server.record_interaction("ann", track, "like")
    cli = another_process(shared_settings, clock)
    try:
        cli.record_interaction("bob", track, "like")  # `qfzz interact` beside the server
    finally:
        cli.close()
    server.record_interaction("cat", track, "dislike")  # the server's own next write
    assert trust_counts(server, track) == (2, 1)
    server.parts.ledger.mine_all()
    assert server.parts.ledger.pending_count == 0 and server.verify_ledger().valid
    server.close()
    again = another_process(shared_settings, clock)
    try:
        assert trust_counts(again, track) == (2, 1) and again.parts.ledger.pending_count == 0
    finally:
        again.close()


def test_a_foreign_vote_is_counted_before_mining_when_the_server_writes_nothing(
    server, shared_settings, clock
):
    track = tracks_of_genre(server, "jazz")[1]
    cli = another_process(shared_settings, clock)
    try:
        cli.record_interaction("dan", track, "dislike")
    finally:
        cli.close()
    clock.advance(31)
    assert server.parts.ledger.should_mine()  # it saw the foreign row
    assert trust_counts(server, track) == (0, 1)
    block = server.parts.ledger.mine()
    assert block is not None and block.index == 1 and server.parts.ledger.pending_count == 0


def test_a_second_miner_does_not_stop_the_servers_miner(server, shared_settings, clock):
    tracks = tracks_of_genre(server, "jazz")
    server.record_interaction("ann", tracks[0], "like")
    cli = another_process(shared_settings, clock)
    try:
        mined = cli.mine_pending()  # `qfzz ledger mine` beside the server
        assert [b.index for b in mined] == [1]
    finally:
        cli.close()
    server.record_interaction("bob", tracks[0], "dislike")
    block = server.parts.ledger.mine()  # the same height is taken: it catches up instead
    if block is None:  # the conflict was noticed; the next attempt mines on the new tip
        block = server.parts.ledger.mine()
    assert block is not None and block.index == 2
    server.record_interaction("cat", tracks[1], "play")
    assert server.parts.ledger.mine().index == 3
    assert server.verify_ledger().valid and server.parts.ledger.height == 4
    assert trust_counts(server, tracks[0]) == (1, 1) and trust_counts(server, tracks[1]) == (1, 0)


def test_a_repair_by_another_process_lets_the_servers_miner_go_on(server, shared_settings, clock):
    tracks = tracks_of_genre(server, "jazz")
    for n, user in enumerate(("ann", "bob")):
        server.record_interaction(user, tracks[n], "like")
        server.parts.ledger.mine()
    with server.parts.store.db.write() as conn:  # block 2 tampered while the server runs
        conn.execute(text("UPDATE ledger_blocks SET nonce = nonce + 1 WHERE height = 2"))
    assert server.verify_ledger().first_bad_block == 2
    server.record_interaction("cat", tracks[2], "like")
    clock.advance(31)
    assert not server.parts.ledger.should_mine()  # stopped: the chain is broken
    cli = another_process(shared_settings, clock)
    try:
        assert cli.repair_ledger().valid  # `qfzz ledger repair` beside the server
    finally:
        cli.close()
    assert not server.parts.ledger.should_mine()  # the repair sealed cat's vote too
    assert (
        server.parts.ledger.valid and server.parts.ledger.height == 3
    )  # it read the repaired chain
    server.record_interaction("dan", tracks[3], "like")
    clock.advance(31)
    assert server.parts.ledger.should_mine() and server.parts.ledger.mine().index == 3
    assert server.verify_ledger().valid
    assert [trust_counts(server, t) for t in tracks[:4]] == [(1, 0)] * 4


def _replays(monkeypatch) -> list[int]:
    """Counts the ledger's replays of the whole chain from now on."""
    calls: list[int] = []
    real = LedgerState.of_replay

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(LedgerState, "of_replay", counted)
    return calls


def test_a_race_lost_to_another_miner_is_followed_without_replaying_the_chain(
    server, shared_settings, clock, monkeypatch
):
    tracks = tracks_of_genre(server, "jazz")
    for n, user in enumerate(("ann", "bob", "cat")):
        server.record_interaction(user, tracks[n], "like")
    cli = another_process(shared_settings, clock)  # another API process, say
    try:
        assert [b.index for b in cli.mine_pending()] == [1]  # it seals what the server holds
        cli.record_interaction("dan", tracks[0], "dislike")
        assert [b.index for b in cli.mine_pending()] == [2]
    finally:
        cli.close()
    server.record_interaction("dan", tracks[1], "like")
    replays = _replays(monkeypatch)
    assert server.parts.ledger.mine() is None  # height 1 was taken: it follows blocks 1-2
    assert replays == []
    assert server.parts.ledger.height == 3 and server.parts.ledger.pending_count == 1
    assert server.parts.ledger.mine().index == 3  # only dan's like on tracks[1] is left
    assert [trust_counts(server, t) for t in tracks[:3]] == [(1, 1), (2, 0), (1, 0)]
    assert server.verify_ledger().valid
    server.close()
    again = another_process(shared_settings, clock)  # the chain alone says the same
    try:
        assert [trust_counts(again, t) for t in tracks[:3]] == [(1, 1), (2, 0), (1, 0)]
        assert again.parts.ledger.pending_count == 0
    finally:
        again.close()


def test_a_block_that_is_not_what_the_server_holds_pending_makes_it_replay(
    server, clock, monkeypatch
):
    """A block sealing other votes for the same rows (written by a miner that derived
    them otherwise): the chain is what counts, so the server reads it again whole."""
    tracks = tracks_of_genre(server, "jazz")
    server.record_interaction("ann", tracks[0], "like")
    assert server.parts.ledger.mine().index == 1
    server.record_interaction("bob", tracks[0], "like")
    ledger = server.parts.ledger
    held = ledger._state.pending[0]  # bob's vote, as the server would seal it
    tip = ledger._blocks.blocks(start=1, limit=1)[0]
    other = (*held[:5], "zed", held[6])  # the same counts and row, another voter
    block = mine_block(2, tip.timestamp_us + 1, held[4], 1, tip.hash, [other], tip.log_hash)
    ledger._blocks.append([block])
    replays = _replays(monkeypatch)
    assert ledger.mine() is None  # height 2 was taken by a block it would not have sealed
    assert replays == [1]  # so it read the chain again, as it must
    # the chain says zed liked it, covering bob's row: nothing of its own is left pending
    assert ledger.height == 3 and ledger.pending_count == 0
    assert trust_counts(server, tracks[0]) == (2, 0)
    assert ledger._state.votes.get("zed") and not ledger._state.votes.get("bob")
