"""Lyrics a music folder already has: in the files' tags, or in a ``.lrc`` beside them.

Read with mutagen: ID3 ``USLT`` (plain) and ``SYLT`` (timed) frames, Vorbis/FLAC/Opus
``LYRICS`` and ``UNSYNCEDLYRICS`` comments, MP4 ``©lyr`` atoms; and ``<stem>.lrc`` next to
the audio file. Text in LRC form (``[mm:ss.xx]line``, as many taggers also write into
plain lyrics tags) becomes *synced* lyrics: each line with its start in milliseconds.

Everything read is bounded: an ``.lrc`` over ``MAX_LRC_BYTES`` is not read at all (a
hostile 100 MB file costs one ``read`` of the limit), and any lyrics keep at most
``MAX_LINES`` lines of at most ``MAX_LINE_CHARS`` characters. Nothing here fails a
request: an unreadable file has no lyrics.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen

from qfzz.audio import open_regular
from qfzz.errors import UnreadableFile

log = logging.getLogger(__name__)

MAX_LRC_BYTES = 512 * 1024
MAX_LINES = 5000
MAX_LINE_CHARS = 1000
#: "No language given" (ID3's and OpenSubsonic's convention).
NO_LANGUAGE = "xxx"
SYLT_MILLISECONDS = 2  # ID3 SYLT time stamp format 2: absolute milliseconds

_TIME = re.compile(r"\[(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\]")
_TAG = re.compile(r"^\[([a-zA-Z]+):(.*)\]\s*$")
_VORBIS_KEYS = ("lyrics", "unsyncedlyrics")
_MP4_KEY = "\xa9lyr"


@dataclass(frozen=True, slots=True)
class LyricLine:
    text: str
    start_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Lyrics:
    """One set of lyrics: synced lines carry their start; ``offset_ms`` is the LRC
    ``[offset:]`` as written (players apply it)."""

    lines: tuple[LyricLine, ...]
    synced: bool
    lang: str = NO_LANGUAGE
    offset_ms: int = 0
    artist: str | None = None
    title: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def read_lyrics(path: Path) -> list[Lyrics]:
    """Every set of lyrics for the audio file at ``path``, synced ones first."""
    found = [*embedded_lyrics(path), *sidecar_lyrics(path)]
    unique: list[Lyrics] = []
    for lyrics in found:
        if lyrics.lines and lyrics not in unique:
            unique.append(lyrics)
    return sorted(unique, key=lambda lyrics: not lyrics.synced)


def embedded_lyrics(path: Path) -> list[Lyrics]:
    try:
        with open_regular(path) as handle:
            audio = mutagen.File(handle)
    except Exception as exc:  # mutagen raises many kinds; a bad file simply has no lyrics
        log.debug("no lyrics read from %s: %s", path, exc)
        return []
    if audio is None or audio.tags is None:
        return []
    tags: Any = audio.tags
    found: list[Lyrics] = []
    if hasattr(tags, "getall"):  # ID3
        for frame in tags.getall("SYLT"):
            if frame.format == SYLT_MILLISECONDS:
                lines = [LyricLine(_clip(text), int(ms)) for text, ms in frame.text]
                found.append(_bounded(lines, synced=True, lang=_lang(frame.lang)))
        for frame in tags.getall("USLT"):
            found.append(parse_text(str(frame.text), lang=_lang(frame.lang)))
        return found
    for key in (*_VORBIS_KEYS, _MP4_KEY):
        try:
            values = tags.get(key) if hasattr(tags, "get") else None
        except (KeyError, ValueError):
            values = None
        for value in values or []:
            if isinstance(value, str):
                found.append(parse_text(value))
    return found


def sidecar_lyrics(path: Path) -> list[Lyrics]:
    """``<stem>.lrc`` beside the audio file, if it is a regular file within the limit."""
    sidecar = path.with_suffix(".lrc")
    try:
        with open_regular(sidecar) as handle:
            data = handle.read(MAX_LRC_BYTES + 1)
    except (OSError, UnreadableFile):
        return []
    if len(data) > MAX_LRC_BYTES:
        log.warning("%s is over %d bytes; not read as lyrics", sidecar, MAX_LRC_BYTES)
        return []
    return [parse_text(data.decode("utf-8-sig", errors="replace"))]


def parse_text(text: str, *, lang: str = NO_LANGUAGE) -> Lyrics:
    """Plain lyrics, or LRC (synced) when any line starts with a time stamp."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(_TIME.match(line.strip()) for line in lines[: MAX_LINES * 2]):
        return parse_lrc(lines, lang=lang)
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return _bounded([LyricLine(_clip(line.rstrip())) for line in lines], synced=False, lang=lang)


def parse_lrc(lines: Iterable[str], *, lang: str = NO_LANGUAGE) -> Lyrics:
    """``[mm:ss.xx]`` lines (several stamps may share one), ``[ar:]``, ``[ti:]``,
    ``[la:]``/``[lang:]`` and ``[offset:]`` tags; untimed text lines are dropped."""
    timed: list[LyricLine] = []
    tags: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        stamps: list[int] = []
        while match := _TIME.match(line):
            minutes, seconds, fraction = match.groups()
            fraction = (fraction or "0").ljust(3, "0")[:3]
            stamps.append((int(minutes) * 60 + int(seconds)) * 1000 + int(fraction))
            line = line[match.end() :]
        if stamps:
            timed.extend(LyricLine(_clip(line.strip()), start) for start in stamps)
        elif tag := _TAG.match(line):
            tags[tag.group(1).lower()] = tag.group(2).strip()
        if len(timed) > MAX_LINES:
            break
    timed.sort(key=lambda line: line.start_ms or 0)
    offset = tags.get("offset", "0")
    return _bounded(
        timed,
        synced=True,
        lang=tags.get("la") or tags.get("lang") or lang,
        offset_ms=int(offset) if re.fullmatch(r"[+-]?\d{1,7}", offset) else 0,
        artist=tags.get("ar") or None,
        title=tags.get("ti") or None,
    )


def _bounded(lines: list[LyricLine], **fields: Any) -> Lyrics:
    return Lyrics(tuple(lines[:MAX_LINES]), **fields)


def _clip(text: str) -> str:
    return text[:MAX_LINE_CHARS]


def _lang(code: object) -> str:
    value = str(code or "").strip()
    return value[:8] if value and value.isprintable() else NO_LANGUAGE
