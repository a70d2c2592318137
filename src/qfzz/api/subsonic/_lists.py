"""Lists and searches: album lists, random songs, genres, search3, starred, similar, top."""

from __future__ import annotations

from typing import Any

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._registry import Result, method
from qfzz.errors import InvalidInput
from qfzz.models import AlbumGroup, Track, artist_group_id, track_artist_key
from qfzz.station import AlbumOrder

MAX_LIST = 500
#: ``getAlbumList``'s ``type`` values, in the protocol's order.
ALBUM_LIST_TYPES = {
    "random": AlbumOrder.RANDOM,
    "newest": AlbumOrder.NEWEST,
    "highest": AlbumOrder.HIGHEST_RATED,
    "frequent": AlbumOrder.MOST_PLAYED,
    "recent": AlbumOrder.RECENTLY_PLAYED,
    "alphabeticalByName": AlbumOrder.BY_NAME,
    "alphabeticalByArtist": AlbumOrder.BY_ARTIST,
    "starred": AlbumOrder.STARRED,
    "byYear": AlbumOrder.BY_YEAR,
    "byGenre": AlbumOrder.BY_GENRE,
}


def _album_order(kind: str) -> AlbumOrder:
    order = ALBUM_LIST_TYPES.get(kind)
    if order is None:
        raise InvalidInput(f"unknown album list type {kind!r}; use {', '.join(ALBUM_LIST_TYPES)}")
    return order


def _album_groups(call: Call) -> tuple[list[AlbumGroup], dict[str, float]]:
    library = call.station.library
    groups = library.album_list(
        call.user.user_id,
        _album_order(call.required("type")),
        size=call.number("size", 10, low=1, high=MAX_LIST),
        offset=call.number("offset", 0),
        from_year=call.optional_number("fromYear"),
        to_year=call.optional_number("toYear"),
        genre=call.get("genre"),
    )
    keys = [g.group_id for g in groups]
    return groups, call.station.library.stars(call.user.user_id, "album", keys)


@method("getAlbumList2")
def get_album_list2(call: Call) -> Result:
    groups, stars = _album_groups(call)
    albums = [wire.dump(wire.album(g, starred=stars.get(g.group_id))) for g in groups]
    return {"albumList2": {"album": albums}}


@method("getAlbumList")
def get_album_list(call: Call) -> Result:
    groups, stars = _album_groups(call)
    albums = [wire.dump(wire.album_child(g, starred=stars.get(g.group_id))) for g in groups]
    return {"albumList": {"album": albums}}


@method("getRandomSongs")
def get_random_songs(call: Call) -> Result:
    tracks = call.station.library.random_songs(
        call.number("size", 10, low=1, high=MAX_LIST),
        genre=call.get("genre"),
        from_year=call.optional_number("fromYear"),
        to_year=call.optional_number("toYear"),
    )
    notes = call.station.library.annotations(call.user.user_id, tracks)
    return {"randomSongs": {"song": [wire.dump(s) for s in wire.songs(tracks, notes)]}}


@method("getSongsByGenre")
def get_songs_by_genre(call: Call) -> Result:
    tracks = call.station.library.songs_by_genre(
        call.required("genre"),
        call.number("count", 10, low=1, high=MAX_LIST),
        call.number("offset", 0),
    )
    notes = call.station.library.annotations(call.user.user_id, tracks)
    return {"songsByGenre": {"song": [wire.dump(s) for s in wire.songs(tracks, notes)]}}


def _search(call: Call, *, id3: bool) -> dict[str, Any]:
    """An empty query (``""`` too, as some clients send) returns everything, paged.

    Artists, albums and songs each come from their full-text index, with the same
    semantics (every word, folded; ``store._search``), paged in SQL.

    ``search3`` answers albums in the ID3 shape, ``search2`` as folders (``Child``)."""
    query = (call.get("query") or "").strip()
    if query in ('""', "''"):
        query = ""
    needle = query.strip('"').casefold()
    artist_count = call.number("artistCount", 20, high=MAX_LIST)
    album_count = call.number("albumCount", 20, high=MAX_LIST)
    song_count = call.number("songCount", 20, high=MAX_LIST)
    library = call.station.library
    needle_or_none = needle or None
    artists = library.search_artists(
        needle_or_none, limit=artist_count, offset=call.number("artistOffset", 0)
    )
    albums = library.search_albums(
        needle_or_none, limit=album_count, offset=call.number("albumOffset", 0)
    )
    songs: list[Track] = []
    if song_count:
        songs = library.search_songs(
            needle_or_none, limit=song_count, offset=call.number("songOffset", 0)
        )
    notes = library.annotations(call.user.user_id, songs)
    shape = wire.album if id3 else wire.album_child
    return {
        "artist": [wire.dump(wire.artist(a)) for a in artists],
        "album": [wire.dump(shape(g)) for g in albums],
        "song": [wire.dump(s) for s in wire.songs(songs, notes)],
    }


@method("search3")
def search3(call: Call) -> Result:
    return {"searchResult3": _search(call, id3=True)}


@method("search2")
def search2(call: Call) -> Result:
    return {"searchResult2": _search(call, id3=False)}


def _starred(call: Call, *, id3: bool) -> dict[str, Any]:
    """``getStarred2`` answers albums in the ID3 shape, ``getStarred`` as folders."""
    starred = call.station.library.starred(call.user.user_id)
    notes = call.station.library.annotations(call.user.user_id, starred.songs)
    albums, artists = starred.at.get("album", {}), starred.at.get("artist", {})
    shape = wire.album if id3 else wire.album_child
    return {
        "artist": [wire.dump(wire.artist(a, starred=artists[a.group_id])) for a in starred.artists],
        "album": [wire.dump(shape(g, starred=albums[g.group_id])) for g in starred.albums],
        "song": [wire.dump(s) for s in wire.songs(starred.songs, notes)],
    }


@method("getStarred2")
def get_starred2(call: Call) -> Result:
    return {"starred2": _starred(call, id3=True)}


@method("getStarred")
def get_starred(call: Call) -> Result:
    return {"starred": _starred(call, id3=False)}


def _similar(call: Call) -> list[dict[str, Any]]:
    value = call.required("id")
    count = call.number("count", 50, low=1, high=MAX_LIST)
    library = call.station.library
    if ids.kind_of(value) == "artist":
        key = ids.parse_artist(value)
    elif ids.kind_of(value) == "album":
        key = artist_group_id(library.album(ids.parse_album(value)).artist_key)
    else:
        track = call.station.track(ids.parse_track(value))
        key = artist_group_id(track_artist_key(track))
    tracks = library.similar_songs(call.user.user_id, key, count)
    notes = library.annotations(call.user.user_id, tracks)
    return [wire.dump(s) for s in wire.songs(tracks, notes)]


@method("getSimilarSongs2")
def get_similar_songs2(call: Call) -> Result:
    return {"similarSongs2": {"song": _similar(call)}}


@method("getSimilarSongs")
def get_similar_songs(call: Call) -> Result:
    return {"similarSongs": {"song": _similar(call)}}


@method("getTopSongs")
def get_top_songs(call: Call) -> Result:
    tracks = call.station.library.top_songs(
        call.required("artist"), call.number("count", 50, low=1, high=MAX_LIST)
    )
    notes = call.station.library.annotations(call.user.user_id, tracks)
    return {"topSongs": {"song": [wire.dump(s) for s in wire.songs(tracks, notes)]}}
