"""Who is asking: a bearer token, or on stream URLs a credential in the query.

Players cannot send an ``Authorization`` header, so stream routes also take, in order: a
listener's stream key (``?key=``, lasting until revoked), a signed stream token
(``?token=``, an hour, ends with its session), or Subsonic credentials (``u`` with ``t`` +
``s`` or ``p``, or ``apiKey``: the stream URLs Subsonic apps are given carry them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from qfzz.api._deps import StationDep
from qfzz.errors import AuthError
from qfzz.station import Principal, QFZZStation


def bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthError("use 'Authorization: Bearer <token>'")
    return value.strip()


def signed_in(station: QFZZStation, authorization: str | None) -> Principal:
    """The listener behind an ``Authorization: Bearer`` header, or ``AuthError``."""
    token = bearer(authorization)
    if token is None:
        raise AuthError("sign in first: send 'Authorization: Bearer <token>'")
    return station.accounts.authenticate(token)


async def _principal(
    station: StationDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    return signed_in(station, authorization)


@dataclass(frozen=True, slots=True)
class StreamCaller:
    """Who listens, and the query credential that said so (``?key=``, ``?token=``, or
    Subsonic's), which URLs made for them — playlist files — carry on. Empty when the
    caller sent a bearer header."""

    principal: Principal
    credentials: tuple[tuple[str, str], ...] = ()


async def _stream_caller(
    request: Request,
    station: StationDep,
    authorization: Annotated[str | None, Header()] = None,
    key: Annotated[
        str | None, Query(max_length=128, description="the listener's stream key")
    ] = None,
    token: Annotated[str | None, Query(max_length=256, description="a signed stream token")] = None,
    u: Annotated[
        str | None, Query(max_length=256, description="Subsonic user (with t and s, or p)")
    ] = None,
    t: Annotated[
        str | None, Query(max_length=64, description="Subsonic token: md5(app password + s)")
    ] = None,
    s: Annotated[str | None, Query(max_length=256, description="Subsonic salt")] = None,
    p: Annotated[str | None, Query(max_length=1024, description="Subsonic app password")] = None,
    api_key: Annotated[str | None, Query(alias="apiKey", max_length=256)] = None,
) -> StreamCaller:
    if authorization is not None:
        return StreamCaller(signed_in(station, authorization))
    accounts = station.accounts
    if key is not None:
        principal = await run_in_threadpool(accounts.verify_stream_key, key)
        return StreamCaller(principal, (("key", key),))
    if token is not None:
        return StreamCaller(accounts.verify_stream_token(token), (("token", token),))
    if api_key is not None:
        principal = await run_in_threadpool(accounts.subsonic, None, api_key=api_key)
        return StreamCaller(principal, (("apiKey", api_key),))
    if u is not None:
        given = (("u", u), ("t", t), ("s", s), ("p", p))
        principal = await run_in_threadpool(
            subsonic_password, station, client_ip(request), u, p, t, s
        )
        return StreamCaller(principal, tuple((n, v) for n, v in given if v is not None))
    raise AuthError("sign in first, or use a stream URL with ?key= (or ?token=)")


#: What a login password typed into a Subsonic app (or a stream URL) is told.
LOGIN_PASSWORD_HELP = (
    "this is your login password; Subsonic apps need your app password from "
    "GET /api/v1/me/app-password (or 'Subsonic apps' in the web player)"
)


def subsonic_password(
    station: QFZZStation,
    client: str,
    user: str,
    password: str | None,
    token: str | None,
    salt: str | None,
) -> Principal:
    """Subsonic password or token auth, for the Subsonic API and stream URLs alike: wrong
    attempts are counted per address and per user in the same windows (a guesser gains
    nothing by switching routes), and a login password given where the app password
    belongs is told so."""
    keys = (f"subsonic-ip:{client}", f"subsonic-user:{user}")
    station.limits.auth_failures.check(*keys)
    try:
        return station.accounts.subsonic(user, password=password, token=token, salt=salt)
    except AuthError:
        station.limits.auth_failures.add(*keys)
        # Only a plain ``p`` can be told apart (a token hides the password), and only
        # inside the failure limit just checked: the argon2 check costs what a login does.
        if password is not None and station.is_login_password(user, _plain(password)):
            raise AuthError(LOGIN_PASSWORD_HELP) from None
        raise


def _plain(password: str) -> str:
    """``p`` as typed: ``enc:`` hex decoded (undecodable hex stays as sent)."""
    if password.startswith("enc:"):
        try:
            return bytes.fromhex(password[4:]).decode()
        except ValueError:
            return password
    return password


async def _listener(caller: Annotated[StreamCaller, Depends(_stream_caller)]) -> Principal:
    return caller.principal


def client_ip(request: Request) -> str:
    """The peer's address; the server believes X-Forwarded-For only from trusted proxies
    (``QFZZ_TRUSTED_PROXIES``), so this is never a header a client chose."""
    return request.client.host if request.client else "unknown"


def admin_caller(request: Request) -> bool:
    """Whether the request is signed in as an admin (False when it is not signed in at
    all; a bearer token that signs in nobody is refused)."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        return False
    station: QFZZStation = request.app.state.station
    return signed_in(station, authorization).is_admin


async def admin_before_body(request: Request) -> None:
    """Only an admin's request to an expensive route is read at all (a ``before_body``
    guard: an anonymous body of many megabytes is refused unread)."""
    station: QFZZStation = request.app.state.station
    signed_in(station, request.headers.get("authorization")).require_admin()


UserDep = Annotated[Principal, Depends(_principal)]
#: A listener on a stream route (bearer, stream key, stream token or Subsonic credentials).
ListenerDep = Annotated[Principal, Depends(_listener)]
StreamCallerDep = Annotated[StreamCaller, Depends(_stream_caller)]
