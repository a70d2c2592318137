"""Audio and images: ``stream`` (raw or transcoded), ``download``, ``getCoverArt``.

Audio answers are audio (``audio/*`` or ``application/octet-stream``), never JSON or
HTML: py-sonic treats a JSON or HTML answer to ``stream`` as an error document.
Transcoding (MP3 or Opus from ``timeOffset``, at most ``qfzz.audio.MAX_TRANSCODES`` at
once) is ``qfzz.audio.transcode_stream``; here the request is parsed and the bitrate
clamped to what players may ask for.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from fastapi.responses import FileResponse, Response, StreamingResponse

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._cover import DEFAULT_SIZE, cover
from qfzz.api.subsonic._errors import SubsonicNotFound
from qfzz.api.subsonic._registry import Result, method
from qfzz.audio import CONTENT_TYPES, Codec, transcode_stream
from qfzz.catalog.artwork import Artwork
from qfzz.edge import OPUS_MAX_KBPS
from qfzz.errors import UnknownItem
from qfzz.models import Track

MIN_KBPS, MAX_KBPS, DEFAULT_KBPS = 32, 320, 128


def _file(track: Track) -> Path:
    if not track.path or not track.playable or not Path(track.path).is_file():
        raise SubsonicNotFound(f"song {ids.track_id(track.track_id)} has no audio file")
    return Path(track.path)


def raw(track: Track) -> Response:
    path = _file(track)
    return FileResponse(
        path, media_type=wire.content_type(wire.suffix_of(track)), filename=path.name
    )


def transcode(track: Track, codec: Codec, kbps: int, offset: float) -> Response:
    path = _file(track)
    if codec == "opus":
        kbps = min(kbps, OPUS_MAX_KBPS)
    kbps = max(MIN_KBPS, min(MAX_KBPS, kbps))
    # A bad codec or bitrate fails here (code 0), not halfway through the response.
    audio = transcode_stream(path, codec, kbps, start_seconds=offset)
    return StreamingResponse(
        audio,
        media_type=CONTENT_TYPES[codec],
        headers={"X-Content-Duration": str(max(0.0, (track.meta.duration or 0.0) - offset))},
    )


def choose(track: Track, fmt: str | None, max_kbps: int, offset: float) -> Response:
    """``format=raw`` (or nothing asked that the file does not already satisfy) → the file."""
    suffix = wire.suffix_of(track)
    fits = max_kbps == 0 or (track.meta.bitrate or 0) <= max_kbps
    if fmt == "raw" or (fmt in (None, "", suffix) and fits and offset == 0):
        return raw(track)
    codec: Codec = "opus" if fmt in ("opus", "ogg") else "mp3"
    kbps = max_kbps or min(track.meta.bitrate or DEFAULT_KBPS, DEFAULT_KBPS)
    return transcode(track, codec, kbps, offset)


@method("stream")
def stream(call: Call) -> Result:
    track = call.station.track(ids.parse_track(call.required("id")))
    return choose(
        track,
        call.get("format"),
        call.number("maxBitRate", 0, high=10_000),
        float(call.number("timeOffset", 0, high=10**7)),
    )


@method("download")
def download(call: Call) -> Result:
    return raw(call.station.track(ids.parse_track(call.required("id"))))


@method("getCoverArt")
def get_cover_art(call: Call) -> Result:
    """The picture the files carry (in their tags or their folder), else a generated one."""
    value = call.required("id")
    kind = ids.kind_of(value)  # SubsonicNotFound for ids that name nothing
    library = call.station.library
    found: Artwork | None = None
    if kind == "song":
        track = call.station.track(ids.parse_track(value))
        found = library.track_artwork(track)
        value = wire.track_album_id(track)
        if found is None:  # the album's other files may carry it
            with contextlib.suppress(UnknownItem):
                found = library.album_artwork(ids.parse_album(value))
    elif kind == "album":
        found = library.album_artwork(ids.parse_album(value))
    elif kind == "artist":
        found = library.artist_artwork(ids.parse_artist(value))
    headers = {"Cache-Control": "public, max-age=86400"}
    size = call.number("size", DEFAULT_SIZE, low=1, high=10_000)
    if found is not None:
        if call.get("size") is not None:  # the size an app shows it at, not a tagger's scan
            found = library.sized_artwork(found, size)
        return Response(found.data, media_type=found.mime, headers=headers)
    image = cover(value, size)
    return Response(image, media_type="image/png", headers=headers)
