"""Forged proof of work (defect 5) and edited sealed interactions (defect 6)."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from qfzz.api import create_api
from qfzz.app import build_station, command_line
from qfzz.errors import ChainInvalid
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks, tracks_of_genre, trust_counts
from qfzz.trust import mine

runner = CliRunner()
cli = command_line()


def settings_for(tmp_path, **overrides) -> Settings:
    values = {
        "data_dir": tmp_path / "data",
        "demo_library": False,
        "difficulty": 2,
        "mine_every_records": 100,
        "mine_every_seconds": 30,
        "trust_threshold": 0.3,
    }
    values.update(overrides)
    return Settings(**values)


def open_station(settings, clock, *, fill=False) -> QFZZStation:
    st = build_station(settings, clock=clock)
    if fill:
        add_synthetic_tracks(st.parts.store, SIX_GENRES, now=clock())
    st.start()
    return st


def execute(station, sql, **params):
    with station.parts.store.db.write() as conn:
        conn.execute(text(sql), params)


def remine(block, previous_hash, changes=None, difficulty=0):
    """What a forger with write access to the database does: a block with correct links
    and a correct hash, at a difficulty of their choosing."""
    return mine(
        block.index,
        block.timestamp_us,
        block.through,
        difficulty,
        previous_hash,
        block.decoded_changes() if changes is None else changes,
        block.log_hash,
    )


@pytest.fixture
def chain(tmp_path, clock):
    """Three blocks at difficulty 2: ann, bob and cat like a jazz track, one block each."""
    settings = settings_for(tmp_path)
    st = open_station(settings, clock, fill=True)
    for user in ("ann", "bob", "cat", "dan", "eve"):
        st.register_listener(user, {"genres": ["jazz"], "discovery_factor": 0.0})
    track = tracks_of_genre(st, "jazz")[0]
    for user in ("ann", "bob", "cat"):
        st.record_interaction(user, track, "like")
        st.parts.ledger.mine()
    st.close()
    return settings, track


def forge_from(settings, clock, height, forged_changes):
    """Re-mine every block from ``height`` at difficulty 0, the newest with forged changes."""
    st = open_station(settings, clock)
    blocks = st.parts.ledger.blocks()
    previous = blocks[height - 1].hash
    forged = []
    for block in blocks[height:]:
        changes = forged_changes if block is blocks[-1] else None
        forged.append(remine(block, previous, changes))
        previous = forged[-1].hash
    st.parts.store.ledger.truncate_from(height)
    st.parts.store.ledger.append(forged)
    st.close()
    return forged


def test_blocks_re_mined_at_difficulty_zero_are_found_and_their_reports_ignored(chain, clock):
    settings, track = chain
    st = open_station(settings, clock)
    key = f"{st.track(track).content_id}:{st.track(track).creator_id}"
    st.close()
    forged_changes = [(key, 3, 1000, 1_800_000_000_000_000, 3, "eve", -1)]  # 1,000 reports
    forge_from(settings, clock, 2, forged_changes)

    st = open_station(settings, clock)
    try:
        status = st.verify_ledger()
        assert status.first_bad_block == 2 and "the signed history requires 2" in status.reason
        assert not st.parts.ledger.valid and st.parts.ledger.status().first_bad_block == 2
        assert trust_counts(st, track) == (3, 0)  # the forged reports do not count
        playlist = st.generate_playlist("dan", size=20)
        assert track in [i.track.track_id for i in playlist.items]
        with TestClient(create_api(st, manage_lifecycle=False)) as client:
            answer = client.get("/api/v1/ledger/verify").json()
        assert answer["valid"] is False and answer["first_bad_block"] == 2
    finally:
        st.close()
    verified = runner.invoke(cli, ["ledger", "verify", "--data-dir", str(settings.data_dir)])
    assert verified.exit_code == 1 and "INVALID at block 2" in verified.output


def test_editing_a_sealed_interaction_is_found_and_cannot_move_another_report(tmp_path, clock):
    settings = settings_for(tmp_path)
    st = open_station(settings, clock, fill=True)
    for user in ("ann", "bob"):
        st.register_listener(user, {})
    track = tracks_of_genre(st, "jazz")[0]
    st.record_interaction("ann", track, "play")
    st.record_interaction("bob", track, "dislike")
    st.parts.ledger.mine()
    assert trust_counts(st, track) == (1, 1)
    execute(
        st,
        "UPDATE interactions SET type = 'dislike' WHERE user_id = 'ann' AND track_id = :t",
        t=track,
    )
    status = st.verify_ledger()
    assert status.first_bad_block == 1 and not status.valid
    st.close()

    st = open_station(settings, clock)  # after a restart
    try:
        assert trust_counts(st, track) == (1, 1)
        st.record_interaction("ann", track, "play")  # ann again, as sealed: no change
        assert trust_counts(st, track) == (1, 1)  # bob's report stays where it was
        report = st.repair_ledger()
        assert report.first_bad_block == 1
        assert st.verify_ledger().valid
        assert trust_counts(st, track) == (1, 1)
    finally:
        st.close()


def test_a_forged_difficulty_record_gains_nothing(chain, clock):
    settings, _ = chain
    forge_from(settings, clock, 2, None)
    st = open_station(settings, clock)
    try:
        execute(  # a record saying "difficulty 0 from block 2", with a made-up signature
            st,
            "INSERT INTO ledger_events VALUES (99, 'difficulty', 2, '0', 0, :sig)",
            sig="ab" * 64,
        )
        status = st.verify_ledger()
        assert status.first_bad_block == 2 and "requires 2" in status.reason
    finally:
        st.close()


def test_a_difficulty_change_is_a_signed_record_and_the_chain_stays_valid(chain, clock):
    settings, track = chain
    harder = settings.model_copy(update={"difficulty": 3})
    st = open_station(harder, clock)
    try:
        assert st.parts.ledger.valid and st.verify_ledger().valid
        st.register_listener("fay", {})
        st.record_interaction("fay", track, "like")
        block = st.parts.ledger.mine()
        assert block.index == 4 and block.difficulty == 3 and block.hash.startswith("000")
        kinds = [(e.kind, e.height, e.value) for e in st.parts.ledger.events()]
        assert kinds == [("difficulty", 1, "2"), ("difficulty", 4, "3")]
        assert st.verify_ledger().valid
    finally:
        st.close()
    st = open_station(settings, clock)  # and back: blocks 1–3 at 2, block 4 at 3, then 2
    try:
        assert st.parts.ledger.valid
        st.record_interaction("eve", track, "like")
        assert st.parts.ledger.mine().difficulty == 2
        assert st.verify_ledger().valid and len(st.parts.ledger.events()) == 3
    finally:
        st.close()


def test_edited_deleted_and_inserted_rows_each_name_their_block(tmp_path, clock):
    settings = settings_for(tmp_path)
    st = open_station(settings, clock, fill=True)
    try:
        for user in ("ann", "bob"):
            st.register_listener(user, {})
        tracks = tracks_of_genre(st, "jazz")
        for n in range(3):  # blocks 1, 2, 3 cover interactions 1–2, 3–4, 5–6
            st.record_interaction("ann", tracks[n], "play")
            st.record_interaction("bob", tracks[n], "skip")
            st.parts.ledger.mine()
        assert st.verify_ledger().valid
        execute(st, "DELETE FROM interactions WHERE id = 4")  # not cited: bob's skip, block 2
        clock.advance(61)
        status = st.verify_ledger()
        assert status.first_bad_block == 2 and "(2, 4]" in status.reason
        execute(st, "UPDATE interactions SET created_at = created_at + 1 WHERE id = 1")
        clock.advance(61)
        status = st.verify_ledger()
        assert status.first_bad_block == 1 and "interactions 1 no longer" in status.reason
    finally:
        st.close()


def test_repair_keeps_the_sealed_votes_and_reports_what_it_cannot_restore(tmp_path, clock):
    settings = settings_for(tmp_path)
    st = open_station(settings, clock, fill=True)
    try:
        for user in ("ann", "bob"):
            st.register_listener(user, {})
        track = tracks_of_genre(st, "jazz")[0]
        st.record_interaction("ann", track, "play")  # interaction 1
        st.record_interaction("bob", track, "dislike")  # interaction 2
        st.parts.ledger.mine()
        # interaction 3, pending
        st.record_interaction("ann", tracks_of_genre(st, "jazz")[1], "like")
        execute(st, "UPDATE interactions SET type = 'dislike' WHERE id = 1")
        assert st.verify_ledger().first_bad_block == 1 and not st.parts.ledger.valid
        assert st.parts.ledger.mine().index == 2  # the chain is whole: new votes are still sealed
        report = st.repair_ledger()
        assert report.first_bad_block == 1 and report.removed_blocks == 0
        assert [(d.block, d.contradicted) for d in report.acknowledged] == [(1, (1,))]
        assert report.valid and report.rederived is None and report.mined_blocks == 0
        assert [e.kind for e in st.parts.ledger.events()] == ["difficulty", "rows"]
        assert st.verify_ledger().valid and st.parts.ledger.valid
        assert trust_counts(st, track) == (1, 1)  # ann's sealed play, not the edited row
        with TestClient(create_api(st, manage_lifecycle=False)) as client:
            assert client.get("/api/v1/ledger/verify").json()["valid"] is True
        execute(st, "UPDATE interactions SET type = 'like' WHERE id = 2")  # edited again
        clock.advance(61)
        assert st.verify_ledger().first_bad_block == 1  # the acknowledgement was for those rows
    finally:
        st.close()
    repaired = runner.invoke(cli, ["ledger", "repair", "--data-dir", str(settings.data_dir)])
    assert repaired.exit_code == 0, repaired.output
    output = " ".join(repaired.output.split())
    assert "repaired block 1: the interaction rows (0, 2]" in output
    assert "changed votes: 1, 2" in output


def write_v1_chain(st) -> None:
    """The chain an older QFZZ wrote: qfzz-block-v1, no signed history, no log hash."""
    blocks = []
    previous = "0" * 64

    def v1(index, through, changes):
        payload = json.dumps(changes, separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()
        fields = ("qfzz-block-v1", index, index, through, 0, previous, digest, 0)
        block_hash = hashlib.sha256("\n".join(map(str, fields)).encode()).hexdigest()
        return {
            "height": index,
            "timestamp_us": index,
            "through_interaction": through,
            "difficulty": 0,
            "previous_hash": previous,
            "nonce": 0,
            "hash": block_hash,
            "changes": payload,
        }

    for index, (through, changes) in enumerate([(0, []), (2, [["k:a", 1, 1, 5]])]):
        blocks.append(v1(index, through, changes))
        previous = blocks[-1]["hash"]
    with st.parts.store.db.write() as conn:
        conn.execute(text("DELETE FROM ledger_blocks"))
        conn.execute(text("DELETE FROM ledger_events"))
        for row in blocks:
            conn.execute(
                text(
                    "INSERT INTO ledger_blocks (height, timestamp_us, through_interaction, "
                    "difficulty, previous_hash, nonce, hash, changes) VALUES (:height, "
                    ":timestamp_us, :through_interaction, :difficulty, :previous_hash, "
                    ":nonce, :hash, :changes)"
                ),
                row,
            )


def test_a_chain_written_before_v2_is_derived_again_losslessly(tmp_path, clock):
    settings = settings_for(tmp_path)
    st = open_station(settings, clock, fill=True)
    for user in ("ann", "bob", "cat"):
        st.register_listener(user, {})
    tracks = tracks_of_genre(st, "jazz")
    st.record_interaction("ann", tracks[0], "like")
    st.record_interaction("bob", tracks[0], "skip")
    st.record_interaction("cat", tracks[1], "favorite")
    st.record_interaction("ann", tracks[0], "dislike")  # ann changes her mind
    truth = {t: trust_counts(st, t) for t in tracks[:2]}
    write_v1_chain(st)
    st.close()

    st = open_station(settings, clock)
    try:
        status = st.parts.ledger.status()
        assert not status.valid and status.first_bad_block == 0
        assert "qfzz-block-v1" in status.reason and "qfzz ledger repair" in status.reason
        assert st.verify_ledger().first_bad_block == 0
        assert {t: trust_counts(st, t) for t in tracks[:2]} == truth  # derived from the log
        report = st.repair_ledger()
        assert report.removed_blocks == 2 and report.changes == 4 and report.valid
        assert report.rederived == (0, 2)
        assert st.verify_ledger().valid and st.parts.ledger.pending_count == 0
    finally:
        st.close()
    st = open_station(settings, clock)
    try:
        assert st.parts.ledger.valid and {t: trust_counts(st, t) for t in tracks[:2]} == truth
    finally:
        st.close()


def test_a_block_broken_while_serving_stops_mining_until_repaired(chain, clock):
    settings, track = chain
    st = open_station(settings, clock)
    try:
        execute(st, "UPDATE ledger_blocks SET nonce = nonce + 1 WHERE height = 2")
        st.record_interaction("dan", track, "skip")
        status = st.verify_ledger()
        assert status.first_bad_block == 2 and "hash does not match" in status.reason
        assert not st.parts.ledger.valid and not st.parts.ledger.should_mine()
        with pytest.raises(ChainInvalid):
            st.parts.ledger.mine()
        report = st.repair_ledger()
        assert report.removed_blocks == 2 and report.rederived == (1, 3)
        assert report.changes == 3 and report.valid  # bob's, cat's and dan's votes
        assert (
            st.parts.ledger.valid and st.verify_ledger().valid and trust_counts(st, track) == (3, 1)
        )
    finally:
        st.close()
