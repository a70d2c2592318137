"""The shared mounts' autoDJ never repeats a track within its window, counting what is
queued and on air, not only what finished; and the radio's settings are bounded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qfzz.settings import Settings
from qfzz.testing import SIX_GENRES, FakeClock, synthetic_station


def _picks(station, count: int) -> list[int]:
    """What the shared mount's autoDJ hands the program, pick after pick (the program
    asks for the next track while the current one plays: nothing has finished yet)."""
    provider = station.radio.mount("main").program.provider
    picks = []
    for _ in range(count):
        track = provider.next_track()
        assert track is not None
        picks.append(track.track_id)
    return picks


def _closest_repeat(picks: list[int]) -> int | None:
    """The fewest picks between a track and its next play (None: never repeated)."""
    last: dict[int, int] = {}
    gaps = []
    for n, track_id in enumerate(picks):
        if track_id in last:
            gaps.append(n - last[track_id] - 1)
        last[track_id] = n
    return min(gaps) if gaps else None


def _station(tmp_path, tracks, **settings):
    values: dict[str, object] = {"data_dir": tmp_path / "d", "demo_library": False}
    values.update(settings)
    return synthetic_station(Settings(**values), clock=FakeClock(), tracks=tracks)


def test_no_track_repeats_within_the_window_on_a_catalog_of_64(tmp_path):
    with _station(tmp_path, SIX_GENRES[:64]) as station:
        # listeners whose taste narrows the blend to few genres: the same tracks score best
        station.register_listener("ann", {"genres": ["jazz"]})
        station.register_listener("bob", {"genres": ["jazz", "blues"]})
        picks = _picks(station, 300)
    assert _closest_repeat(picks) >= 50  # none of the last 50 comes back
    assert len(set(picks)) == 64  # and the whole catalog takes its turn


def test_a_small_catalog_repeats_only_after_every_other_track(tmp_path):
    with _station(tmp_path, SIX_GENRES[:5]) as station:
        picks = _picks(station, 60)
    assert _closest_repeat(picks) == 4  # the window shrinks to the catalog size - 1


def test_the_window_is_a_setting(tmp_path):
    with _station(tmp_path, SIX_GENRES[:64], no_repeat_plays=10) as station:
        picks = _picks(station, 200)
    assert _closest_repeat(picks) >= 10


def test_a_single_playable_track_still_plays(tmp_path):
    with _station(tmp_path, SIX_GENRES[:1]) as station:
        assert set(_picks(station, 3)) == {station.search_tracks(limit=1)[1][0].track_id}


@pytest.mark.parametrize(
    "bad",
    [
        {"no_repeat_plays": -1},
        {"no_repeat_plays": "many"},
        {"no_repeat_plays": 10_001},
        {"encoder_idle_seconds": -1.0},
        {"encoder_idle_seconds": "soon"},
        {"burst_seconds": -0.5},
        {"burst_seconds": 31.0},
    ],
)
def test_bad_radio_settings_are_refused(tmp_path, bad):
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, **bad)
    assert next(iter(bad)) in str(caught.value)


def test_a_dislike_or_a_skip_chooses_the_rest_of_the_personal_queue_again(tmp_path):
    with _station(tmp_path, SIX_GENRES[:64]) as station:
        station.register_listener("ann", {"genres": ["jazz"]})
        provider = station.radio.personal("ann").program.provider
        first = provider.next_track()
        assert first is not None
        queued_ids = list(provider._queue)
        assert len(queued_ids) >= 3
        doomed = queued_ids[1]  # chosen before the listener said anything
        station.record_interaction("ann", doomed, "dislike")  # on any route: the web page
        assert list(provider._queue) == []  # chosen again at the next pick
        picks = [provider.next_track() for _ in range(len(queued_ids) + 5)]
        assert doomed not in {p.track_id for p in picks if p is not None}
        # a skip on the stream does the same; a like or a play keeps the queue
        provider.next_track()
        kept = list(provider._queue)
        station.record_interaction("ann", kept[0], "like")
        assert list(provider._queue) == kept
        station.record_interaction("ann", first.track_id, "skip")
        assert list(provider._queue) == []
