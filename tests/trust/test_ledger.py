from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from qfzz.app import build_station
from qfzz.errors import ChainInvalid
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks


@pytest.fixture
def trust_settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        demo_library=False,
        difficulty=2,
        mine_every_records=5,
        mine_every_seconds=30,
        trust_min_voters=3,  # these tests' listeners: bob, cat and dan vote
    )


def open_station(settings, clock, *, fill: bool = False) -> QFZZStation:
    station = build_station(settings, clock=clock)
    if fill:
        add_synthetic_tracks(station.parts.store, SIX_GENRES)
    station.start()
    return station


@pytest.fixture
def station(trust_settings, clock):
    st = open_station(trust_settings, clock, fill=True)
    for user in ("ann", "bob", "cat", "dan"):
        st.register_listener(user, {"genres": ["jazz"], "discovery_factor": 0.0})
    yield st
    st.close()


def record_of(station, track_id):
    track = station.track(track_id)
    return station.trust(track.content_id, track.creator_id)


def jazz(station):
    return [t.track_id for t in station.search_tracks(genre="jazz", limit=100)[1]]


def test_tracks_carry_content_and_creator_ids(station):
    track = station.track(jazz(station)[0])
    assert len(track.content_id) == 64 and track.creator_id == "jazz artist 0"


def test_votes_follow_the_interaction_types(station):
    track = jazz(station)[0]
    for user, kind, rating in [
        ("ann", "like", None),
        ("bob", "play", None),
        ("cat", "rate", 0.5),
        ("dan", "rate", 0.2),
    ]:
        station.record_interaction(user, track, kind, rating)
    record = record_of(station, track)
    assert (record.verifications, record.reports) == (3, 1)
    assert record.score == pytest.approx(0.75)
    assert record.first_update > 0 and record.last_update >= record.first_update


def test_ballot_stuffing_does_not_move_a_score(station):
    track = jazz(station)[1]
    for _ in range(100):
        station.record_interaction("ann", track, "skip")
    assert (record_of(station, track).verifications, record_of(station, track).reports) == (0, 1)
    station.record_interaction("bob", track, "like")
    assert record_of(station, track).score == pytest.approx(0.5)
    station.record_interaction("ann", track, "favorite")  # ann changes her mind
    record = record_of(station, track)
    assert (record.verifications, record.reports, record.score) == (2, 0, 1.0)


def test_reported_tracks_leave_playlists_which_stay_full(station):
    tracks = jazz(station)
    first = [i.track.track_id for i in station.generate_playlist("ann", size=10).items]
    reported = first[:3]
    for track in reported:
        for user in ("bob", "cat", "dan"):
            station.record_interaction(user, track, "dislike")
        assert record_of(station, track).score == 0.0
    playlist = station.generate_playlist("ann", size=10)
    ids = [i.track.track_id for i in playlist.items]
    assert len(ids) == 10 and not set(reported) & set(ids)
    assert len(tracks) == 12  # the filter removed 3 of 12 jazz tracks and still filled 10


def test_mining_seals_pending_changes_into_valid_blocks(station, clock):
    track = jazz(station)[0]
    station.record_interaction("ann", track, "like")
    assert station.parts.ledger.pending_count == 1 and not station.parts.ledger.should_mine()
    clock.advance(31)
    assert station.parts.ledger.should_mine()
    block = station.parts.ledger.mine()
    assert block.index == 1 and block.hash.startswith("00") and block.through >= 1
    assert station.parts.ledger.pending_count == 0
    for user in ("bob", "cat", "dan"):
        for t in jazz(station)[:2]:
            station.record_interaction(user, t, "play")
    assert station.parts.ledger.should_mine()  # 6 pending ≥ mine_every_records
    assert len(station.parts.ledger.mine_all()) == 2
    status = station.verify_ledger()
    assert (status.valid, status.height, status.first_bad_block) == (True, 4, None)


