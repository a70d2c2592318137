"""Read an audio file's tags into a :class:`~qfzz.models.TrackMeta`, with mutagen only.

Three tag families cover the supported formats: ID3 (MP3, and WAV with an ``id3 `` chunk),
Vorbis comments (FLAC, Ogg Vorbis, Opus) and MP4 atoms (M4A). Each family is read by a
small function that returns the same plain mapping of field names to strings, so the
parsing of years, tempo and energy happens once. Whatever goes wrong inside mutagen
surfaces as :class:`~qfzz.errors.UnreadableFile` naming the file, because the scanner
must skip a bad file and carry on, never crash on an exception type it did not expect.

:func:`tag_audio_bytes` is the writing side, used by the demo library: it writes the keys
this reader looks for, so the two cannot drift apart.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
from mutagen.flac import FLAC
from mutagen.id3 import ID3, Frames
from mutagen.mp3 import MP3, BitrateMode, MPEGInfo
from mutagen.mp4 import MP4Tags

from qfzz.audio import open_regular, packet_seconds
from qfzz.errors import UnreadableFile
from qfzz.models import TrackMeta

__all__ = ["SUPPORTED_EXTENSIONS", "read_track", "read_track_file", "tag_audio_bytes"]

SUPPORTED_EXTENSIONS = frozenset({".mp3", ".flac", ".ogg", ".opus", ".m4a", ".wav"})

_Fields = dict[str, str]
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# mutagen is not fully annotated; one ``Any`` alias keeps strict mypy meaningful elsewhere.
_open_file: Callable[..., Any] = mutagen.File
_MP3: Any = MP3
_FLAC: Any = FLAC

# Vorbis-comment names of the fields written as standard ID3 frames; others go to TXXX.
_ID3_WRITE = {"TITLE": "TIT2", "ARTIST": "TPE1", "ALBUM": "TALB", "GENRE": "TCON",
              "DATE": "TDRC", "TRACKNUMBER": "TRCK", "BPM": "TBPM"}  # fmt: skip
_ID3_TEXT = {"TIT2": "title", "TPE1": "artist", "TALB": "album", "TBPM": "tempo"}
_ID3_DATES = ("TDRC", "TYER", "TDOR", "TORY")
_ID3_TXXX = {
    "mood": "mood",
    "energy": "energy",
    "musicbrainz track id": "musicbrainz_id",
    "musicbrainz_trackid": "musicbrainz_id",
}
_VORBIS = {
    "title": ("title",),
    "artist": ("artist", "albumartist"),
    "album": ("album",),
    "genre": ("genre",),
    "year": ("date", "year", "originaldate"),
    "tempo": ("bpm", "tempo"),
    "mood": ("mood",),
    "energy": ("energy",),
    "musicbrainz_id": ("musicbrainz_trackid",),
}
_MP4 = {
    "title": ("\xa9nam",),
    "artist": ("\xa9ART", "aART"),
    "album": ("\xa9alb",),
    "genre": ("\xa9gen",),
    "year": ("\xa9day",),
    "tempo": ("tmpo",),
    "mood": ("----:com.apple.iTunes:MOOD", "----:com.apple.iTunes:mood"),
    "energy": ("----:com.apple.iTunes:ENERGY", "----:com.apple.iTunes:energy"),
    "musicbrainz_id": ("----:com.apple.iTunes:MusicBrainz Track Id",),
}


def _header_may_lie(info: object, length: float, size: int) -> bool:
    """Whether an MP3's length must be counted from its packets (``packet_seconds``):
    with no Xing/VBRI header its bitrate is the first frame's, which a VBR file does not
    keep; with one, a file cut short still claims the whole length (its bytes then hold
    far less than that length at that bitrate). Other formats state their length
    exactly (FLAC's sample count, an MP4's durations, Ogg's last granule)."""
    if not isinstance(info, MPEGInfo):
        return False
    if info.bitrate_mode is BitrateMode.UNKNOWN:
        return True
    held = size * 8 / info.bitrate if info.bitrate else 0.0
    return held < 0.9 * length


def _text(value: object) -> str | None:
    """First non-empty text of a tag value (lists, bytes, numbers, MP4 freeform data)."""
    if isinstance(value, list | tuple):
        for item in value:
            text = _text(item)
            if text:
                return text
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value) if value is not None else ""
    # Control characters are never part of a title (and PostgreSQL refuses NUL in text).
    text = _CONTROL.sub(" ", text).strip()
    return text or None


def _from_id3(tags: Any) -> _Fields:
    found: _Fields = {}
    for frame_id, field in _ID3_TEXT.items():
        frame = tags.get(frame_id)
        if frame is not None and (text := _text(list(frame.text))):
            found[field] = text
    if (tcon := tags.get("TCON")) is not None and (genre := _text(list(tcon.genres))):
        found["genre"] = genre  # .genres turns ID3v1 codes like "(17)" into "Rock"
    for frame_id in _ID3_DATES:
        if (frame := tags.get(frame_id)) is not None and (text := _text(list(frame.text))):
            found["year"] = text
            break
    for frame in tags.getall("TXXX"):
        name = _ID3_TXXX.get(str(frame.desc).lower())
        if name is not None and (text := _text(list(frame.text))):
            found[name] = text
    for frame in tags.getall("UFID"):
        if frame.owner == "http://musicbrainz.org" and (text := _text(frame.data)):
            found["musicbrainz_id"] = text
    return found


