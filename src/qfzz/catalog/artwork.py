"""Cover art a music folder already has: pictures inside the files, or beside them.

Players ask for cover art constantly (every row of an album list), so the answer is read
straight from the tags with mutagen — ID3 ``APIC`` frames, FLAC picture blocks, MP4
``covr`` atoms, Vorbis/Opus ``METADATA_BLOCK_PICTURE`` comments — preferring the front
cover, and otherwise from the image files people keep in album folders (``cover.jpg``,
``folder.png``…). Nothing here ever fails a request: an unreadable file has no art.
Only regular files are opened (``qfzz.audio.open_regular``): a ``cover.jpg`` that is a
FIFO has no art instead of blocking the request for ever.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import Picture
from mutagen.mp4 import MP4Cover

from qfzz.audio import open_regular
from qfzz.errors import UnreadableFile

log = logging.getLogger(__name__)

FRONT_COVER = 3  # the picture type of a front cover (ID3v2 APIC / FLAC PICTURE)
#: Names people and taggers give album images, best first (matched case-insensitively).
FOLDER_IMAGES = ("cover", "folder", "front", "album", "albumart")
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
MAX_FOLDER_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Artwork:
    data: bytes
    mime: str


def find_artwork(path: Path) -> Artwork | None:
    """The picture embedded in ``path``, else the album image in its folder."""
    return embedded_artwork(path) or folder_artwork(path.parent)


def embedded_artwork(path: Path) -> Artwork | None:
    try:
        with open_regular(path) as handle:
            audio = mutagen.File(handle)
    except Exception as exc:  # mutagen raises many kinds; a bad file simply has no art
        log.debug("no artwork read from %s: %s", path, exc)
        return None
    if audio is None:
        return None
    pictures = _pictures(audio)
    if not pictures:
        return None
    best = max(pictures, key=lambda p: p[0] == FRONT_COVER)  # first front cover, else first
    return Artwork(best[1], best[2])


def _pictures(audio: Any) -> list[tuple[int, bytes, str]]:
    """Every picture in the file as ``(type, data, mime)``."""
    found: list[tuple[int, bytes, str]] = []
    for picture in getattr(audio, "pictures", None) or []:  # FLAC
        found.append((picture.type, picture.data, picture.mime or _sniff(picture.data)))
    tags = audio.tags
    if tags is None:
        return found
    if hasattr(tags, "getall"):  # ID3 (MP3, also ID3 in WAV/AIFF)
        for frame in tags.getall("APIC"):
            found.append((int(frame.type), frame.data, frame.mime or _sniff(frame.data)))
    covers = tags.get("covr") if hasattr(tags, "get") else None
    for cover in covers or []:  # MP4
        mime = "image/png" if cover.imageformat == MP4Cover.FORMAT_PNG else "image/jpeg"
        found.append((FRONT_COVER, bytes(cover), mime))
    blocks = tags.get("metadata_block_picture") if hasattr(tags, "get") else None
    for encoded in blocks or []:  # Vorbis comments (Ogg Vorbis, Opus)
        try:
            picture = Picture(base64.b64decode(encoded))  # type: ignore[no-untyped-call]
        except (binascii.Error, ValueError, mutagen.MutagenError):
            continue
        found.append((picture.type, picture.data, picture.mime or _sniff(picture.data)))
    return [p for p in found if p[1]]


def folder_artwork(folder: Path) -> Artwork | None:
    try:
        images = {
            entry.stem.lower(): entry
            for entry in folder.iterdir()
            if entry.suffix.lower() in _IMAGE_TYPES and entry.is_file()
        }
    except OSError:
        return None
    for name in FOLDER_IMAGES:
        image = images.get(name)
        if image is None:
            continue
        try:
            with open_regular(image) as handle:
                data = handle.read(MAX_FOLDER_IMAGE_BYTES + 1)
        except (OSError, UnreadableFile):
            continue
        if data and len(data) <= MAX_FOLDER_IMAGE_BYTES:
            return Artwork(data, _IMAGE_TYPES[image.suffix.lower()])
    return None


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
