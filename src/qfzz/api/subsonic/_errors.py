"""The one place where errors become Subsonic error codes.

====  =====================================================  ==============================
code  meaning                                                raised for
====  =====================================================  ==============================
0     a generic error                                        anything else (with its text)
10    required parameter is missing                          ``MissingParameter``,
                                                             ``MissingField``
40    wrong username or password                             ``AuthError``
41    token authentication not supported                     ``TokenAuthUnsupported``
42    provided authentication mechanism not supported        ``AuthMechanismUnsupported``
43    multiple conflicting authentication mechanisms         ``ConflictingAuth``
44    invalid API key                                        ``InvalidApiKey``
50    user is not authorized for the given operation         ``Forbidden``
70    the requested data was not found                       ``SubsonicNotFound``,
                                                             ``qfzz.errors.NotFound`` (track,
                                                             listener, mount, album, …)
====  =====================================================  ==============================

Errors are told apart by type, never by their text. A domain ``MissingField`` names fields in
QFZZ's terms; its message here names them as Subsonic parameters (``PARAMETERS``).
Every error carries a message; unexpected exceptions are logged and answered with code 0.
"""

from __future__ import annotations

import logging

from qfzz.edge import UnknownDevice
from qfzz.errors import AuthError, Forbidden, MissingField, NotFound, QfzzError

log = logging.getLogger(__name__)

GENERIC = 0
MISSING_PARAMETER = 10
WRONG_CREDENTIALS = 40
TOKEN_AUTH_UNSUPPORTED = 41
AUTH_MECHANISM_UNSUPPORTED = 42
CONFLICTING_AUTH = 43
INVALID_API_KEY = 44
NOT_AUTHORIZED = 50
NOT_FOUND = 70
#: Domain field names → the Subsonic parameters that carry them (where they differ).
PARAMETERS = {"from_year": "fromYear", "to_year": "toYear"}


class SubsonicError(QfzzError):
    """An error that only exists in the Subsonic protocol."""

    subsonic_code = GENERIC


class MissingParameter(SubsonicError):
    subsonic_code = MISSING_PARAMETER

    def __init__(self, *names: str) -> None:
        super().__init__(f"required parameter is missing: {' or '.join(names)}")


class TokenAuthUnsupported(SubsonicError):
    subsonic_code = TOKEN_AUTH_UNSUPPORTED


class AuthMechanismUnsupported(SubsonicError):
    subsonic_code = AUTH_MECHANISM_UNSUPPORTED


class ConflictingAuth(SubsonicError):
    subsonic_code = CONFLICTING_AUTH


class InvalidApiKey(SubsonicError):
    subsonic_code = INVALID_API_KEY


class SubsonicNotFound(SubsonicError):
    """An id the protocol cannot name anything with (wrong prefix, not a number), or an
    unknown method; what the domain cannot find is ``qfzz.errors.NotFound``."""

    subsonic_code = NOT_FOUND


_CODES: tuple[tuple[type[Exception], int], ...] = (
    (AuthError, WRONG_CREDENTIALS),
    (Forbidden, NOT_AUTHORIZED),
    (NotFound, NOT_FOUND),
    (UnknownDevice, NOT_FOUND),
)


def subsonic_error(exc: Exception) -> tuple[int, str]:
    """``(code, message)`` for any exception a handler raised."""
    if isinstance(exc, SubsonicError):
        return exc.subsonic_code, exc.detail
    if isinstance(exc, MissingField):
        names = " and ".join(PARAMETERS.get(f, f) for f in exc.fields)
        return MISSING_PARAMETER, f"required parameter is missing: {names}"
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code, str(exc)
    if isinstance(exc, QfzzError):
        return GENERIC, exc.detail
    log.exception("Subsonic request failed", exc_info=exc)
    return GENERIC, f"internal error: {type(exc).__name__}"
