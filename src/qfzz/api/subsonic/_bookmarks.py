"""Bookmarks: a listener's saved position in a song (``createBookmark``, ``getBookmarks``,
``deleteBookmark``)."""

from __future__ import annotations

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._registry import Result, method

MAX_POSITION_MS = 10**12


@method("createBookmark")
def create_bookmark(call: Call) -> Result:
    call.station.collections.save_bookmark(
        call.user.user_id,
        ids.parse_track(call.required("id")),
        call.number("position", high=MAX_POSITION_MS),
        call.get("comment"),
    )
    return {}


@method("getBookmarks")
def get_bookmarks(call: Call) -> Result:
    user = call.user.user_id
    marks = call.station.collections.bookmarks(user)
    notes = call.station.library.annotations(user, [track for _, track in marks])
    return {
        "bookmarks": {
            "bookmark": [
                {
                    "position": mark.position_ms,
                    "username": mark.user_id,
                    "comment": mark.comment,
                    "created": wire.iso(mark.created_at),
                    "changed": wire.iso(mark.changed_at),
                    "entry": wire.dump(wire.song(track, notes)),
                }
                for mark, track in marks
            ]
        }
    }


@method("deleteBookmark")
def delete_bookmark(call: Call) -> Result:
    call.station.collections.delete_bookmark(
        call.user.user_id, ids.parse_track(call.required("id"))
    )
    return {}
