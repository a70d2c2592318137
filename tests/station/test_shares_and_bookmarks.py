"""Shares and bookmarks through the station facade: ownership, expiry, bounds."""

from __future__ import annotations

import pytest

from qfzz.errors import InvalidInput, UnknownItem, UnknownTrack
from qfzz.station import ShareExpired


@pytest.fixture
def ann(station) -> str:
    station.register_listener("ann", {}, password="pw-1234")
    station.register_listener("bob", {}, password="pw-5678")
    return "ann"


def _songs(station, n: int) -> list[int]:
    return [t.track_id for t in station.library.search_songs(None, limit=n, offset=0)]


def test_a_share_is_public_until_it_expires_and_only_its_owner_changes_it(station, clock, ann):
    songs = _songs(station, 3)
    share = station.create_share(ann, songs=songs, expires_at=clock() + 60)
    assert [t.track_id for t in station.share_tracks(share)] == songs
    shares = station.collections.shares
    assert shares.public(share.share_id, visit=True).visit_count == 0
    assert shares.public(share.share_id).visit_count == 1
    with pytest.raises(UnknownItem):
        shares.delete("bob", share.share_id)  # someone else's share is unknown to bob
    with pytest.raises(UnknownItem):
        shares.public("guess")
    clock.advance(60)
    with pytest.raises(ShareExpired):
        shares.public(share.share_id)
    shares.update(ann, share.share_id, never_expires=True)  # the owner may revive it
    assert shares.public(share.share_id).expires_at is None
    shares.delete(ann, share.share_id)
    assert shares.of(ann) == []


def test_bad_shares_and_bookmarks_store_nothing(station, clock, ann):
    song = _songs(station, 1)[0]
    with pytest.raises(UnknownTrack):
        station.create_share(ann, songs=[song, 10**9])
    with pytest.raises(UnknownItem):
        station.create_share(ann, albums=["0" * 16])
    with pytest.raises(InvalidInput, match="past"):
        station.create_share(ann, songs=[song], expires_at=clock() - 1)
    with pytest.raises(InvalidInput, match="control"):
        station.create_share(ann, songs=[song], description="a\x00b")
    with pytest.raises(InvalidInput, match="at least one"):
        station.create_share(ann)
    assert station.collections.shares.of(ann) == []
    with pytest.raises(UnknownTrack):
        station.collections.save_bookmark(ann, 10**9, 5, None)
    with pytest.raises(InvalidInput):
        station.collections.save_bookmark(ann, song, -1, None)
    with pytest.raises(UnknownItem):
        station.collections.delete_bookmark(ann, song)
    assert station.collections.bookmarks(ann) == []


def test_unplayable_songs_leave_every_list(station, ann):
    songs = _songs(station, 4)
    station.mark_unplayable(songs[0], "file gone")
    assert songs[0] not in {
        t.track_id for t in station.library.search_songs(None, limit=500, offset=0)
    }
    station.collections.save_play_queue_at(ann, songs, 0, 10, "app")
    queue, served, index = station.collections.play_queue(ann)
    assert queue.track_ids == songs  # the store keeps what was saved
    assert [t.track_id for t in served] == songs[1:] and index is None
    station.collections.save_play_queue_at(ann, songs, 2, 10, "app")
    assert station.collections.play_queue(ann)[2] == 1  # its place among what is served
