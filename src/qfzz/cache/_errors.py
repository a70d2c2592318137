"""Errors of the cache layer.

::

    QfzzError
    └── CacheError
        ├── UnserializableValue   (also a TypeError: a programming error at the call site)
        ├── CorruptValue          (stored bytes the codec cannot read: treated as a miss)
        ├── UnknownNamespace      (asked to clear a namespace no cache service owns)
        └── BackendError          (the backend refused a command)
            └── BackendUnavailable  (cannot reach the server: feeds the circuit breaker)

Services never let any of these escape to a request (the store is the source of truth);
only a cache opened with ``strict=True`` re-raises ``UnserializableValue``, so tests catch
a value that would silently never be cached.
"""

from __future__ import annotations

from qfzz.errors import QfzzError


class CacheError(QfzzError):
    code = "cache_error"


class UnserializableValue(CacheError, TypeError):
    """The codec has no exact encoding for a value (the message names the type and path)."""

    code = "cache_unserializable"


class CorruptValue(CacheError):
    """Bytes found under a key that the codec cannot decode."""

    code = "cache_corrupt_value"


class UnknownNamespace(CacheError):
    """``clear`` of a namespace that no cache service owns (an operator's typo)."""

    code = "unknown_namespace"


class BackendError(CacheError):
    code = "cache_backend_error"


class BackendUnavailable(BackendError):
    """The server could not be reached in time; the circuit breaker counts these."""

    code = "cache_unavailable"
