"""The one place where errors become Subsonic error codes.

====  =====================================================  ==============================
code  meaning                                                raised for
====  =====================================================  ==============================
0     a generic error                                        anything else (with its text)
10    required parameter is missing                          ``MissingParameter``
40    wrong username or password                             ``AuthError``
41    token authentication not supported                     ``TokenAuthUnsupported``
43    multiple conflicting authentication mechanisms         ``ConflictingAuth``
44    invalid API key                                        ``InvalidApiKey``
50    user is not authorized for the given operation         ``Forbidden``
70    the requested data was not found                       ``NotFound``, unknown track,
                                                             listener, mount, album, …
====  =====================================================  ==============================

Every error carries a message; unexpected exceptions are logged and answered with code 0.
"""

from __future__ import annotations

import logging

from qfzz.edge import UnknownDevice
from qfzz.errors import (
    AuthError,
    Forbidden,
    InvalidInput,
    QfzzError,
    UnknownListener,
    UnknownMount,
    UnknownTrack,
)
from qfzz.station._library import UnknownItem

log = logging.getLogger(__name__)

GENERIC = 0
MISSING_PARAMETER = 10
WRONG_CREDENTIALS = 40
TOKEN_AUTH_UNSUPPORTED = 41
CONFLICTING_AUTH = 43
INVALID_API_KEY = 44
NOT_AUTHORIZED = 50
NOT_FOUND = 70


class SubsonicError(QfzzError):
    """An error that only exists in the Subsonic protocol."""

    subsonic_code = GENERIC


class MissingParameter(SubsonicError):
    subsonic_code = MISSING_PARAMETER

    def __init__(self, *names: str) -> None:
        super().__init__(f"required parameter is missing: {' or '.join(names)}")


class TokenAuthUnsupported(SubsonicError):
    subsonic_code = TOKEN_AUTH_UNSUPPORTED


class ConflictingAuth(SubsonicError):
    subsonic_code = CONFLICTING_AUTH


class InvalidApiKey(SubsonicError):
    subsonic_code = INVALID_API_KEY


class NotFound(SubsonicError):
    subsonic_code = NOT_FOUND


_CODES: tuple[tuple[type[Exception], int], ...] = (
    (AuthError, WRONG_CREDENTIALS),
    (Forbidden, NOT_AUTHORIZED),
    (UnknownTrack, NOT_FOUND),
    (UnknownListener, NOT_FOUND),
    (UnknownMount, NOT_FOUND),
    (UnknownItem, NOT_FOUND),
    (UnknownDevice, NOT_FOUND),
)


def subsonic_error(exc: Exception) -> tuple[int, str]:
    """``(code, message)`` for any exception a handler raised."""
    if isinstance(exc, SubsonicError):
        return exc.subsonic_code, exc.detail
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code, str(exc)
    if isinstance(exc, InvalidInput) and exc.detail.startswith("required parameter is missing"):
        return MISSING_PARAMETER, exc.detail
    if isinstance(exc, QfzzError):
        return GENERIC, exc.detail
    log.exception("Subsonic request failed", exc_info=exc)
    return GENERIC, f"internal error: {type(exc).__name__}"
