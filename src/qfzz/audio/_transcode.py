"""Whole files re-encoded on demand (a Subsonic player asking for MP3 or Opus).

Decoding from an offset and encoding as it goes, so the first bytes leave long before the
file is done and nothing is written to disk. Each transcode keeps a core busy for as long
as the player reads, so this process runs at most :data:`MAX_TRANSCODES` at once (as
Navidrome limits them); the others wait for a slot when their first bytes are asked for.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from qfzz.audio._decode import decode
from qfzz.audio._live import Codec, LiveEncoder

#: Transcodes running at once in this process: one per core, at least two.
MAX_TRANSCODES = max(2, os.cpu_count() or 2)
_SLOTS = threading.BoundedSemaphore(MAX_TRANSCODES)


def transcode_stream(
    path: Path, codec: Codec, bitrate_kbps: int, *, start_seconds: float = 0.0
) -> Iterator[bytes]:
    """``path`` from ``start_seconds`` as ``codec`` at ``bitrate_kbps``, header first.

    The codec and bitrate are checked now (ValueError), so a caller can answer with an
    error instead of failing halfway through a response; the work starts at the first
    ``next``.
    """
    LiveEncoder(codec, bitrate_kbps)  # fail now, not halfway through the response
    return _encoded(path, codec, bitrate_kbps, start_seconds)


def _encoded(path: Path, codec: Codec, kbps: int, offset: float) -> Iterator[bytes]:
    with _SLOTS:
        encoder = LiveEncoder(codec, kbps)
        header_sent = False
        for block in decode(path, start_seconds=offset):
            chunks = encoder.encode(block)
            if chunks and not header_sent:
                header_sent = True
                if encoder.header:
                    yield encoder.header
            if chunks:
                yield b"".join(chunks)
        tail = encoder.flush()
        if not header_sent and encoder.header:
            yield encoder.header
        if tail:
            yield b"".join(tail)
