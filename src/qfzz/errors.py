"""One root exception for all of QFZZ, with a subclass per layer.

The API maps these to HTTP answers in one place (``qfzz.api._errors``), the Subsonic API to
its error codes in another (``qfzz.api.subsonic``), and the CLI to a message and a non-zero
exit, so every error carries a stable machine-readable ``code``. Frontends tell errors apart
by their type (and typed attributes such as ``MissingField.fields``), never by their text.

::

    QfzzError
    ├── StationError
    │   ├── StationNotRunning
    │   ├── NotFound
    │   │   ├── UnknownListener
    │   │   ├── UnknownTrack
    │   │   ├── UnknownMount
    │   │   ├── UnknownJob
    │   │   └── UnknownItem
    │   ├── ListenerExists
    │   └── IdempotencyKeyInFlight
    ├── AuthError
    ├── Forbidden
    ├── RateLimited
    ├── InvalidInput
    │   ├── MissingField
    │   ├── InvalidInteraction
    │   ├── UnstorableValue
    │   ├── InvalidIdempotencyKey
    │   └── IdempotencyKeyReused
    ├── TrustError
    │   ├── ChainInvalid
    │   └── ChainConflict
    ├── CacheError (qfzz.cache: UnserializableValue, CorruptValue, BackendError, …)
    ├── CatalogError
    │   ├── UnreadableFile
    │   └── InvalidDataset
    │       ├── LicenseRejected
    │       └── QualityTooLow
    └── StoreError
"""

from __future__ import annotations


class QfzzError(Exception):
    """Root of every error QFZZ raises on purpose."""

    code = "qfzz_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StationError(QfzzError):
    code = "station_error"


class StationNotRunning(StationError):
    code = "station_not_running"


class NotFound(StationError):
    """Nothing with the id or name asked for (HTTP 404, Subsonic code 70)."""

    code = "not_found"


class UnknownListener(NotFound):
    code = "unknown_listener"


class ListenerExists(StationError):
    code = "listener_exists"


class UnknownTrack(NotFound):
    code = "unknown_track"


class UnknownMount(NotFound):
    code = "unknown_mount"


class UnknownJob(NotFound):
    code = "unknown_job"


class UnknownItem(NotFound):
    """No album, artist or listener playlist with that id in the library."""


class IdempotencyKeyInFlight(StationError):
    """The first request with this idempotency key is still being answered (HTTP 409)."""

    code = "idempotency_key_in_flight"


class AuthError(QfzzError):
    """Missing, wrong or expired credentials (HTTP 401)."""

    code = "unauthorized"


class Forbidden(QfzzError):
    """Valid credentials, but not for this listener or this admin route (HTTP 403)."""

    code = "forbidden"


class RateLimited(QfzzError):
    """Too many attempts (HTTP 429 with Retry-After)."""

    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidInput(QfzzError):
    """Input that breaks a documented rule; nothing is stored when it is raised."""

    code = "invalid_input"


class MissingField(InvalidInput):
    """A value the operation needs was not given (an album list by year without its years).

    ``fields`` names them in the domain's terms; a frontend that calls them something else
    (a query parameter's name) translates the names, not the message.
    """

    code = "missing_field"

    def __init__(self, *fields: str) -> None:
        super().__init__(f"required field is missing: {' and '.join(fields)}")
        self.fields = fields


class InvalidInteraction(InvalidInput):
    code = "invalid_interaction"


class UnstorableValue(InvalidInput):
    """A value the database refuses (NUL in text, a number out of range); nothing stored."""

    code = "unstorable_value"


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(InvalidInput):
    """The idempotency key was already used for a different request."""

    code = "idempotency_key_reused"


class TrustError(QfzzError):
    code = "trust_error"


class ChainInvalid(TrustError):
    """The stored ledger fails validation; mining stops until it is repaired."""

    code = "chain_invalid"


class ChainConflict(TrustError):
    """Another writer appended to the ledger first (a block at the same height, or one
    that no longer links to the stored chain); the ledger reloads and carries on."""

    code = "chain_conflict"


class CatalogError(QfzzError):
    code = "catalog_error"


class UnreadableFile(CatalogError):
    code = "unreadable_file"


class InvalidDataset(CatalogError):
    code = "invalid_dataset"


class LicenseRejected(InvalidDataset):
    code = "license_rejected"


class QualityTooLow(InvalidDataset):
    code = "quality_too_low"


class StoreError(QfzzError):
    code = "store_error"
