"""Content at rest: sealed blobs named by their hash, and the signed record that describes one.

A station shares a track as a *sealed blob*: ``nonce || XChaCha20-Poly1305(plaintext)``
under a per-content key. ``ContentID = blake3(blob)`` names the ciphertext, not the audio,
so a replica can check what it was sent (``verify_blob``) without being able to play it,
and the id reveals nothing about the plaintext (the key and nonce are random).

Whether peers may *play* a replica is the licence's call, decided once here
(``redistributable``): the origin signs a ``ContentRecord`` that carries the key only when
the licence allows sharing copies. A record for non-redistributable content that carries a
key anyway is refused on ``verify``, so no honest node relays a leaked key in a signed
record; peers hold such content for durability only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import blake3
import nacl.bindings
import nacl.exceptions
import nacl.utils

from qfzz.network._identity import (
    NODE_ID_HEX,
    PUBLIC_KEY_BYTES,
    SCHEMA_VERSION,
    SIGNATURE_BYTES,
    NodeIdentity,
    node_id_of,
    verify_signature,
)
from qfzz.network._records import (
    InvalidRecord,
    MalformedRecord,
    _count,
    _field,
    _hex,
    _node_id,
    _obj,
    _signed_message,
    _str,
)

KEY_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES  # 32
NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24
TAG_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES  # 16
MAX_CONTENT_BYTES = 2**32  # a sealed blob larger than 4 GiB is not a track
MAX_MEDIA_TYPE_CHARS = 127
MAX_TEXT_CHARS = 512
MAX_LICENSE_CHARS = 64

_AAD = f"qfzz/{SCHEMA_VERSION}/content-blob".encode("ascii")
"""Associated data: a blob sealed for another purpose (or schema) never opens as content."""

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")

# Licences whose terms let anyone share verbatim copies. Non-commercial (NC) and
# no-derivatives (ND) Creative Commons licences are included: a replica is a verbatim copy
# passed on without charge, which both permit. Share-alike (SA) only binds adaptations.
_CC_SHAREABLE = re.compile(r"^CC-BY(-NC)?(-SA|-ND)?(-\d\.\d)?(-[A-Z]{2,3})?$")
_FREE_FAMILIES = re.compile(
    r"^(CC0(-1\.0)?|CC-PDDC|PDDL(-1\.0)?|ODC-BY(-1\.0)?|ODBL(-1\.0)?|PD|PDM|PUBLIC-DOMAIN)$"
)


def redistributable(spdx: str) -> bool:
    """Does the licence let peers hold *and play* copies? Unknown means no.

    True for public domain (CC0, PDDL, PD/PDM), the open data licences (ODC-By, ODbL) and
    every Creative Commons BY licence, NC and ND included (they allow verbatim sharing
    without charge, which is what a replica is). False for anything else: "all rights
    reserved", ``LicenseRef-*``, proprietary or unrecognised ids fail closed, so a typo
    never leaks a key.
    """
    normal = re.sub(r"[\s_]+", "-", spdx.strip()).upper()
    return bool(_CC_SHAREABLE.match(normal) or _FREE_FAMILIES.match(normal))


def seal_blob(plaintext: bytes, key: bytes | None = None) -> tuple[bytes, bytes]:
    """Encrypt ``plaintext`` under ``key`` (a fresh random key if None): ``(key, blob)``.

    The 24-byte nonce is random and stored in front of the ciphertext; XChaCha's long nonce
    makes random nonces safe even when one key seals many blobs.
    """
    if key is None:
        key = nacl.utils.random(KEY_BYTES)
    _check_key(key)
    nonce = nacl.utils.random(NONCE_BYTES)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, _AAD, nonce, key)
    return key, nonce + sealed


def open_blob(blob: bytes, key: bytes) -> bytes:
    """Decrypt a sealed blob; raises ``InvalidRecord`` (reason ``undecryptable``) when the key
    is wrong or any byte of the blob was changed — never returns altered plaintext."""
    _check_key(key)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise MalformedRecord("a sealed blob is shorter than its nonce and tag", "blob_too_short")
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        return bytes(
            nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, _AAD, nonce, key)
        )
    except nacl.exceptions.CryptoError:
        raise InvalidRecord(
            "blob does not decrypt: wrong key or altered ciphertext", "undecryptable"
        ) from None


def content_id_of(blob: bytes) -> str:
    """ContentID = blake3(sealed blob), hex: replicas check ciphertext, not audio."""
    return blake3.blake3(blob).hexdigest()


def verify_blob(content_id: str, blob: bytes) -> None:
    """Raise ``InvalidRecord`` (reason ``corrupt_blob``) unless ``blob`` hashes to the id.

    A replica calls this before storing or serving what a peer sent it.
    """
    if content_id_of(blob) != content_id:
        raise InvalidRecord("blob does not hash to its content id", "corrupt_blob")


def content_key(content_id: str) -> str:
    """The record key of a content record: versioned, like membership keys."""
    return f"{SCHEMA_VERSION}/content/{content_id}"


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise MalformedRecord(f"a content key must be {KEY_BYTES} bytes", "bad_key")


@dataclass(frozen=True)
class ContentRecord:
    """What a sealed blob is, signed by the station it came from.

    ``redistributable`` is derived from ``license`` and checked on ``verify``; ``key`` is
    present exactly when it is true, so the record itself says whether a replica is playable.
    """

    content_id: str
    origin: str
    origin_key: bytes
    size: int
    media_type: str
    title: str
    artist: str
    license: str
    redistributable: bool
    key: bytes | None
    signature: bytes = b""

    @classmethod
    def signed(
        cls,
        origin: NodeIdentity,
        blob: bytes,
        key: bytes,
        *,
        media_type: str,
        title: str,
        artist: str,
        license: str,
    ) -> ContentRecord:
        """The origin's record for ``blob``; the key is included only if the licence allows
        sharing copies (validated by a round trip, so it is also sendable)."""
        open_blob(blob, key)  # never describe a blob with a key that does not open it
        shareable = redistributable(license)
        unsigned = cls(
            content_id=content_id_of(blob),
            origin=origin.node_id,
            origin_key=origin.public_key,
            size=len(blob),
            media_type=media_type,
            title=title,
            artist=artist,
            license=license,
            redistributable=shareable,
            key=key if shareable else None,
        )
        record = replace(unsigned, signature=origin.sign(unsigned.message()))
        return cls.from_json(record.to_json())

    @property
    def record_key(self) -> str:
        return content_key(self.content_id)

    def _payload(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "origin": self.origin,
            "origin_key": self.origin_key.hex(),
            "size": self.size,
            "media_type": self.media_type,
            "title": self.title,
            "artist": self.artist,
            "license": self.license,
            "redistributable": self.redistributable,
            "key": None if self.key is None else self.key.hex(),
        }

    def message(self) -> bytes:
        return _signed_message("content", self._payload())

    def to_json(self) -> dict[str, Any]:
        return {**self._payload(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: object) -> ContentRecord:
        """Parse and bound a record; raises ``MalformedRecord`` (``verify`` checks it)."""
        what = "content record"
        obj = _obj(value, what)
        shareable = _field(obj, "redistributable", what)
        if not isinstance(shareable, bool):
            raise MalformedRecord("redistributable must be true or false")
        key_value = _field(obj, "key", what)
        media_type = _str(_field(obj, "media_type", what), "media_type", MAX_MEDIA_TYPE_CHARS)
        if not _MEDIA_TYPE.match(media_type):
            raise MalformedRecord("media_type must look like type/subtype", "bad_media_type")
        size = _count(_field(obj, "size", what), "size")
        if not NONCE_BYTES + TAG_BYTES <= size <= MAX_CONTENT_BYTES:
            raise MalformedRecord("size is out of range")
        return cls(
            content_id=_content_id(_field(obj, "content_id", what)),
            origin=_node_id(_field(obj, "origin", what), "origin"),
            origin_key=_hex(_field(obj, "origin_key", what), "origin_key", PUBLIC_KEY_BYTES),
            size=size,
            media_type=media_type,
            title=_str(_field(obj, "title", what), "title", MAX_TEXT_CHARS),
            artist=_str(_field(obj, "artist", what), "artist", MAX_TEXT_CHARS),
            license=_str(_field(obj, "license", what), "license", MAX_LICENSE_CHARS),
            redistributable=shareable,
            key=None if key_value is None else _hex(key_value, "key", KEY_BYTES),
            signature=_hex(_field(obj, "signature", what), "signature", SIGNATURE_BYTES),
        )

    def verify(self) -> None:
        """Raise ``InvalidRecord`` unless the origin signed it and key and licence agree."""
        if node_id_of(self.origin_key) != self.origin:
            raise InvalidRecord("origin is not the blake3 of its key", "node_id_mismatch")
        if self.redistributable != redistributable(self.license):
            raise InvalidRecord(
                f"redistributable={self.redistributable} contradicts licence {self.license!r}",
                "license_mismatch",
            )
        if not self.redistributable and self.key is not None:
            raise InvalidRecord(
                "a record for non-redistributable content must not carry its key", "key_leak"
            )
        if self.redistributable and self.key is None:
            raise InvalidRecord("freely licensed content must carry its key", "missing_key")
        if not verify_signature(self.origin_key, self.message(), self.signature):
            raise InvalidRecord("content signature does not verify", "bad_signature")

    def open_replica(self, blob: bytes) -> bytes:
        """Play a replica: check the blob against the id, then decrypt with the record's key.

        Raises ``InvalidRecord`` with reason ``not_redistributable`` when the record carries
        no key (peers hold such content for durability, not playback).
        """
        verify_blob(self.content_id, blob)
        if self.key is None:
            raise InvalidRecord(
                "only the origin may play non-redistributable content", "not_redistributable"
            )
        return open_blob(blob, self.key)


def _content_id(value: object) -> str:
    """A content id has a node id's shape (64 lowercase hex digits of blake3)."""
    try:
        return _node_id(value, "content_id")
    except MalformedRecord:
        raise MalformedRecord(
            f"content_id must be {NODE_ID_HEX} lowercase hex digits", "bad_content_id"
        ) from None
