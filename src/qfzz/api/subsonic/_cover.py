"""Generated cover art: a deterministic PNG per id, for albums whose files carry none.

Two colours from a digest of the id, a diagonal gradient between them and a record-like
ring, drawn with numpy and written with zlib (no imaging library needed).
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np

DEFAULT_SIZE = 300
MAX_SIZE = 1200


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(rgb: np.ndarray) -> bytes:
    """Encode an ``(h, w, 3)`` uint8 array as a PNG."""
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def cover(item_id: str, size: int = DEFAULT_SIZE) -> bytes:
    size = max(16, min(MAX_SIZE, size))
    seed = hashlib.blake2b(item_id.encode(), digest_size=8).digest()
    channels = np.frombuffer(seed, dtype=np.uint8).astype(np.float32)
    first = channels[0:3]
    second = 255.0 - channels[3:6] * 0.6
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    mix = (axis[:, None] + axis[None, :]) / 2.0
    image = first * (1.0 - mix[..., None]) + second * mix[..., None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    radius = np.sqrt(xx * xx + yy * yy)
    ring = (radius > 0.18 + seed[6] / 255 * 0.1) & (radius < 0.42)
    image[ring] = image[ring] * 0.35
    image[radius < 0.05] = 240.0
    return png(np.clip(image, 0, 255).astype(np.uint8))


AVATAR_SIZE = 120
_AVATAR_CELLS = 5


def avatar(username: str, size: int = AVATAR_SIZE) -> bytes:
    """An identicon: a 5×5 mirrored pattern in one colour from a digest of the name.

    The same name gives the same picture on every server and restart; different names
    differ in colour and pattern (15 bits of pattern, 24 of colour).
    """
    seed = hashlib.blake2b(f"avatar:{username}".encode(), digest_size=8).digest()
    bits = int.from_bytes(seed[3:5], "big")
    half = (_AVATAR_CELLS + 1) // 2
    left = np.array(
        [[(bits >> (row * half + col)) & 1 for col in range(half)] for row in range(_AVATAR_CELLS)],
        dtype=bool,
    )
    grid = np.concatenate([left, left[:, : _AVATAR_CELLS - half][:, ::-1]], axis=1)
    cell = max(1, size // (_AVATAR_CELLS + 1))
    margin = (size - cell * _AVATAR_CELLS) // 2
    pattern = np.kron(grid, np.ones((cell, cell), dtype=bool))
    image = np.full((size, size, 3), 240, dtype=np.uint8)
    colour = np.frombuffer(seed[:3], dtype=np.uint8) // 2 + 40  # dark enough on light grey
    block = image[margin : margin + pattern.shape[0], margin : margin + pattern.shape[1]]
    block[pattern] = colour
    return png(image)
