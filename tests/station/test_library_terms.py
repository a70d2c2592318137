"""The station's library speaks QFZZ's terms: orders and states are enums, errors typed.

A frontend tells a missing value or an unknown album from any other error by its type and
its typed fields, never by the message (the Subsonic API renames the fields it reports).
"""

from __future__ import annotations

import pytest

from qfzz.errors import InvalidInput, MissingField, NotFound, UnknownItem
from qfzz.models import album_group_id, artist_group_id, track_album_key, track_artist_key
from qfzz.station import AlbumOrder


def test_album_lists_needing_a_value_name_the_missing_fields(station):
    library = station.library
    with pytest.raises(MissingField) as by_year:
        library.album_list("ann", AlbumOrder.BY_YEAR, from_year=2000)
    assert by_year.value.fields == ("from_year", "to_year")
    assert isinstance(by_year.value, InvalidInput)
    with pytest.raises(MissingField) as by_genre:
        library.album_list("ann", AlbumOrder.BY_GENRE, genre="")
    assert by_genre.value.fields == ("genre",)
    jazz = library.album_list("ann", AlbumOrder.BY_GENRE, genre=" JAZZ ", size=500)
    assert jazz and {g.genre for g in jazz} == {"jazz"}


def test_every_order_answers_a_page(station):
    library = station.library
    every = library.album_list("ann", AlbumOrder.BY_NAME, size=500)
    assert len(every) == len(library.albums())
    for order in AlbumOrder:
        page = library.album_list(
            "ann", order, size=3, offset=1, from_year=0, to_year=3000, genre="rock"
        )
        assert len(page) <= 3 and all(g in every for g in page)


def test_unknown_groups_and_playlists_are_typed_not_found(station):
    library = station.library
    for lookup in (
        lambda: library.album("0" * 16),
        lambda: library.artist("0" * 16),
        lambda: station.collections.playlist("ann", 10**9),
    ):
        with pytest.raises(UnknownItem) as found:
            lookup()
        assert isinstance(found.value, NotFound)


def test_group_ids_derived_from_a_track_name_its_groups(station):
    library = station.library
    albums = {g.group_id: g for g in library.albums()}
    artists = {g.group_id: g for g in library.artists()}
    _, tracks = station.search_tracks(limit=100)
    assert tracks
    for track in tracks:
        album = albums[album_group_id(track_artist_key(track), track_album_key(track))]
        artist = artists[artist_group_id(track_artist_key(track))]
        assert library.album(album.group_id) == album
        assert library.artist(artist.group_id) == artist
        assert album.artist_key == artist.artist_key
