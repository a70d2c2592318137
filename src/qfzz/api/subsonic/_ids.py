"""Subsonic ids: opaque strings with a prefix naming the kind of thing.

=================  ============================================================
``tr-<n>``         a track (song), ``n`` its catalog id
``al-<digest>``    an album: 16 hex digits of the (artist, album title) group key
``ar-<digest>``    an artist: 16 hex digits of the artist's creator id
``pl-<n>``         a listener's own playlist, ``n`` its store id
``pl-dj``          the listener's personal DJ playlist ("QFZZ for <user>", read-only)
``mf-1``           the one music folder (``getMusicFolders`` answers id 1)
=================  ============================================================

Digests are the groups' ``group_id`` (``qfzz.models.album_group_id``), stable across
restarts and rescans.
A plain integer is accepted as a track id too (some clients strip prefixes).
"""

from __future__ import annotations

from qfzz.api.subsonic._errors import SubsonicNotFound

TRACK = "tr-"
ALBUM = "al-"
ARTIST = "ar-"
PLAYLIST = "pl-"
DJ_PLAYLIST = "pl-dj"
MUSIC_FOLDER = 1
#: Ids are at most 18 decimal digits (below 2**63, what the store's columns hold).
MAX_DIGITS = 18


def track_id(track: int) -> str:
    return f"{TRACK}{track}"


def album_id(digest: str) -> str:
    return f"{ALBUM}{digest}"


def artist_id(digest: str) -> str:
    return f"{ARTIST}{digest}"


def playlist_id(number: int) -> str:
    return f"{PLAYLIST}{number}"


def kind_of(value: str) -> str:
    """``song``, ``album``, ``artist`` or ``playlist``; SubsonicNotFound for anything else."""
    if value.startswith(TRACK) or (value.isascii() and value.isdigit()):
        return "song"
    for prefix, kind in ((ALBUM, "album"), (ARTIST, "artist"), (PLAYLIST, "playlist")):
        if value.startswith(prefix) and len(value) > len(prefix):
            return kind
    raise SubsonicNotFound(f"no item with id {value!r}")


def parse_index(text: str) -> int | None:
    """A position in a list (``songIndexToRemove``), or None when it is not one."""
    return _number(text)


def _number(text: str) -> int | None:
    """A store id written in ASCII digits that fits 64 bits, else None."""
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS):
        return None
    return int(text)


def parse_track(value: str) -> int:
    number = _number(value.removeprefix(TRACK))
    if number is None:
        raise SubsonicNotFound(f"no song with id {value!r}")
    return number


def parse_album(value: str) -> str:
    if not value.startswith(ALBUM):
        raise SubsonicNotFound(f"no album with id {value!r}")
    return value.removeprefix(ALBUM)


def parse_artist(value: str) -> str:
    if not value.startswith(ARTIST):
        raise SubsonicNotFound(f"no artist with id {value!r}")
    return value.removeprefix(ARTIST)


def parse_playlist(value: str) -> int | None:
    """The store id of a listener playlist; ``None`` for the DJ playlist."""
    if value == DJ_PLAYLIST:
        return None
    number = _number(value.removeprefix(PLAYLIST))
    if number is None:
        raise SubsonicNotFound(f"no playlist with id {value!r}")
    return number
