"""What an upload is, from its first bytes: audio to convert, or a file kept as it is.

Creators upload booklets (PDF) and cover images beside their tracks. Those are recognised
by their signatures before any decoder sees them, so they are kept untouched instead of
being reported as broken audio; everything else is handed to the decoder, which decides
between audio and "does not decode". Signatures, not file names: a name says what the
uploader claims, the bytes say what the file is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from qfzz.audio import open_regular

Kind = Literal["audio", "document", "image", "other"]

#: Bytes read from the start of a file: enough for every signature below.
HEAD_BYTES = 16

_SIGNATURES: tuple[tuple[bytes, int, Kind], ...] = (
    (b"%PDF-", 0, "document"),
    (b"\x89PNG\r\n\x1a\n", 0, "image"),
    (b"\xff\xd8\xff", 0, "image"),  # JPEG
    (b"GIF87a", 0, "image"),
    (b"GIF89a", 0, "image"),
    (b"II*\x00", 0, "image"),  # TIFF, little-endian
    (b"MM\x00*", 0, "image"),  # TIFF, big-endian
    (b"BM", 0, "image"),  # BMP
)


def sniff(head: bytes) -> Kind | None:
    """``"document"`` or ``"image"`` when ``head`` starts like one; None: try to decode it."""
    for magic, offset, kind in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    return None


def sniff_file(path: Path) -> Kind | None:
    """:func:`sniff` on the file's first bytes (regular files only: a FIFO never blocks)."""
    with open_regular(path) as f:
        return sniff(f.read(HEAD_BYTES))
