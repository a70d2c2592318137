"""Lyrics: ``getLyrics`` (by artist and title) and ``getLyricsBySongId`` (OpenSubsonic
``songLyrics``: every set of lyrics of one song, synced ones with each line's start)."""

from __future__ import annotations

from typing import Any

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._registry import Result, method
from qfzz.catalog.lyrics import Lyrics
from qfzz.models import Track

#: Longest artist or title looked up (longer ones match nothing the store holds).
MAX_QUERY = 500


def _structured(track: Track, lyrics: Lyrics) -> dict[str, Any]:
    lines: list[dict[str, Any]] = [
        {"value": line.text}
        if line.start_ms is None
        else {"start": line.start_ms, "value": line.text}
        for line in lyrics.lines
    ]
    return {
        "displayArtist": lyrics.artist or track.meta.artist,
        "displayTitle": lyrics.title or track.meta.title,
        "lang": lyrics.lang,
        "offset": lyrics.offset_ms,
        "synced": lyrics.synced,
        "line": lines,
    }


@method("getLyricsBySongId")
def get_lyrics_by_song_id(call: Call) -> Result:
    track = call.station.track(ids.parse_track(call.required("id")))  # UnknownTrack: 70
    found = call.station.library.lyrics(track)
    return {"lyricsList": {"structuredLyrics": [_structured(track, f) for f in found]}}


@method("getLyrics")
def get_lyrics(call: Call) -> Result:
    """The plain text of the first lyrics found (an empty ``value`` when none are)."""
    artist = (call.get("artist") or "")[:MAX_QUERY]
    title = (call.get("title") or "")[:MAX_QUERY]
    found = call.station.library.lyrics_for(artist, title)
    if found is None:
        return {"lyrics": {"value": ""}}
    track, lyrics = found
    return {
        "lyrics": {"artist": track.meta.artist, "title": track.meta.title, "value": lyrics.text}
    }
