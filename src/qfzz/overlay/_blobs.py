"""Sealed content on disk: one file per ContentID, written only after its hash checks.

A replica holds ciphertext; what it stores is exactly what hashes to the name it is stored
under (``verify_blob`` before the write, an atomic rename after it), so a corrupt or
forged blob never lands and a crash never leaves half a file under a real name. Files fan
out by the first two hex digits, as git's objects do, so no directory grows past 1/256 of
the store.
"""

from __future__ import annotations

import os
from pathlib import Path

from qfzz.network import InvalidRecord, content_id_of, verify_blob

BLOBS_DIR = "blobs"


class BlobStore:
    """Content-addressed sealed blobs under ``data_dir/blobs``."""

    def __init__(self, data_dir: Path) -> None:
        self._root = data_dir / BLOBS_DIR

    def path(self, content_id: str) -> Path:
        if len(content_id) != 64 or any(c not in "0123456789abcdef" for c in content_id):
            raise ValueError("a content id is 64 lowercase hex digits")
        return self._root / content_id[:2] / content_id

    def has(self, content_id: str) -> bool:
        return self.path(content_id).is_file()

    def put(self, content_id: str, blob: bytes) -> None:
        """Store ``blob`` as ``content_id``; raises ``InvalidRecord`` (corrupt_blob) and
        stores nothing when the blob does not hash to that id."""
        verify_blob(content_id, blob)
        self._write(content_id, blob)

    def add(self, blob: bytes) -> str:
        """Store a blob this node sealed itself; returns its ContentID."""
        content_id = content_id_of(blob)
        self._write(content_id, blob)
        return content_id

    def _write(self, content_id: str, blob: bytes) -> None:
        target = self.path(content_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{content_id}.{os.getpid()}.tmp")
        with open(temporary, "wb") as out:
            out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)

    def incoming(self, content_id: str) -> Path:
        """A temporary file beside where ``content_id`` will live, for a download."""
        target = self.path(content_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{content_id}.{os.getpid()}.part")

    def commit(self, content_id: str, incoming: Path, digest: str) -> None:
        """Moves a finished download into place if it hashed to ``content_id``; otherwise
        deletes it and raises ``InvalidRecord`` (corrupt_blob): nothing is stored."""
        if digest != content_id:
            incoming.unlink(missing_ok=True)
            raise InvalidRecord("the blob does not hash to its content id", "corrupt_blob")
        with open(incoming, "rb+") as done:
            os.fsync(done.fileno())
        os.replace(incoming, self.path(content_id))

    def read(self, content_id: str) -> bytes:
        return self.path(content_id).read_bytes()

    def remove(self, content_id: str) -> None:
        self.path(content_id).unlink(missing_ok=True)

    def __contains__(self, content_id: object) -> bool:
        return isinstance(content_id, str) and self.has(content_id)