def _from_mapping(tags: Any, keys: dict[str, tuple[str, ...]]) -> _Fields:
    """Vorbis comments (case-insensitive keys) and MP4 atoms (exact keys)."""
    exact = isinstance(tags, MP4Tags)
    lowered = dict(tags.items()) if exact else {k.lower(): v for k, v in tags.items()}
    found: _Fields = {}
    for field, candidates in keys.items():
        for key in candidates:
            text = _text(lowered.get(key if exact else key.lower()))
            if text:
                found[field] = text
                break
    if exact and "genre" not in found and (code := _text(lowered.get("gnre"))):
        found["genre"] = code  # numeric iTunes genre id; rare in practice
    return found


def _number(text: str | None) -> float | None:
    try:
        value = float(text.replace(",", ".")) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _year(text: str | None) -> int | None:
    match = re.search(r"\b(\d{4})\b", text or "") or re.match(r"(\d{4})", text or "")
    return int(match.group(1)) if match else None


def _bitrate_kbps(info: Any, size: int, length: float) -> int | None:
    """Use what the codec says; lossless formats without one get size / duration."""
    bitrate = getattr(info, "bitrate", 0) or 0
    if bitrate <= 0:
        bitrate = size * 8 / length
    return round(bitrate / 1000) or None


def _fields(audio: Any) -> _Fields:
    tags = audio.tags
    if tags is None:
        return {}
    if isinstance(tags, ID3):
        return _from_id3(tags)
    if isinstance(tags, MP4Tags):
        return _from_mapping(tags, _MP4)
    return _from_mapping(tags, _VORBIS)  # VComment and any other mapping-like tags


def read_track_file(path: Path) -> TrackMeta:
    """Read ``path``'s tags and stream info; raise :class:`UnreadableFile` if it is not audio.

    Only a regular file is opened (a FIFO or device raises ``NotRegularFile``, an
    UnreadableFile, without blocking). Missing title and artist fall back to the file
    stem and ``"Unknown Artist"`` so every playable file can be catalogued; every other
    unknown field is ``None``.
    """
    try:
        with open_regular(path) as handle:
            return read_track(handle, path)
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot open ({exc.strerror or exc})") from exc


def read_track(handle: BinaryIO, path: Path) -> TrackMeta:
    """:func:`read_track_file` on a file already opened (``path`` names it and its type)."""
    try:
        size = os.fstat(handle.fileno()).st_size
        audio = _open_file(handle)
    except Exception as exc:  # mutagen raises many types on corrupt input
        raise UnreadableFile(f"{path}: not a readable audio file ({exc})") from exc
    if audio is None:
        raise UnreadableFile(f"{path}: not a recognised audio file")
    try:
        length = float(getattr(audio.info, "length", 0.0) or 0.0)
        if length <= 0.0:
            raise UnreadableFile(f"{path}: file has no audio stream information")
        if _header_may_lie(audio.info, length, size):
            handle.seek(0)
            length = packet_seconds(handle)
        found = _fields(audio)
        mood = found.get("mood")
        return TrackMeta(
            title=found.get("title") or path.stem,
            artist=found.get("artist") or "Unknown Artist",
            album=found.get("album"),
            genre=found.get("genre"),
            year=_year(found.get("year")),
            mood=mood.lower() if mood else None,
            energy=_number(found.get("energy")),
            tempo=_number(found.get("tempo")),
            duration=length,
            bitrate=_bitrate_kbps(audio.info, size, length),
            musicbrainz_id=found.get("musicbrainz_id"),
            format=path.suffix.lower().lstrip(".") or None,
        )
    except UnreadableFile:
        raise
    except Exception as exc:  # a tag structure mutagen parsed but we cannot interpret
        raise UnreadableFile(f"{path}: unreadable tags ({exc})") from exc


def tag_audio_bytes(audio: bytes, values: Mapping[str, str]) -> bytes:
    """Tag a whole encoded MP3 or FLAC file held in memory; return the tagged bytes.

    ``values`` use Vorbis-comment names (``TITLE``, ``ARTIST``, ``DATE``, ``BPM``…). For
    MP3 the standard ones become their ID3 frames and any other key ``K`` becomes
    ``TXXX:K``, which is where :func:`read_track_file` looks for ``MOOD`` and ``ENERGY``.
    Tagging in memory lets a writer place a file only once it is complete.
    """
    buf = io.BytesIO(audio)
    is_flac = audio[:4] == b"fLaC"  # the FLAC stream marker; anything else is read as MP3
    tagged = _FLAC(buf) if is_flac else _MP3(buf)
    if not is_flac:
        if tagged.tags is None:  # FFmpeg's muxer usually writes an ID3v2 header already
            tagged.add_tags()
        for key, value in values.items():
            frame_id = _ID3_WRITE.get(key.upper())
            extra = {} if frame_id else {"desc": key}
            tagged.tags.add(Frames[frame_id or "TXXX"](encoding=3, text=value, **extra))
    else:
        tagged.update(values)
    buf.seek(0)
    tagged.save(buf)
    return buf.getvalue()
