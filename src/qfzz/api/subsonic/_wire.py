"""Wire types: what Subsonic clients receive, kept apart from QFZZ's models.

Frozen pydantic models with ``extra="forbid"``; field names are the protocol's. Required
fields follow py-opensonic's strict models (a song needs ``id``, ``isDir``, ``title``;
an album ``id``, ``name``, ``songCount``, ``duration``, ``created``). ``dump`` turns a
model into the plain dict the renderer writes as XML or JSON (``None`` fields dropped).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ConfigDict

from qfzz.api.subsonic import _ids as ids
from qfzz.models import (
    AlbumGroup,
    ArtistGroup,
    Track,
    album_group_id,
    artist_group_id,
    track_album_key,
    track_artist_key,
)
from qfzz.station import Annotations

UNKNOWN_ALBUM = "[Unknown Album]"
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
}


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Song(Wire):
    id: str
    parent: str | None = None
    isDir: bool = False
    title: str
    album: str | None = None
    artist: str | None = None
    year: int | None = None
    genre: str | None = None
    coverArt: str | None = None
    size: int | None = None
    contentType: str | None = None
    suffix: str | None = None
    duration: int | None = None
    bitRate: int | None = None
    path: str | None = None
    playCount: int | None = None
    created: str | None = None
    starred: str | None = None
    userRating: int | None = None
    albumId: str | None = None
    artistId: str | None = None
    type: str = "music"
    mediaType: str = "song"
    isVideo: bool = False
    musicBrainzId: str | None = None


class Album(Wire):
    id: str
    name: str
    artist: str | None = None
    artistId: str | None = None
    coverArt: str | None = None
    songCount: int
    duration: int
    created: str
    year: int | None = None
    genre: str | None = None
    starred: str | None = None
    song: list[Song] | None = None


class AlbumChild(Wire):
    """An album as a folder (``Child`` with ``isDir``): the shape of ``search2``,
    ``getStarred``, ``getAlbumList`` and ``getMusicDirectory``'s albums."""

    id: str
    parent: str
    isDir: bool = True
    title: str
    name: str
    album: str
    artist: str | None = None
    year: int | None = None
    genre: str | None = None
    coverArt: str | None = None
    duration: int | None = None
    songCount: int | None = None
    created: str | None = None
    starred: str | None = None
    albumId: str | None = None
    artistId: str | None = None
    mediaType: str = "album"


class Artist(Wire):
    id: str
    name: str
    coverArt: str | None = None
    albumCount: int
    starred: str | None = None
    album: list[Album] | None = None


class Genre(Wire):
    value: str
    songCount: int
    albumCount: int


class Playlist(Wire):
    id: str
    name: str
    comment: str | None = None
    owner: str
    public: bool
    readonly: bool | None = None
    songCount: int
    duration: int
    created: str
    changed: str
    coverArt: str | None = None
    entry: list[Song] | None = None


def dump(model: Wire) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


def iso(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def suffix_of(track: Track) -> str | None:
    if track.meta.format:
        return track.meta.format.lower()
    return PurePath(track.path).suffix.lstrip(".").lower() or None if track.path else None


def content_type(suffix: str | None) -> str:
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed = mimetypes.guess_type(f"x.{suffix}")[0] if suffix else None
    return guessed if guessed and guessed.startswith("audio/") else "application/octet-stream"


def track_album_id(track: Track) -> str:
    return ids.album_id(album_group_id(track_artist_key(track), track_album_key(track)))


def song(track: Track, notes: Annotations | None = None, *, created: float = 0.0) -> Song:
    meta = track.meta
    suffix = suffix_of(track)
    album = track_album_id(track)
    return Song(
        id=ids.track_id(track.track_id),
        parent=album,
        title=meta.title,
        album=meta.album or UNKNOWN_ALBUM,
        artist=meta.artist,
        year=meta.year,
        genre=meta.genre,
        coverArt=album,
        contentType=content_type(suffix) if track.path else None,
        suffix=suffix,
        duration=None if meta.duration is None else round(meta.duration),
        bitRate=meta.bitrate,
        path=PurePath(track.path).name if track.path else None,
        playCount=None if notes is None else notes.plays.get(track.track_id, 0),
        created=iso(created) if created else None,
        starred=_when(notes.starred.get(track.track_id)) if notes else None,
        userRating=notes.ratings.get(track.track_id) if notes else None,
        albumId=album,
        artistId=ids.artist_id(artist_group_id(track_artist_key(track))),
        musicBrainzId=meta.musicbrainz_id,
    )


def songs(tracks: Sequence[Track], notes: Annotations | None = None) -> list[Song]:
    return [song(t, notes) for t in tracks]


def album(
    group: AlbumGroup, *, starred: float | None = None, tracks: list[Song] | None = None
) -> Album:
    key = ids.album_id(group.group_id)
    return Album(
        id=key,
        name=group.name or UNKNOWN_ALBUM,
        artist=group.artist,
        artistId=ids.artist_id(artist_group_id(group.artist_key)),
        coverArt=key,
        songCount=group.song_count,
        duration=round(group.duration),
        created=iso(group.created),
        year=group.year,
        genre=group.genre,
        starred=_when(starred),
        song=tracks,
    )


def album_child(group: AlbumGroup, *, starred: float | None = None) -> AlbumChild:
    key = ids.album_id(group.group_id)
    name = group.name or UNKNOWN_ALBUM
    parent = ids.artist_id(artist_group_id(group.artist_key))
    return AlbumChild(
        id=key,
        parent=parent,
        title=name,
        name=name,
        album=name,
        artist=group.artist,
        year=group.year,
        genre=group.genre,
        coverArt=key,
        duration=round(group.duration),
        songCount=group.song_count,
        created=iso(group.created),
        starred=_when(starred),
        albumId=key,
        artistId=parent,
    )


def artist(
    group: ArtistGroup, *, starred: float | None = None, albums: list[Album] | None = None
) -> Artist:
    key = ids.artist_id(group.group_id)
    return Artist(
        id=key,
        name=group.name,
        coverArt=key,
        albumCount=group.album_count,
        starred=_when(starred),
        album=albums,
    )


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else iso(seconds)
