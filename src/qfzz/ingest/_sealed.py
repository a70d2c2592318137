"""Originals sealed at rest in chunks: sealing and serving never hold a file in memory.

An upload may be hundreds of MiB; sealing it as one AEAD message would need the whole
plaintext and the whole ciphertext in memory at once (twice the file per finishing upload),
and serving a byte range of it would mean decrypting all of it. So an original is sealed as
a sequence of XChaCha20-Poly1305 (IETF) messages of :data:`CHUNK` plaintext bytes — the
STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) that age and Tink's streaming
AEAD use, built on PyNaCl's AEAD:

* the header (magic, version, chunk size, plaintext length, a random 16-byte nonce prefix)
  is the associated data of every chunk, so none of it can be changed unnoticed;
* chunk ``i`` is sealed under the nonce ``prefix || i`` (8 bytes, big-endian) with a final
  flag in its associated data, so chunks cannot be reordered, dropped or the stream cut
  short (the count follows from the authenticated length, and only the last chunk may carry
  the flag);
* a range of the plaintext decrypts only the chunks that cover it (a player seeking).

``ContentID`` stays the blake3 of the sealed file's bytes, computed while it is written.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3
import nacl.bindings
import nacl.exceptions
import nacl.utils

from qfzz.errors import QfzzError

MAGIC = b"QFZZSEAL"
VERSION = 1
#: Plaintext bytes per sealed chunk: big enough that the 16-byte tag and a call per chunk
#: cost nothing, small enough that a range request decrypts little it does not send.
CHUNK = 64 * 1024
KEY_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
TAG_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
_HEADER = struct.Struct(">8sBIQ16s")  # magic, version, chunk size, plaintext length, prefix
HEADER_BYTES = _HEADER.size
_MAX_CHUNK = 1 << 24


class SealBroken(QfzzError):
    """A sealed file that does not open: wrong key, changed or cut short."""

    code = "seal_broken"


@dataclass(frozen=True, slots=True)
class Sealed:
    """What :func:`seal_file` made: the key, the blake3 of the sealed bytes, and sizes."""

    key: bytes
    content_id: str
    size: int  # plaintext bytes
    sealed_size: int


def seal_file(source: Path, target: Path, key: bytes | None = None) -> Sealed:
    """Seal ``source`` into ``target`` (created or truncated, fsynced), chunk by chunk."""
    key = key if key is not None else nacl.utils.random(KEY_BYTES)
    if len(key) != KEY_BYTES:
        raise ValueError(f"a content key is {KEY_BYTES} bytes")
    digest = blake3.blake3()
    with open(source, "rb") as plain, open(target, "wb") as out:
        length = os.fstat(plain.fileno()).st_size
        header = _HEADER.pack(MAGIC, VERSION, CHUNK, length, nacl.utils.random(16))
        out.write(header)
        digest.update(header)
        count = _chunk_count(length, CHUNK)
        for index in range(count):
            data = plain.read(CHUNK)
            expected = min(CHUNK, length - index * CHUNK)
            if len(data) != expected:
                raise SealBroken(f"{source.name} changed size while it was sealed")
            sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
                data, _aad(header, index == count - 1), _nonce(header, index), key
            )
            out.write(sealed)
            digest.update(sealed)
        if plain.read(1):
            raise SealBroken(f"{source.name} changed size while it was sealed")
        out.flush()
        os.fsync(out.fileno())
        sealed_size = out.tell()
    return Sealed(key, digest.hexdigest(), length, sealed_size)


class SealedFile:
    """An open sealed original: its plaintext size, and any range of it decrypted."""

    def __init__(self, path: Path, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SealBroken("the content key has the wrong length")
        self._path = path
        self._key = key
        with open(path, "rb") as handle:
            header = handle.read(HEADER_BYTES)
            sealed_size = os.fstat(handle.fileno()).st_size
        if len(header) != HEADER_BYTES:
            raise SealBroken("not a sealed original (too short)")
        magic, version, chunk, length, _prefix = _HEADER.unpack(header)
        if magic != MAGIC or version != VERSION or not 0 < chunk <= _MAX_CHUNK:
            raise SealBroken("not a sealed original of a version this server reads")
        count = _chunk_count(length, chunk)
        if sealed_size != HEADER_BYTES + length + count * TAG_BYTES:
            raise SealBroken("the sealed original was cut short or grew")
        self._header = header
        self._chunk = chunk
        self._count = count
        self.size = length

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The plaintext bytes ``[start, stop)``, chunk by chunk, each checked before it is
        given out (a changed byte raises :class:`SealBroken`, never altered plaintext)."""
        stop = self.size if stop is None else min(stop, self.size)
        if not 0 <= start <= stop:
            raise ValueError("the range must lie inside the file")
        if start == stop:
            return
        first, last = start // self._chunk, (stop - 1) // self._chunk
        stride = self._chunk + TAG_BYTES
        with open(self._path, "rb") as handle:
            for index in range(first, last + 1):
                handle.seek(HEADER_BYTES + index * stride)
                sealed = handle.read(stride)
                try:
                    plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                        sealed,
                        _aad(self._header, index == self._count - 1),
                        _nonce(self._header, index),
                        self._key,
                    )
                except nacl.exceptions.CryptoError:
                    raise SealBroken(
                        "the sealed original does not open: changed or wrong key"
                    ) from None
                offset = index * self._chunk
                yield plain[max(0, start - offset) : stop - offset]

    def read_all(self) -> bytes:
        """The whole plaintext (for small files and tests)."""
        return b"".join(self.read())


def _chunk_count(length: int, chunk: int) -> int:
    return max(1, -(-length // chunk))  # an empty file is one empty, final chunk


def _nonce(header: bytes, index: int) -> bytes:
    return header[-16:] + index.to_bytes(8, "big")


def _aad(header: bytes, final: bool) -> bytes:
    return header + (b"\x01" if final else b"\x00")
