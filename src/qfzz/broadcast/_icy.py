"""ICY (SHOUTcast/Icecast) in-band metadata.

A client that sends ``Icy-MetaData: 1`` is answered with ``icy-metaint: N``; after every N
audio bytes the server inserts one length byte L and L×16 bytes of
``StreamTitle='…';`` padded with NUL (L = 0 when the title has not changed). Clients
that did not ask get the audio untouched.
"""

from __future__ import annotations

METAINT = 8192
_MAX_BLOCK = 255 * 16


def metadata_block(title: str) -> bytes:
    """One metadata block (length byte included) carrying ``title``."""
    safe = title.replace("'", "’").replace("\n", " ")
    text = f"StreamTitle='{safe}';".encode()
    if len(text) > _MAX_BLOCK:
        text = text[: _MAX_BLOCK - 2] + b"';"
    length = -(-len(text) // 16)
    return bytes([length]) + text.ljust(length * 16, b"\0")


class IcyWriter:
    """Interleaves metadata into one listener's audio bytes at exact offsets."""

    def __init__(self, metaint: int = METAINT) -> None:
        self.metaint = metaint
        self._until_meta = metaint
        self._sent_title: str | None = None

    def write(self, audio: bytes, title: str) -> bytes:
        """The bytes to send for ``audio``, whose current stream title is ``title``."""
        out = bytearray()
        view = memoryview(audio)
        while len(view):
            take = min(self._until_meta, len(view))
            out += view[:take]
            view = view[take:]
            self._until_meta -= take
            if self._until_meta == 0:
                if title != self._sent_title:
                    out += metadata_block(title)
                    self._sent_title = title
                else:
                    out += b"\0"
                self._until_meta = self.metaint
        return bytes(out)
