"""Playlists (the listener's own, plus the read-only DJ playlist) and the play queue."""

from __future__ import annotations

from typing import Any

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._errors import MissingParameter
from qfzz.api.subsonic._registry import Result, method
from qfzz.errors import Forbidden
from qfzz.models import Track, UserPlaylist


def _summary(playlist: UserPlaylist, tracks: list[Track]) -> wire.Playlist:
    return wire.Playlist(
        id=ids.playlist_id(playlist.playlist_id),
        name=playlist.name,
        comment=playlist.comment,
        owner=playlist.user_id,
        public=playlist.public,
        songCount=len(tracks),
        duration=round(sum(t.meta.duration or 0.0 for t in tracks)),
        created=wire.iso(playlist.created_at),
        changed=wire.iso(playlist.changed_at),
    )


def _dj(call: Call, tracks: list[Track], generated_at: float) -> wire.Playlist:
    return wire.Playlist(
        id=ids.DJ_PLAYLIST,
        name=f"QFZZ for {call.user.user_id}",
        comment="Your personal DJ playlist; it changes as you listen.",
        owner=call.user.user_id,
        public=False,
        readonly=True,
        songCount=len(tracks),
        duration=round(sum(t.meta.duration or 0.0 for t in tracks)),
        created=wire.iso(generated_at),
        changed=wire.iso(generated_at),
    )


@method("getPlaylists")
def get_playlists(call: Call) -> Result:
    user = call.user.user_id
    username = call.get("username")
    if username and username != user:
        call.user.require_admin()
    collections = call.station.collections
    generated_at, dj_tracks = collections.dj_playlist(user)
    out: list[dict[str, Any]] = [wire.dump(_dj(call, dj_tracks, generated_at))]
    for playlist in collections.playlists(user):
        out.append(wire.dump(_summary(playlist, collections.tracks(playlist.track_ids))))
    return {"playlists": {"playlist": out}}


def _playlist(call: Call, value: str) -> dict[str, Any]:
    library = call.station.library
    collections = call.station.collections
    number = ids.parse_playlist(value)
    if number is None:
        generated_at, tracks = collections.dj_playlist(call.user.user_id)
        found = _dj(call, tracks, generated_at)
    else:
        playlist = collections.playlist(call.user.user_id, number)
        tracks = collections.tracks(playlist.track_ids)
        found = _summary(playlist, tracks)
    notes = library.annotations(call.user.user_id, tracks)
    return wire.dump(found.model_copy(update={"entry": wire.songs(tracks, notes)}))


@method("getPlaylist")
def get_playlist(call: Call) -> Result:
    return {"playlist": _playlist(call, call.required("id"))}


def _writable(value: str) -> int:
    number = ids.parse_playlist(value)
    if number is None:
        raise Forbidden("the DJ playlist is read-only")
    return number


@method("createPlaylist")
def create_playlist(call: Call) -> Result:
    """With ``name``: a new playlist; with ``playlistId``: replace that one's songs."""
    songs = [ids.parse_track(v) for v in call.all("songId")]
    collections = call.station.collections
    existing = call.get("playlistId")
    if existing:
        number = _writable(existing)
        collections.update_playlist(call.user.user_id, number, name=call.get("name"), replace=songs)
    else:
        name = call.get("name")
        if not name:
            raise MissingParameter("name", "playlistId")
        number = collections.create_playlist(call.user.user_id, name, songs)
    return {"playlist": _playlist(call, ids.playlist_id(number))}


@method("updatePlaylist")
def update_playlist(call: Call) -> Result:
    number = _writable(call.required("playlistId"))
    public = call.get("public")
    call.station.collections.update_playlist(
        call.user.user_id,
        number,
        name=call.get("name"),
        comment=call.get("comment"),
        public=None if public is None else call.flag("public", False),
        add=[ids.parse_track(v) for v in call.all("songIdToAdd")],
        remove_indexes=[
            index
            for v in call.all("songIndexToRemove")
            if (index := ids.parse_index(v)) is not None
        ],
    )
    return {}


@method("deletePlaylist")
def delete_playlist(call: Call) -> Result:
    call.station.collections.delete_playlist(call.user.user_id, _writable(call.required("id")))
    return {}


@method("savePlayQueue")
def save_play_queue(call: Call) -> Result:
    songs = [ids.parse_track(v) for v in call.all("id")]
    current = call.get("current")
    call.station.collections.save_play_queue(
        call.user.user_id,
        songs,
        None if not current else ids.parse_track(current),
        call.number("position", 0),
        call.client,
    )
    return {}


@method("savePlayQueueByIndex")
def save_play_queue_by_index(call: Call) -> Result:
    """OpenSubsonic ``indexBasedQueue``: the playing entry by its place (songs may repeat);
    no ``id`` clears the saved queue."""
    songs = [ids.parse_track(v) for v in call.all("id")]
    call.station.collections.save_play_queue_at(
        call.user.user_id,
        songs,
        call.optional_number("currentIndex"),
        call.number("position", 0),
        call.client,
    )
    return {}


def _queue(call: Call) -> dict[str, Any] | None:
    found = call.station.collections.play_queue(call.user.user_id)
    if found is None:
        return None
    queue, tracks, index = found
    notes = call.station.library.annotations(call.user.user_id, tracks)
    body: dict[str, Any] = {
        "position": queue.position_ms,
        "username": queue.user_id,
        "changed": wire.iso(queue.changed_at),
        "changedBy": queue.changed_by,
        "entry": [wire.dump(s) for s in wire.songs(tracks, notes)],
    }
    if index is not None:
        body["current"] = ids.track_id(tracks[index].track_id)
        body["currentIndex"] = index
    return body


@method("getPlayQueue")
def get_play_queue(call: Call) -> Result:
    body = _queue(call)
    if body is None:
        return {}
    body.pop("currentIndex", None)
    return {"playQueue": body}


@method("getPlayQueueByIndex")
def get_play_queue_by_index(call: Call) -> Result:
    body = _queue(call)
    if body is None:  # nothing saved: an empty queue (strict clients need these fields)
        now = wire.iso(call.station.clock())
        body = {"username": call.user.user_id, "changed": now, "changedBy": "", "entry": []}
    body.pop("current", None)
    return {"playQueueByIndex": body}
