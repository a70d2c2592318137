"""The DJ learns from everyone: the trainer fits the collaborative model from the whole
log in the background, and a listener's playlist follows what listeners like them play."""

from __future__ import annotations

from qfzz.settings import Settings
from qfzz.testing import FakeClock, synthetic_station, tracks_of_genre


def _station(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", demo_library=False, trust_min_voters=1000)
    return synthetic_station(settings, clock=FakeClock())


def test_listeners_who_like_x_also_play_this(tmp_path):
    with _station(tmp_path) as station:
        jazz, metal = tracks_of_genre(station, "jazz"), tracks_of_genre(station, "metal")
        anchor, companion = jazz[0], metal[0]
        # a scene: thirty listeners who love the anchor also play the companion, others
        # play other things
        for n in range(30):
            station.register_listener(f"fan{n}", {})
            station.record_interaction(f"fan{n}", anchor, "favorite")
            station.record_interaction(f"fan{n}", companion, "like")
            station.record_interaction(f"fan{n}", jazz[1 + n % 5], "play")
        for n in range(30):
            station.register_listener(f"other{n}", {})
            station.record_interaction(f"other{n}", jazz[6 + n % 5], "like")
            station.record_interaction(f"other{n}", metal[1 + n % 4], "like")
        station.register_listener("newcomer", {"genres": ["jazz"]})
        station.record_interaction("newcomer", anchor, "like")

        before = [i.track.track_id for i in station.generate_playlist("newcomer", size=10).items]
        assert station.parts.dj.collaborative.model is None  # nothing fitted yet
        trainer = station.parts.taste_model
        assert trainer.retrain() is not None
        assert station.parts.dj.collaborative.artist_model is not None  # fitted beside it
        assert trainer.retrain() is None  # nothing new since: no refit
        playlist = station.generate_playlist("newcomer", size=10)
        ids = [i.track.track_id for i in playlist.items]
        assert companion in ids and companion not in before  # metal, which they never named
        item = next(i for i in playlist.items if i.track.track_id == companion)
        shared = [r for r in item.reasons if r.startswith("listeners who like")]
        assert shared and "also play this" in shared[0]
        # their own feedback counts at once, without a refit: a dislike takes it out
        station.record_interaction("newcomer", companion, "dislike")
        again = [i.track.track_id for i in station.generate_playlist("newcomer", size=10).items]
        assert companion not in again


def test_no_model_until_enough_is_known(tmp_path):
    with _station(tmp_path) as station:
        station.register_listener("ann", {})
        station.record_interaction("ann", tracks_of_genre(station, "jazz")[0], "like")
        assert station.parts.taste_model.retrain() is None
        assert station.parts.dj.collaborative.model is None
