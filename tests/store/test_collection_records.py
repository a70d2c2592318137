"""Bookmarks, shares, the play queue's index, and playable-only library queries, on SQLite
and PostgreSQL."""

from __future__ import annotations

from qfzz.models import PlayQueue, Share
from qfzz.store import ListenerRecord
from qfzz.testing import SyntheticTrack, add_synthetic_tracks

TRACKS = [
    SyntheticTrack("Blue in Green", "Miles", "jazz"),
    SyntheticTrack("So What", "Miles", "jazz"),
    SyntheticTrack("Paranoid", "Sabbath", "metal"),
]


def _listener(store, user_id="ann"):
    store.listeners.create(
        ListenerRecord(user_id, {}, 0.2, 0.5, "varied", 1.0),
        password_hash="x",
        token_digest=user_id[0] * 64,
        weights={},
    )


def test_bookmarks_are_one_per_song_and_listener(store):
    ids = add_synthetic_tracks(store, TRACKS)
    _listener(store)
    _listener(store, "bob")
    store.bookmarks.save("ann", ids[0], 100, "intro", now=1.0)
    store.bookmarks.save("ann", ids[1], 5, None, now=2.0)
    store.bookmarks.save("ann", ids[0], 900, "later", now=3.0)
    marks = store.bookmarks.for_listener("ann")
    assert [(b.track_id, b.position_ms, b.comment) for b in marks] == [
        (ids[0], 900, "later"),
        (ids[1], 5, None),
    ]
    assert (marks[0].created_at, marks[0].changed_at) == (1.0, 3.0)
    assert store.bookmarks.for_listener("bob") == []
    assert store.bookmarks.delete("ann", ids[1]) is True
    assert store.bookmarks.delete("ann", ids[1]) is False


def test_shares_round_trip_update_visit_and_delete(store):
    ids = add_synthetic_tracks(store, TRACKS)
    _listener(store)
    share = Share("s3cret-id", "ann", "for you", [ids[2], ids[0]], 10.0, 99.0, None, 0)
    store.shares.add(share)
    assert store.shares.get("s3cret-id") == share
    store.shares.visited("s3cret-id", now=20.0)
    store.shares.update("s3cret-id", description="renamed")
    found = store.shares.get("s3cret-id")
    assert (found.visit_count, found.last_visited, found.description) == (1, 20.0, "renamed")
    assert found.expires_at == 99.0 and found.track_ids == [ids[2], ids[0]]
    store.shares.update("s3cret-id", never_expires=True)
    assert store.shares.get("s3cret-id").expires_at is None
    assert [s.share_id for s in store.shares.for_listener("ann")] == ["s3cret-id"]
    store.shares.delete("s3cret-id")
    assert store.shares.get("s3cret-id") is None


def test_play_queue_keeps_its_current_index(store):
    ids = add_synthetic_tracks(store, TRACKS)
    _listener(store)
    queue = PlayQueue("ann", [ids[0], ids[1], ids[0]], ids[0], 500, 1.0, "app", 2)
    store.collections.save_play_queue(queue)
    assert store.collections.play_queue("ann") == queue
    store.collections.clear_play_queue("ann")
    assert store.collections.play_queue("ann") is None


def test_library_lists_playable_songs_only(store):
    ids = add_synthetic_tracks(store, TRACKS)
    store.tracks.set_playable(ids[2], False)  # Sabbath's only song: no audio any more
    assert {a.name for a in store.library.artists()} == {"Miles"}
    assert [g.song_count for g in store.library.albums()] == [2]
    assert {g.name for g in store.library.genres()} == {"jazz"}
    assert store.library.search(None, limit=10, offset=0) == store.library.search(
        "", limit=10, offset=0
    )
    assert [t.track_id for t in store.library.search(None, limit=1, offset=1)] == [ids[1]]
    assert store.library.search("paranoid", limit=10, offset=0) == []
    assert store.library.search("100%_", limit=10, offset=0) == []
    assert len(store.library.random_tracks(10)) == 2
    assert store.library.playable(ids) == {ids[0], ids[1]}


def test_stars_are_read_by_kind_and_only_among_the_keys_asked_for(store):
    _listener(store)
    _listener(store, "bob")
    store.collections.star("ann", "album", ["al1", "al2", "al3"], now=1.0)
    store.collections.star("ann", "song", ["al1"], now=2.0)  # same key, other kind
    store.collections.star("bob", "album", ["al4"], now=3.0)
    assert store.collections.stars("ann", "album") == {"al1": 1.0, "al2": 1.0, "al3": 1.0}
    assert store.collections.stars("ann", "album", ["al3", "al4", "al3"]) == {"al3": 1.0}
    assert store.collections.stars("ann", "song", ["al1", "al2"]) == {"al1": 2.0}
    assert store.collections.stars("ann", "album", []) == {}
    assert store.collections.stars("bob", "artist") == {}
