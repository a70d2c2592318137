"""A node's Ed25519 identity, kept in its data directory.

The key file is the node: the same file gives the same NodeID after a restart, so peers
recognise a rejoining node. It is created once, atomically and readable only by its owner
(another local user who can read it can impersonate the node), and a key file that group
or others can read is refused rather than silently used or "fixed".
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import blake3
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from qfzz.errors import QfzzError

SCHEMA_VERSION = "v1"
"""Part of every record key and every signed message: a v2 record never verifies as v1."""

KEY_FILE = "node.key"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
NODE_ID_HEX = 64


class IdentityError(QfzzError):
    """The node's key file cannot be used (unsafe permissions, wrong size)."""

    code = "identity_error"


def node_id_of(public_key: bytes) -> str:
    """NodeID = blake3(public key), hex: anyone can check an id against the key it claims."""
    return blake3.blake3(public_key).hexdigest()


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is ``public_key``'s Ed25519 signature of ``message``.

    Returns False (never raises) for malformed keys or signatures: callers treat every
    failure the same way, as a forged message.
    """
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


def membership_key(node_id: str) -> str:
    """The record key of a node's membership: versioned, so schemas never mix."""
    return f"{SCHEMA_VERSION}/membership/{node_id}"


def receipt_key(issuer: str, target: str) -> str:
    """The record key of the receipt ``issuer`` gave ``target`` (one live receipt per pair)."""
    return f"{SCHEMA_VERSION}/receipt/{issuer}/{target}"


class NodeIdentity:
    """The node's signing key and the id derived from it."""

    def __init__(self, signing_key: SigningKey) -> None:
        self._key = signing_key
        self.public_key: bytes = bytes(signing_key.verify_key)
        self.node_id: str = node_id_of(self.public_key)

    @classmethod
    def generate(cls) -> NodeIdentity:
        """A fresh identity in memory (tests and simulations; a real node uses a key file)."""
        return cls(SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> NodeIdentity:
        """A deterministic identity from a 32-byte seed (seeded simulations)."""
        return cls(SigningKey(seed))

    @classmethod
    def load_or_create(cls, data_dir: Path) -> NodeIdentity:
        """Load ``data_dir/node.key``, creating it (mode 0600) on first use.

        Creation writes a temporary file opened with O_CREAT|O_EXCL and mode 0600, then
        links it to its final name, which fails if another process won the race: then its
        key is loaded instead. So the key file never exists half-written or world-readable,
        and two processes starting together end up with the same identity.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / KEY_FILE
        if not path.exists():
            seed = os.urandom(32)
            tmp = data_dir / f".{KEY_FILE}.{os.getpid()}.{seed[:4].hex()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(seed)
                    handle.flush()
                    os.fsync(handle.fileno())
                with contextlib.suppress(FileExistsError):  # another process won: use its key
                    os.link(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        return cls(SigningKey(_read_key_file(path)))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return bytes(self._key.sign(message).signature)


def _read_key_file(path: Path) -> bytes:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise IdentityError(f"{path} is not a regular file")
    if info.st_mode & 0o077:
        raise IdentityError(
            f"{path} is readable or writable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); anyone who reads it can impersonate "
            f"this node: run `chmod 600 {path}` if it was never exposed, or delete it to "
            f"start as a new node"
        )
    seed = path.read_bytes()
    if len(seed) != 32:
        raise IdentityError(f"{path} holds {len(seed)} bytes, not a 32-byte Ed25519 seed")
    return seed
