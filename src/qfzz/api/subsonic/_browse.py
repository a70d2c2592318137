"""Browsing by ID3 tags: artists, albums, songs, genres (and the folder view over them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import Response

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._answers import cached_answer, fingerprint
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._links import cover_urls
from qfzz.api.subsonic._registry import Result, method
from qfzz.api.subsonic._render import render
from qfzz.models import IGNORED_ARTICLES, artist_group_id

#: The most artists one ``qfzzArtistsPage`` answers.
MAX_PAGE = 1000


def _indexed(call: Call, stars: dict[str, float]) -> list[dict[str, Any]]:
    return [
        {
            "name": letter,
            "artist": [wire.dump(wire.artist(g, starred=stars.get(g.group_id))) for g in members],
        }
        for letter, members in call.station.library.artist_letters()
    ]


@method("qfzzArtistsPage")
def artists_page(call: Call) -> Result:
    """QFZZ's own: one letter of the artist index, a page at a time, and every letter
    with its count — what QFZZ's web page shows, without ``getArtists``' whole index
    (1.7 MB gzipped, 9.6 MB of JSON, at a million synthetic tracks). ``letter``
    (default: the first), ``offset``, ``size`` (default 300, at most 1000)."""
    letters = call.station.library.artist_letters()
    asked = call.get("letter")
    found = next((m for name, m in letters if name == asked), None)
    name, members = (asked, found) if found is not None else (letters or [("", [])])[0]
    offset = call.number("offset", 0, high=10**9)
    size = call.number("size", 300, low=1, high=MAX_PAGE)
    page = members[offset : offset + size]
    stars = call.station.library.stars(call.user.user_id, "artist", [g.group_id for g in page])
    return {
        "artistsPage": {
            "letter": name,
            "offset": offset,
            "total": len(members),
            "letters": [{"name": n, "artistCount": len(m)} for n, m in letters],
            "artist": [wire.dump(wire.artist(g, starred=stars.get(g.group_id))) for g in page],
        }
    }


def _whole_index(
    call: Call, method: str, answer: Callable[[dict[str, float]], dict[str, Any]]
) -> Result:
    """Every artist, rendered once per version of the library's groups and set of the
    caller's starred artists (``_answers``)."""
    stars = call.station.library.stars(call.user.user_id, "artist")
    fmt, callback = call.get("f") or "xml", call.get("callback")
    key = (method, fmt, callback, fingerprint(stars))

    def rendered() -> Response:
        return render(answer(stars), fmt, callback)

    return cached_answer(call.station, key, rendered, gzipped=call.accepts_gzip)


@method("getArtists")
def get_artists(call: Call) -> Result:
    return _whole_index(
        call,
        "getArtists",
        lambda stars: {
            "artists": {"ignoredArticles": IGNORED_ARTICLES, "index": _indexed(call, stars)}
        },
    )


@method("getIndexes")
def get_indexes(call: Call) -> Result:
    """``lastModified`` is when this index was built (it is kept until the groups change)."""
    return _whole_index(
        call,
        "getIndexes",
        lambda stars: {
            "indexes": {
                "lastModified": int(call.station.clock() * 1000),
                "ignoredArticles": IGNORED_ARTICLES,
                "index": _indexed(call, stars),
            }
        },
    )


@method("getArtist")
def get_artist(call: Call) -> Result:
    key = ids.parse_artist(call.required("id"))
    artist, albums = call.station.library.artist_albums(key)
    album_stars = call.station.library.stars(
        call.user.user_id, "album", [a.group_id for a in albums]
    )
    artist_stars = call.station.library.stars(call.user.user_id, "artist", [key])
    wires = [wire.album(a, starred=album_stars.get(a.group_id)) for a in albums]
    found = wire.artist(artist, starred=artist_stars.get(key), albums=wires)
    return {"artist": wire.dump(found)}


@method("getArtistInfo")
def get_artist_info(call: Call) -> Result:
    return {"artistInfo": _artist_info(call)}


@method("getArtistInfo2")
def get_artist_info2(call: Call) -> Result:
    return {"artistInfo2": _artist_info(call)}


def _artist_info(call: Call) -> dict[str, Any]:
    """Every field of the spec's ``artistInfo``: QFZZ has no biography or Last.fm page,
    so those are empty; the images are the artist's cover art, with the caller's
    credentials in the URL (image loaders send nothing else)."""
    value = call.required("id")
    key = ids.parse_artist(value)
    count = call.number("count", 20, low=0, high=500)
    library = call.station.library
    artist = library.artist(key)
    own = library.artist_tracks(key)
    genres = {t.meta.genre for t in own if t.meta.genre}
    similar = []
    if genres and count:
        others = {t.creator_id for g in genres for t in library.songs_by_genre(g, 500, 0)}
        similar = [
            wire.dump(wire.artist(a))
            for a in library.artists()
            if a.artist_key in others and a.artist_key != artist.artist_key
        ][:count]
    return {
        "biography": "",
        "musicBrainzId": "",
        "lastFmUrl": "",
        **cover_urls(call, value),
        "similarArtist": similar,
    }


@method("getAlbum")
def get_album(call: Call) -> Result:
    key = ids.parse_album(call.required("id"))
    group, tracks = call.station.library.album_tracks(key)
    notes = call.station.library.annotations(call.user.user_id, tracks)
    stars = call.station.library.stars(call.user.user_id, "album", [key])
    songs = [wire.song(t, notes, created=group.created) for t in tracks]
    return {"album": wire.dump(wire.album(group, starred=stars.get(key), tracks=songs))}


@method("getAlbumInfo", "getAlbumInfo2")
def get_album_info(call: Call) -> Result:
    """Every field of the spec's ``albumInfo`` (empty where QFZZ knows nothing)."""
    value = call.required("id")
    call.station.library.album(ids.parse_album(value))  # UnknownItem
    return {
        "albumInfo": {
            "notes": "",
            "musicBrainzId": "",
            "lastFmUrl": "",
            **cover_urls(call, value),
        }
    }


@method("getSong")
def get_song(call: Call) -> Result:
    track = call.station.track(ids.parse_track(call.required("id")))
    notes = call.station.library.annotations(call.user.user_id, [track])
    return {"song": wire.dump(wire.song(track, notes))}


@method("getGenres")
def get_genres(call: Call) -> Result:
    genres = [
        wire.dump(wire.Genre(value=g.name, songCount=g.song_count, albumCount=g.album_count))
        for g in call.station.library.genres()
    ]
    return {"genres": {"genre": genres}}


@method("getMusicDirectory")
def get_music_directory(call: Call) -> Result:
    """The folder view: an artist holds its albums, an album its songs."""
    value = call.required("id")
    library = call.station.library
    if ids.kind_of(value) == "artist":
        artist, albums = library.artist_albums(ids.parse_artist(value))
        children = [wire.dump(wire.album_child(group)) for group in albums]
        return {"directory": {"id": value, "name": artist.name, "child": children}}
    group, tracks = library.album_tracks(ids.parse_album(value))
    notes = library.annotations(call.user.user_id, tracks)
    songs = [wire.dump(s) for s in wire.songs(tracks, notes)]
    return {
        "directory": {
            "id": value,
            "parent": ids.artist_id(artist_group_id(group.artist_key)),
            "name": group.name or wire.UNKNOWN_ALBUM,
            "child": songs,
        }
    }
