"""A playlist computed before a feedback is never served after that feedback is acknowledged.

The playlist is cache-aside: a generation that read the profile before a feedback may
store its result after the feedback invalidated the cache. These tests pause the DJ at
exactly that point (events, no sleeps), on the embedded cache and on Redis.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.errors import StoreError
from qfzz.station import QFZZStation


@pytest.fixture
def station(cached_station):
    cached_station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
    return cached_station


class PausedDJ:
    """Wraps ``dj.recommend``: a call from another thread computes its picks from the
    profile as it is, then waits until the test lets it return."""

    def __init__(self, station: QFZZStation) -> None:
        self._recommend = station.parts.dj.recommend
        self._main = threading.get_ident()
        self.computed = threading.Event()
        self.resume = threading.Event()
        station.parts.dj.recommend = self  # type: ignore[method-assign]

    def __call__(self, *args, **kwargs):
        picks = self._recommend(*args, **kwargs)
        if threading.get_ident() != self._main:
            self.computed.set()
            assert self.resume.wait(30), "the test never resumed the DJ"
        return picks


def _ids(playlist):
    return [item.track.track_id for item in playlist.items]


def _in_thread(call):
    done: Future = Future()

    def run():
        try:
            done.set_result(call())
        except BaseException as exc:  # handed to the test
            done.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return done


def test_a_playlist_computed_before_a_feedback_is_never_served_after_it(station, clock):
    disliked = _ids(station.generate_playlist("ann"))[0]  # not cached: just to know it
    dj = PausedDJ(station)
    slow = _in_thread(lambda: station.playlist("ann"))  # a cache miss: the DJ runs
    assert dj.computed.wait(30)
    clock.advance(1)
    station.record_interaction("ann", disliked, "dislike")  # acknowledged here
    clock.advance(1)
    dj.resume.set()
    stale = slow.result(30)  # stored in the cache after the feedback's invalidation
    assert disliked in _ids(stale) and stale.generated_at == clock() - 2
    assert station.cached_playlist("ann") is None  # the fast path has nothing current
    fresh = station.playlist("ann")
    for playlist in (fresh, station.cached_playlist("ann"), station.playlist("ann", 5)):
        assert playlist is not None
        assert playlist.generated_at == clock()  # made after the feedback
        assert disliked not in _ids(playlist)
    assert station.playlist("ann") == fresh  # and cached from then on


def test_the_api_never_answers_with_a_playlist_from_before_an_acknowledged_feedback(station, clock):
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        client.headers["Authorization"] = f"Bearer {station.accounts.issue_token('ann')}"
        url = "/api/v1/listeners/ann/playlist"
        disliked = client.get(url).json()["tracks"][0]["track_id"]
        station.parts.caches.playlists.clear()
        dj = PausedDJ(station)
        slow = _in_thread(lambda: station.playlist("ann"))
        assert dj.computed.wait(30)
        answer = client.post(
            "/api/v1/listeners/ann/interactions", json={"track_id": disliked, "type": "dislike"}
        )
        assert answer.status_code == 201, answer.text
        dj.resume.set()
        assert disliked in _ids(slow.result(30))
        for _ in range(3):  # the event-loop fast path, then the rendered JSON it keeps
            tracks = client.get(url).json()["tracks"]
            assert disliked not in [t["track_id"] for t in tracks]


def test_a_playlist_learned_from_a_feedback_that_was_never_stored_is_not_served(
    station, clock, monkeypatch
):
    """Memory runs ahead of the store: a failed commit reloads the profile with the same
    count of interactions it had before, which the next feedback raises again. A playlist
    computed meanwhile must not pass for one made after that next feedback."""
    first, second = _ids(station.generate_playlist("ann"))[:2]
    interactions = station.parts.store.interactions
    real_submit = interactions.submit
    commit: Future = Future()
    queued = threading.Event()

    def failing_later(batch, *, key=None):
        queued.set()
        return commit

    monkeypatch.setattr(interactions, "submit", failing_later)
    lost = _in_thread(lambda: station.record_interaction("ann", first, "dislike"))
    assert queued.wait(30)
    dj = PausedDJ(station)
    ahead = _in_thread(lambda: station.playlist("ann"))  # learns from the unstored dislike
    assert dj.computed.wait(30)
    commit.set_exception(OSError("disk gone"))
    with pytest.raises(StoreError):
        lost.result(30)
    monkeypatch.setattr(interactions, "submit", real_submit)
    clock.advance(1)
    station.record_interaction("ann", second, "dislike")  # stored: the same count again
    dj.resume.set()
    assert first not in _ids(ahead.result(30))
    assert station.cached_playlist("ann") is None
    for playlist in (station.playlist("ann"), station.cached_playlist("ann")):
        assert playlist is not None and playlist.generated_at == clock()
        assert second not in _ids(playlist) and first in _ids(playlist)
