"""Feedback from apps: scrobbles, stars, ratings and playback reports (the DJ learns)."""

from __future__ import annotations

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._errors import MissingParameter
from qfzz.api.subsonic._registry import Result, method
from qfzz.errors import InvalidInput
from qfzz.station import PlaybackState

#: ``reportPlayback``'s ``state`` values.
PLAYBACK_STATES = {
    "starting": PlaybackState.STARTING,
    "playing": PlaybackState.PLAYING,
    "paused": PlaybackState.PAUSED,
    "stopped": PlaybackState.STOPPED,
}


@method("scrobble")
def scrobble(call: Call) -> Result:
    """``submission=true`` (default) is a ``play``; ``false`` marks it now playing."""
    values = call.all("id")
    if not values:
        raise MissingParameter("id")
    submission = call.flag("submission", True)
    for value in values:
        call.station.collections.scrobble(
            call.user.user_id, ids.parse_track(value), played=submission, client=call.client
        )
    return {}


def _targets(call: Call) -> tuple[list[int], list[str], list[str]]:
    songs: list[int] = []
    albums = [ids.parse_album(v) for v in call.all("albumId")]
    artists = [ids.parse_artist(v) for v in call.all("artistId")]
    for value in call.all("id"):  # ``id`` may name any kind (older clients)
        kind = ids.kind_of(value)
        if kind == "album":
            albums.append(ids.parse_album(value))
        elif kind == "artist":
            artists.append(ids.parse_artist(value))
        else:
            songs.append(ids.parse_track(value))
    if not (songs or albums or artists):
        raise MissingParameter("id", "albumId", "artistId")
    return songs, albums, artists


@method("star")
def star(call: Call) -> Result:
    call.station.library.star(call.user.user_id, *_targets(call))
    return {}


@method("unstar")
def unstar(call: Call) -> Result:
    call.station.library.unstar(call.user.user_id, *_targets(call))
    return {}


@method("setRating")
def set_rating(call: Call) -> Result:
    """1–5 → a ``rate`` with r = (rating − 1) / 4; 0 removes the rating."""
    track_id = ids.parse_track(call.required("id"))
    rating = call.number("rating", low=0, high=5)
    call.station.library.set_rating(call.user.user_id, track_id, rating)
    return {}


@method("reportPlayback")
def report_playback(call: Call) -> Result:
    """OpenSubsonic playbackReport: a stop well before the end is a ``skip``."""
    media_type = call.get("mediaType") or "song"
    if media_type != "song":
        return {}
    state = PLAYBACK_STATES.get(call.required("state"))
    if state is None:
        raise InvalidInput("state must be starting, playing, paused or stopped")
    call.station.collections.report_playback(
        call.user.user_id,
        ids.parse_track(call.required("mediaId")),
        state=state,
        position_ms=call.number("positionMs", 0),
        client=call.client,
    )
    return {}
