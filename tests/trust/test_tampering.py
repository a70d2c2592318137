"""Forged proof of work (defect 5) and edited sealed interactions (defect 6)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from qfzz.api import create_api
from qfzz.app import prepare_station, run_http
from qfzz.cli import Wiring, build_cli
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks
from qfzz.trust import mine

runner = CliRunner()
cli = build_cli(Wiring(prepare=prepare_station, run=run_http))


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
    st = QFZZStation(settings, clock=clock)
    if fill:
        add_synthetic_tracks(st.store, SIX_GENRES, now=clock())
    st.start()
    return st


def jazz(station):
    return [t.track_id for t in station.search_tracks(genre="jazz", limit=100)[1]]


def counts(station, track_id):
    track = station.track(track_id)
    record = station.trust(track.content_id, track.creator_id)
    return record.verifications, record.reports


def execute(station, sql, **params):
    with station.store.db.write() as conn:
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
    track = jazz(st)[0]
    for user in ("ann", "bob", "cat"):
        st.record_interaction(user, track, "like")
        st.ledger.mine()
    st.close()
    return settings, track


def forge_from(settings, clock, height, forged_changes):
    """Re-mine every block from ``height`` at difficulty 0, the newest with forged changes."""
    st = open_station(settings, clock)
    blocks = st.ledger.blocks()
    previous = blocks[height - 1].hash
    forged = []
    for block in blocks[height:]:
        changes = forged_changes if block is blocks[-1] else None
        forged.append(remine(block, previous, changes))
        previous = forged[-1].hash
    st.store.ledger.truncate_from(height)
    st.store.ledger.append(forged)
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
        assert not st.ledger.valid and st.ledger.status().first_bad_block == 2
        assert counts(st, track) == (3, 0)  # the forged reports do not count
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
    track = jazz(st)[0]
    st.record_interaction("ann", track, "play")
    st.record_interaction("bob", track, "dislike")
    st.ledger.mine()
    assert counts(st, track) == (1, 1)
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
        assert counts(st, track) == (1, 1)
        st.record_interaction("ann", track, "play")  # ann again, as sealed: no change
        assert counts(st, track) == (1, 1)  # bob's report stays where it was
        report = st.repair_ledger()
        assert report.first_bad_block == 1
        assert st.verify_ledger().valid
        assert counts(st, track) == (1, 1)
    finally:
        st.close()
