"""The trust filter is not a taste veto: it judges a track only once enough distinct
listeners voted on it (``trust_min_voters``); the shown score keeps the design's formula."""

from __future__ import annotations

import numpy as np

from qfzz.settings import Settings
from qfzz.testing import synthetic_station


def _station(tmp_path, clock, **overrides):
    settings = Settings(
        data_dir=tmp_path / "data", demo_library=False, trust_threshold=0.3, **overrides
    )
    return synthetic_station(settings, clock=clock)


def _record(station, track_id: int):
    track = station.track(track_id)
    return station.trust(track.content_id or "", track.creator_id or "")


def _playable(station, track_id: int) -> bool:
    trusted = station.parts.trust_filter
    assert trusted is not None
    return bool(trusted(np.array([track_id], dtype=np.int64))[0])


def test_one_listeners_skip_hides_nothing_five_listeners_reports_do(tmp_path, clock):
    with _station(tmp_path, clock) as station:
        track = station.search_tracks(limit=1)[1][0].track_id
        for n in range(6):
            station.register_listener(f"l{n}", {}, password="pw-1234")
        station.record_interaction("l0", track, "skip")  # the first listener to hear it
        record = _record(station, track)
        assert (record.verifications, record.reports, record.score) == (0, 1, 0.0)
        assert _playable(station, track)  # one vote: neutral, still on air for everyone
        for n in range(1, 4):
            station.record_interaction(f"l{n}", track, "skip")
        assert _playable(station, track)  # four voters: still below the default of five
        station.record_interaction("l4", track, "skip")
        assert not _playable(station, track)  # five reports: the community has spoken
        station.record_interaction("l5", track, "like")
        record = _record(station, track)
        assert round(record.score, 3) == round(1 / 6, 3)  # the shown score: v / (v + r)
        assert not _playable(station, track)


def test_a_well_liked_track_stays_whatever_the_count(tmp_path, clock):
    with _station(tmp_path, clock, trust_min_voters=2) as station:
        track = station.search_tracks(limit=1)[1][0].track_id
        for n in range(3):
            station.register_listener(f"l{n}", {}, password="pw-1234")
        station.record_interaction("l0", track, "like")
        station.record_interaction("l1", track, "like")
        station.record_interaction("l2", track, "skip")
        assert _playable(station, track)  # 2 of 3 verify: 0.67 ≥ 0.3
        # a listener changing their mind moves their one vote, never adds a voter
        station.record_interaction("l0", track, "skip")
        station.record_interaction("l1", track, "skip")
        assert not _playable(station, track)
