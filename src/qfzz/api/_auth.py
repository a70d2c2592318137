"""Who is asking: a bearer token, or a signed ``?token=`` on stream URLs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

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


async def _listener_or_stream_token(
    station: StationDep,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(description="signed stream token")] = None,
) -> Principal:
    if authorization is not None:
        return signed_in(station, authorization)
    if token is not None:
        return station.accounts.verify_stream_token(token)
    raise AuthError("sign in first, or use a stream URL with ?token=")


def client_ip(request: Request) -> str:
    """The peer's address; the server believes X-Forwarded-For only from trusted proxies
    (``QFZZ_TRUSTED_PROXIES``), so this is never a header a client chose."""
    return request.client.host if request.client else "unknown"


async def admin_before_body(request: Request) -> None:
    """Only an admin's request to an expensive route is read at all (a ``before_body``
    guard: an anonymous body of many megabytes is refused unread)."""
    station: QFZZStation = request.app.state.station
    signed_in(station, request.headers.get("authorization")).require_admin()


UserDep = Annotated[Principal, Depends(_principal)]
ListenerDep = Annotated[Principal, Depends(_listener_or_stream_token)]
