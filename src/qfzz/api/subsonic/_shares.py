"""Shares: public links to songs, albums and playlists (``createShare``, ``getShares``,
``updateShare``, ``deleteShare``). Each share's ``url`` is ``/share/{id}``, a page that
plays in any browser without an account until the share expires (``api.routes.shares``).
"""

from __future__ import annotations

from typing import Any

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._errors import MissingParameter
from qfzz.api.subsonic._registry import Result, method
from qfzz.errors import InvalidInput
from qfzz.models import Share
from qfzz.station import MAX_SHARE_TRACKS

#: Latest expiry accepted, in milliseconds since 1970 (the year 9999).
MAX_EXPIRES_MS = 253_402_300_799_000


def share_url(base_url: str, share_id: str) -> str:
    return f"{base_url}/share/{share_id}"


def _share(call: Call, share: Share) -> dict[str, Any]:
    tracks = call.station.share_tracks(share)
    notes = call.station.library.annotations(call.user.user_id, tracks)
    return {
        "id": share.share_id,
        "url": share_url(call.base_url, share.share_id),
        "description": share.description,
        "username": share.user_id,
        "created": wire.iso(share.created_at),
        "expires": None if share.expires_at is None else wire.iso(share.expires_at),
        "lastVisited": None if share.last_visited is None else wire.iso(share.last_visited),
        "visitCount": share.visit_count,
        "entry": [wire.dump(s) for s in wire.songs(tracks, notes)],
    }


def _expires(call: Call) -> float | None:
    """``expires`` in ms since 1970 → seconds; absent or 0 → never."""
    value = call.number("expires", 0, high=MAX_EXPIRES_MS)
    return value / 1000 if value else None


@method("createShare")
def create_share(call: Call) -> Result:
    values = call.all("id")
    if not values:
        raise MissingParameter("id")
    if len(values) > MAX_SHARE_TRACKS:
        raise InvalidInput(f"a share holds at most {MAX_SHARE_TRACKS} items")
    songs: list[int] = []
    albums: list[str] = []
    playlists: list[int] = []
    for value in values:
        kind = ids.kind_of(value)  # SubsonicNotFound (70) for ids that name nothing
        if kind == "album":
            albums.append(ids.parse_album(value))
        elif kind == "playlist":
            number = ids.parse_playlist(value)
            if number is None:
                raise InvalidInput("the DJ playlist changes as you listen; share its songs")
            playlists.append(number)
        elif kind == "song":
            songs.append(ids.parse_track(value))
        else:
            raise InvalidInput(f"an artist cannot be shared; share an album or songs ({value})")
    share = call.station.create_share(
        call.user.user_id,
        songs=songs,
        albums=albums,
        playlists=playlists,
        description=call.get("description"),
        expires_at=_expires(call),
    )
    return {"shares": {"share": [_share(call, share)]}}


@method("getShares")
def get_shares(call: Call) -> Result:
    shares = call.station.collections.shares.of(call.user.user_id)
    return {"shares": {"share": [_share(call, s) for s in shares]}}


@method("updateShare")
def update_share(call: Call) -> Result:
    """``description`` and ``expires`` (0: never) change when given."""
    given = call.get("expires")
    expires = _expires(call)
    call.station.collections.shares.update(
        call.user.user_id,
        call.required("id"),
        description=call.get("description"),
        expires_at=expires,
        never_expires=given not in (None, "") and expires is None,
    )
    return {}


@method("deleteShare")
def delete_share(call: Call) -> Result:
    call.station.collections.shares.delete(call.user.user_id, call.required("id"))
    return {}
