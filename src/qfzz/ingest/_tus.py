"""The tus 1.0.0 vocabulary: header values read with bounds, and the protocol's refusals.

tus is an HTTP protocol, so some of its refusals have statuses the protocol itself fixes
(409 offset mismatch, 412 version, 413 too large, 415 PATCH content type, 460 checksum
mismatch, 410 expired). Each refusal here carries that status as plain data (``status``);
the HTTP layer answers with it and a JSON body. Everything a client sends is bounded before
it is used: header lengths, metadata pair counts and sizes, integer digits.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from qfzz.errors import InvalidInput

TUS_VERSION = "1.0.0"
#: Extensions this server implements, as ``Tus-Extension`` lists them.
EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")
#: ``Upload-Checksum`` algorithms: sha1 (the one the spec requires) and sha256.
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
_DIGEST_SIZES = {"sha1": 20, "sha256": 32}
PATCH_CONTENT_TYPE = "application/offset+octet-stream"

MAX_METADATA_HEADER = 4096
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 1024  # decoded bytes
_KEY = re.compile(r"[A-Za-z0-9._-]+")
_DIGITS = re.compile(r"[0-9]{1,19}")


class TusError(InvalidInput):
    """A tus request refused; ``status`` is the HTTP status the protocol (or we) chose."""

    code = "upload_invalid"
    status = 400


class UnsupportedVersion(TusError):
    code = "tus_version_unsupported"
    status = 412


class WrongContentType(TusError):
    code = "upload_content_type"
    status = 415


class UploadTooLarge(TusError):
    code = "upload_too_large"
    status = 413


class QuotaExceeded(TusError):
    code = "upload_quota_exceeded"
    status = 413


class TooManyUploads(TusError):
    code = "too_many_uploads"
    status = 403


class EmptyUpload(TusError):
    code = "upload_empty"
    status = 422


class OffsetMismatch(TusError):
    code = "upload_offset_mismatch"
    status = 409


class ChecksumMismatch(TusError):
    code = "upload_checksum_mismatch"
    status = 460


class UnknownUpload(TusError):
    code = "unknown_upload"
    status = 404


class UploadExpired(TusError):
    code = "upload_expired"
    status = 410


class UploadFinished(TusError):
    code = "upload_finished"
    status = 403


class UploadLocked(TusError):
    """Another request writes this upload and its lease has not run out (tusd: 423)."""

    code = "upload_locked"
    status = 423


def require_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise UnsupportedVersion(f"send 'Tus-Resumable: {TUS_VERSION}'")


def require_patch_type(value: str | None) -> None:
    if value is None or value.split(";")[0].strip().lower() != PATCH_CONTENT_TYPE:
        raise WrongContentType(f"a PATCH body must be of type {PATCH_CONTENT_TYPE}")


def parse_count(value: str | None, header: str) -> int:
    """A non-negative integer header (``Upload-Length``, ``Upload-Offset``)."""
    if value is None:
        raise TusError(f"{header} is required")
    if not _DIGITS.fullmatch(value.strip()):
        raise TusError(f"{header} must be a non-negative integer of at most 19 digits")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: ``key base64,key base64,key``; values must decode to UTF-8."""
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_METADATA_HEADER:
        raise TusError(f"Upload-Metadata is longer than {MAX_METADATA_HEADER} characters")
    pairs = value.split(",")
    if len(pairs) > MAX_METADATA_PAIRS:
        raise TusError(f"Upload-Metadata has more than {MAX_METADATA_PAIRS} pairs")
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, _, encoded = pair.strip().partition(" ")
        if not _KEY.fullmatch(key) or len(key) > MAX_METADATA_KEY:
            raise TusError(f"Upload-Metadata keys are 1-{MAX_METADATA_KEY} of [A-Za-z0-9._-]")
        if key in metadata:
            raise TusError(f"Upload-Metadata names {key!r} twice")
        if len(encoded) > 4 * ((MAX_METADATA_VALUE + 2) // 3):
            raise TusError(f"Upload-Metadata {key!r} is longer than {MAX_METADATA_VALUE} bytes")
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
            metadata[key] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(f"Upload-Metadata {key!r} is not base64 of UTF-8 text") from None
        if len(raw) > MAX_METADATA_VALUE:
            raise TusError(f"Upload-Metadata {key!r} is longer than {MAX_METADATA_VALUE} bytes")
    return metadata


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


@dataclass(frozen=True, slots=True)
class Checksum:
    """An ``Upload-Checksum`` the body of one PATCH must have."""

    algorithm: str
    digest: bytes


def parse_checksum(value: str | None) -> Checksum | None:
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in _DIGEST_SIZES:
        raise TusError(f"Upload-Checksum algorithm must be one of {', '.join(_DIGEST_SIZES)}")
    try:
        digest = base64.b64decode(encoded.strip()[:64], validate=True)
    except binascii.Error:
        raise TusError("Upload-Checksum digest is not base64") from None
    if len(digest) != _DIGEST_SIZES[algorithm]:
        raise TusError(
            f"Upload-Checksum {algorithm} digest must be {_DIGEST_SIZES[algorithm]} bytes"
        )
    return Checksum(algorithm, digest)
