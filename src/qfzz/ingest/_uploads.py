"""The upload store behind tus: ``<root>/<upload id>/`` holds ``data`` (the bytes received)
and ``state.json`` (length, offset, metadata, owner, created, expires, state).

Why our own and not ``tuspyserver`` (4.4.3, read before writing this): it has no checksum
extension at all (no ``Upload-Checksum`` anywhere in ``routes/core.py`` or
``request.py``), so no 460; it calls ``on_upload_complete`` in ``routes/core.py:
core_patch_route`` whenever ``size == offset`` after a PATCH, with nothing recorded first,
so a retried last PATCH or a crash runs it again; its expiry reads the wall clock
(``datetime.now()`` in ``routes/core.py:_check_upload_expired`` and
``routes/creation.py``), not an injected one; it skips metadata that is not base64
(``routes/creation.py``, "Skip invalid base64 values gracefully") where the spec wants 400;
its lock (``lock.py:acquire_upload_lock``) is an ``flock`` held for the whole request and
waited on for up to 30 s, so a stalled writer keeps it as long as its connection lives;
and it has no per-user quota. Wrapping it would mean rewriting most of it.

Ids are random (``secrets``); a client never names a path. Bytes of a PATCH are recorded
(offset moved, state written) only when the PATCH ends: in full if a checksum was sent and
matched, otherwise as far as the body went (a client that disconnects keeps what arrived).
A PATCH carrying more than the upload still lacks is refused whole.

Finishing, exactly once — and what that means honestly. When the last byte is recorded,
the state moves ``receiving → finishing`` on disk (atomic rename, fsynced) *before* the
finish handler runs, and ``finishing → finished`` after it returns. Only the request that
makes the first transition calls the handler, under the upload's lease, so a retried last
PATCH (it finds the offset at the end: 409, or 204 with an empty body) or a second finish
signal never calls it again. A crash *during* the handler leaves ``finishing``;
:meth:`UploadStore.recover` calls the handler again for those at the next start. So: exactly
once while the process lives, at least once across crashes — handlers must be idempotent
by ``upload_id`` (the conversion job will be keyed by it).

A finished upload keeps its record (so a client that lost the last answer learns from HEAD
that it is done) but not its bytes: the handler must keep what it needs (a hard link, a
sealed copy) before it returns, and the store then deletes its ``data``, so no plaintext
copy of a creator's file lingers here after the finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import AsyncIterable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qfzz.ingest._leases import LEASE_SECONDS, Leases
from qfzz.ingest._tus import (
    Checksum,
    ChecksumMismatch,
    EmptyUpload,
    OffsetMismatch,
    QuotaExceeded,
    TooManyUploads,
    TusError,
    UnknownUpload,
    UploadExpired,
    UploadFinished,
    UploadLocked,
    UploadTooLarge,
)

log = logging.getLogger("qfzz.ingest")

RECEIVING = "receiving"
FINISHING = "finishing"
FINISHED = "finished"
_STATES = (RECEIVING, FINISHING, FINISHED)

#: At most this many unfinished uploads per listener (each is a directory on disk).
MAX_OPEN_UPLOADS = 32
#: Expired uploads are swept at most this often (seconds), on upload creation.
SWEEP_EVERY = 60.0
_ID = re.compile(r"[0-9a-f]{32}")
_MAX_STATE_BYTES = 64 * 1024


@dataclass(slots=True)
class Upload:
    upload_id: str
    owner: str
    length: int
    offset: int
    created: float
    expires: float
    metadata: dict[str, str] = field(default_factory=dict)
    state: str = RECEIVING

    @property
    def finished(self) -> bool:
        return self.state != RECEIVING

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Upload:
        upload = cls(
            upload_id=str(raw["upload_id"]),
            owner=str(raw["owner"]),
            length=int(raw["length"]),
            offset=int(raw["offset"]),
            created=float(raw["created"]),
            expires=float(raw["expires"]),
            metadata={str(k): str(v) for k, v in dict(raw["metadata"]).items()},
            state=str(raw["state"]),
        )
        if upload.state not in _STATES or not 0 <= upload.offset <= upload.length:
            raise ValueError("inconsistent upload state")
        return upload


class FinishHandler(Protocol):
    """Called once an upload has all its bytes: ``data`` is the file, still in the store
    until the handler returns (then it is deleted: keep a link or a copy of what you need)."""

    def __call__(self, upload: Upload, data: Path) -> None: ...


def _log_finished(upload: Upload, data: Path) -> None:
    log.info("upload %s finished: %d bytes at %s", upload.upload_id, upload.length, data)


class UploadStore:
    """Uploads of signed-in listeners, bounded by ``max_size`` per upload and ``quota``
    bytes per listener (declared lengths of everything they hold here)."""

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], float],
        max_size: int,
        quota: int,
        expiry_seconds: float,
        on_finished: FinishHandler = _log_finished,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.root = root
        self.max_size = max_size
        self.quota = quota
        self.expiry_seconds = expiry_seconds
        self.on_finished = on_finished
        self._clock = clock
        self._leases = Leases(lease_seconds)
        self._lock = threading.RLock()
        self._next_sweep = 0.0
        self._uploads: dict[str, Upload] = {}
        root.mkdir(parents=True, exist_ok=True)
        for entry in root.iterdir():
            self._load(entry)

    # -- reading ---------------------------------------------------------------------

    def _load(self, entry: Path) -> None:
        if not _ID.fullmatch(entry.name):
            return
        try:
            with (entry / "state.json").open("rb") as f:
                raw = json.loads(f.read(_MAX_STATE_BYTES))
            upload = Upload.from_json(raw)
            if upload.upload_id != entry.name:
                raise ValueError("state names another upload")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("upload %s unreadable, ignored: %s", entry.name, exc)
            return
        self._uploads[upload.upload_id] = upload

    def data_path(self, upload_id: str) -> Path:
        return self.root / upload_id / "data"

    def get(self, upload_id: str, owner: str) -> Upload:
        """The caller's upload; another listener's is unknown to them (404, not 403)."""
        now = self._clock()
        with self._lock:
            upload = self._uploads.get(upload_id) if _ID.fullmatch(upload_id) else None
            if upload is None or upload.owner != owner:
                raise UnknownUpload("no such upload")
            if not upload.finished and now >= upload.expires:
                if not self._leases.busy(upload_id, now):
                    self._delete(upload_id)
                raise UploadExpired("the upload expired; start again")
            return upload

    def uploads_of(self, owner: str) -> list[Upload]:
        with self._lock:
            return [u for u in self._uploads.values() if u.owner == owner]

    # -- writing ---------------------------------------------------------------------

    def _save(self, upload: Upload) -> None:
        """Replace ``state.json`` atomically and durably (the finish transitions rely on it)."""
        directory = self.root / upload.upload_id
        tmp = directory / "state.json.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(upload.to_json(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / "state.json")
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _delete(self, upload_id: str) -> None:
        self._uploads.pop(upload_id, None)
        shutil.rmtree(self.root / upload_id, ignore_errors=True)

    def create(self, owner: str, length: int, metadata: dict[str, str]) -> Upload:
        """A new upload of ``length`` bytes; an empty file is no content, so it is refused."""
        now = self._clock()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY
            self.remove_expired(now)
        if length == 0:
            raise EmptyUpload("an empty file is no music: Upload-Length must be at least 1")
        if length > self.max_size:
            raise UploadTooLarge(f"Upload-Length is over the largest upload, {self.max_size}")
        with self._lock:
            mine = [u for u in self._uploads.values() if u.owner == owner]
            used = sum(u.length for u in mine)
            if used + length > self.quota:
                raise QuotaExceeded(f"{used} of {self.quota} bytes used; this needs {length}")
            if sum(1 for u in mine if not u.finished) >= MAX_OPEN_UPLOADS:
                raise TooManyUploads(f"at most {MAX_OPEN_UPLOADS} unfinished uploads")
            upload_id = secrets.token_hex(16)
            upload = Upload(
                upload_id, owner, length, 0, now, now + self.expiry_seconds, dict(metadata)
            )
            (self.root / upload_id).mkdir()
            self.data_path(upload_id).touch()
            self._save(upload)
            self._uploads[upload_id] = upload
            return upload

    async def append(
        self,
        upload_id: str,
        owner: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        declared: int | None = None,
        checksum: Checksum | None = None,
    ) -> Upload:
        """Write one PATCH body at ``offset``; ``declared`` is its Content-Length (a body
        that ends short of it is a client gone away)."""
        upload = self.get(upload_id, owner)
        token = self._leases.acquire(upload_id, self._clock())
        try:
            if offset != upload.offset:
                raise OffsetMismatch(f"the upload is at offset {upload.offset}, not {offset}")
            if upload.offset == upload.length:
                return upload  # a retried last PATCH: all is here, its bytes moved on
            remaining = upload.length - upload.offset
            if declared is not None and declared > remaining:
                raise UploadTooLarge(f"the body is over the {remaining} bytes still missing")
            received = await self._receive(upload, token, body, remaining, declared, checksum)
            if received == 0:
                return upload
            if not self._leases.holds(upload_id, token):
                raise UploadLocked("another request took this upload over")
            with self._lock:
                upload.offset += received
                upload.expires = self._clock() + self.expiry_seconds
                self._save(upload)
            if upload.offset == upload.length:
                await self._finish(upload)
            return upload
        finally:
            self._leases.release(upload_id, token)

    async def _receive(
        self,
        upload: Upload,
        token: int,
        body: AsyncIterable[bytes],
        remaining: int,
        declared: int | None,
        checksum: Checksum | None,
    ) -> int:
        """Write the body after the recorded offset (fsynced); the count of bytes kept.

        Every write first renews the lease, with no await in between, so a holder that
        lost the upload never writes after the new holder started (which truncates the
        data file back to the recorded offset)."""
        start = upload.offset
        hasher = hashlib.new(checksum.algorithm) if checksum is not None else None
        received = 0
        # Unbuffered, at explicit positions: a buffer flushed when a stale holder's file
        # closes would land after the new holder's bytes.
        fd = os.open(self.data_path(upload.upload_id), os.O_WRONLY)
        try:
            os.ftruncate(fd, start)
            try:
                async for chunk in body:
                    if not self._leases.renew(upload.upload_id, token, self._clock()):
                        raise UploadLocked("another request took this upload over")
                    if received + len(chunk) > remaining:
                        raise UploadTooLarge(f"the body is over the {remaining} bytes missing")
                    view = memoryview(chunk)
                    while view:
                        written = os.pwrite(fd, view, start + received)
                        view = view[written:]
                        received += written
                    if hasher is not None:
                        hasher.update(chunk)
                if checksum is not None and declared is not None and received < declared:
                    raise TusError("the body ended early; its checksum cannot be checked")
                if (
                    checksum is not None
                    and hasher is not None
                    and hasher.digest() != checksum.digest
                ):
                    raise ChecksumMismatch(f"the body's {checksum.algorithm} differs")
            except TusError:
                if self._leases.holds(upload.upload_id, token):
                    os.ftruncate(fd, start)
                raise
            await asyncio.to_thread(os.fsync, fd)
        finally:
            os.close(fd)
        return received

    async def _finish(self, upload: Upload) -> None:
        with self._lock:
            if upload.state != RECEIVING:
                return
            upload.state = FINISHING
            self._save(upload)
        await asyncio.to_thread(self._run_handler, upload)

    def _run_handler(self, upload: Upload) -> None:
        try:
            self.on_finished(upload, self.data_path(upload.upload_id))
        except Exception:
            log.exception("finish handler failed for upload %s; retried on recover()", upload)
            return
        with self._lock:
            upload.state = FINISHED
            self._save(upload)
        with contextlib.suppress(FileNotFoundError):
            self.data_path(upload.upload_id).unlink()

    def recover(self) -> list[str]:
        """Call the handler again for uploads a crash left ``finishing`` (at least once)."""
        with self._lock:
            stuck = [u for u in self._uploads.values() if u.state == FINISHING]
        for upload in stuck:
            self._run_handler(upload)
        return [u.upload_id for u in stuck]

    def terminate(self, upload_id: str, owner: str) -> None:
        """The tus termination extension: only unfinished uploads (finished ones belong to
        the library's conversion now)."""
        upload = self.get(upload_id, owner)
        token = self._leases.acquire(upload_id, self._clock())
        try:
            if upload.finished:
                raise UploadFinished("a finished upload cannot be terminated")
            with self._lock:
                self._delete(upload_id)
        finally:
            self._leases.release(upload_id, token)

    def discard(self, upload_id: str) -> None:
        """Forget an upload whatever its state (for its consumer, once the bytes moved on)."""
        with self._lock:
            self._delete(upload_id)

    def remove_expired(self, now: float) -> list[str]:
        """Delete unfinished uploads whose expiry passed and that nobody writes right now."""
        with self._lock:
            expired = [
                u.upload_id
                for u in self._uploads.values()
                if not u.finished and now >= u.expires and not self._leases.busy(u.upload_id, now)
            ]
            for upload_id in expired:
                self._delete(upload_id)
        return expired