def test_background_miner_mines_when_enough_changes_are_pending(station):
    mined = threading.Event()
    station.parts.miner.on_mined = lambda block: mined.set()
    station.start_miner()
    tracks = jazz(station)
    for n, user in enumerate(("ann", "bob", "cat", "dan", "ann")):
        assert not mined.is_set()
        station.record_interaction(user, tracks[n], "like")  # 5 distinct votes
    assert mined.wait(timeout=30)  # woken by the count rule, not by a timer
    assert station.parts.ledger.height >= 2 and station.verify_ledger().valid


def test_votes_survive_a_crash_before_mining(trust_settings, clock):
    first = open_station(trust_settings, clock, fill=True)
    first.register_listener("ann", {})
    first.register_listener("bob", {})
    track = jazz(first)[0]
    first.record_interaction("ann", track, "like")
    first.parts.ledger.mine()
    first.record_interaction("bob", track, "dislike")
    first.record_interaction("ann", jazz(first)[1], "skip")
    before = record_of(first, track)
    first.parts.store.interactions.stop()  # killed: no shutdown, nothing mined since
    first.parts.store.close()
    second = open_station(trust_settings, clock)
    try:
        assert second.parts.ledger.pending_count == 2
        after = record_of(second, track)
        assert (after.verifications, after.reports) == (before.verifications, before.reports)
        second.record_interaction("bob", track, "dislike")  # bob's vote was restored
        assert record_of(second, track).reports == 1
        second.parts.ledger.mine()
        assert second.verify_ledger().valid
    finally:
        second.close()


def _tamper(station, sql: str) -> None:
    with station.parts.store.db.write() as conn:
        conn.execute(text(sql))


TAMPERING = {
    "edited-score": (
        ["UPDATE ledger_blocks SET changes = replace(changes, ',1,0,', ',9,0,') WHERE height = 2"],
        2,
    ),
    "deleted-block": (["DELETE FROM ledger_blocks WHERE height = 2"], 2),
    "swapped-order": (
        [
            "UPDATE ledger_blocks SET height = -1 WHERE height = 1",
            "UPDATE ledger_blocks SET height = 1 WHERE height = 2",
            "UPDATE ledger_blocks SET height = 2 WHERE height = -1",
        ],
        1,
    ),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_found_on_start_and_repaired(trust_settings, clock, how):
    statements, bad = TAMPERING[how]
    first = open_station(trust_settings, clock, fill=True)
    users = ["ann", "bob", "cat"]
    for user in users:
        first.register_listener(user, {})
    tracks = jazz(first)
    for n, user in enumerate(users):
        first.record_interaction(user, tracks[n], "like")
        first.parts.ledger.mine()
    truth = {
        t: (record_of(first, t).verifications, record_of(first, t).reports) for t in tracks[:3]
    }
    for sql in statements:
        _tamper(first, sql)
    first.close()

    second = open_station(trust_settings, clock)
    try:
        status = second.parts.ledger.status()
        assert not status.valid and status.first_bad_block == bad
        assert second.verify_ledger().first_bad_block == bad
        with pytest.raises(ChainInvalid):
            second.parts.ledger.mine()
        # the index is still right: the valid prefix plus the log after it
        assert {
            t: (record_of(second, t).verifications, record_of(second, t).reports)
            for t in tracks[:3]
        } == truth
        report = second.repair_ledger()
        assert report.first_bad_block == bad and report.mined_blocks >= 1
        assert second.verify_ledger().valid and second.parts.ledger.valid
        assert {
            t: (record_of(second, t).verifications, record_of(second, t).reports)
            for t in tracks[:3]
        } == truth
    finally:
        second.close()


def test_disabled_blockchain_neither_filters_nor_mines(tmp_path, clock):
    settings = Settings(data_dir=tmp_path / "d", demo_library=False, enable_blockchain=False)
    st = open_station(settings, clock, fill=True)
    try:
        st.register_listener("ann", {"genres": ["jazz"], "discovery_factor": 0.0})
        track = jazz(st)[0]
        for user in ("bob", "cat", "dan"):
            st.register_listener(user, {})
            st.record_interaction(user, track, "dislike")
        assert st.parts.ledger.pending_count == 0 and st.parts.trust_filter is None
        assert track in [i.track.track_id for i in st.generate_playlist("ann", size=12).items]
    finally:
        st.close()
