"""One Subsonic request: its parameters (query and form body merged), who asks, helpers.

Parameters may repeat (``id=…&id=…``); ``get`` reads the first, ``all`` reads every one.
Numbers and booleans that do not parse are a generic error (code 0) naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qfzz.api._auth import signed_in, subsonic_password
from qfzz.api._json import loads_bounded
from qfzz.api.subsonic._errors import ConflictingAuth, InvalidApiKey, MissingParameter
from qfzz.errors import AuthError, InvalidInput
from qfzz.station import Principal, QFZZStation

Params = dict[str, list[str]]
#: What a wrong ``apiKey`` is told: what an API key is, and where one comes from.
API_KEY_HELP = (
    "invalid API key: an API key is a QFZZ session token, the `token` that sign-up "
    "(POST /api/v1/listeners) or sign-in (POST /api/v1/auth/login) answers; it ends when "
    "you sign out. Apps without API key support sign in with your user id and your app "
    "password instead (GET /api/v1/me/app-password, or 'Subsonic apps' in the web player)"
)


@dataclass(frozen=True, slots=True)
class Call:
    station: QFZZStation
    params: Params
    user: Principal
    base_url: str
    body: Any = None  # a JSON request body (getTranscodeDecision's clientInfo)
    accepts_gzip: bool = False  # the client sent Accept-Encoding with gzip

    def get(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise MissingParameter(name)
        return value

    def all(self, name: str) -> list[str]:
        return list(self.params.get(name, []))

    def number(
        self, name: str, default: int | None = None, *, low: int = 0, high: int = 10**12
    ) -> int:
        value = self.get(name)
        if value is None or value == "":
            if default is None:
                raise MissingParameter(name)
            return default
        try:
            number = int(value)
        except ValueError:
            raise InvalidInput(f"{name} must be a whole number; got {value!r}") from None
        if not low <= number <= high:
            raise InvalidInput(f"{name} must be between {low} and {high}; got {number}")
        return number

    def optional_number(self, name: str) -> int | None:
        return None if self.get(name) in (None, "") else self.number(name)

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None or value == "":
            return default
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise InvalidInput(f"{name} must be true or false; got {value!r}")

    def json(self, name: str) -> Any:
        value = self.get(name)
        if value is None:
            return None
        return loads_bounded(value, what=name)

    @property
    def client(self) -> str:
        return self.get("c") or "unknown"


#: Methods that also take a listener's stream key (``key``): the audio a player fetches
#: from a URL it keeps, never the rest of the account.
KEYED_METHODS = frozenset({"stream", "download"})
#: Methods that also take a signed stream token (``token``, an hour): what QFZZ's web page
#: puts in ``<audio src>`` and ``<img src>``, which cannot send a header.
TOKEN_METHODS = frozenset({"stream", "download", "getCoverArt"})


def authenticate(
    station: QFZZStation,
    params: Params,
    client: str,
    method: str = "",
    authorization: str | None = None,
) -> Principal:
    """``apiKey``, or ``u`` with ``t`` + ``s`` or ``p`` (plain or ``enc:`` hex); for
    ``stream`` and ``download`` also QFZZ's stream key (``key``), alone. QFZZ's own web
    page sends its session as ``Authorization: Bearer`` (an ``apiKey`` out of the URL),
    and on media URLs a signed stream token (``token``); credentials in the query come
    first, so a header a proxy adds changes nothing for apps.

    Wrong passwords are limited per client address and per user (``station.limits.auth_failures``,
    the login limit's numbers): past the limit every attempt is refused, right or wrong,
    until the window passes. Successes never count — apps sign every request.
    """

    def first(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    api_key, user = first("apiKey"), first("u")
    key = first("key") if method in KEYED_METHODS else None
    token = first("token") if method in TOKEN_METHODS else None
    if token is not None:
        if user is not None or api_key is not None or key is not None:
            raise ConflictingAuth("use either token, key, apiKey, or u with a password or token")
        return station.accounts.verify_stream_token(token)
    if key is not None:
        if user is not None or api_key is not None:
            raise ConflictingAuth("use either key, apiKey, or u with a password or token")
        return station.accounts.verify_stream_key(key)
    if api_key is not None:
        if user is not None:
            raise ConflictingAuth("use either apiKey or u with a password or token, not both")
        try:
            return station.accounts.subsonic(None, api_key=api_key)
        except AuthError:
            raise InvalidApiKey(API_KEY_HELP) from None
    if not user:
        # The page's session, only when the query names nobody: an app behind a proxy
        # that adds its own (Basic) Authorization header is judged by its query alone.
        if authorization is not None and authorization[:7].lower() == "bearer ":
            return signed_in(station, authorization)
        raise MissingParameter("u", "apiKey")
    token, salt, password = first("t"), first("s"), first("p")
    if (token is None) != (salt is None):
        raise MissingParameter("t and s")
    if token is None and password is None:
        raise MissingParameter("p", "t and s")
    return subsonic_password(station, client, user, password, token, salt)
