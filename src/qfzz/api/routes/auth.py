from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from qfzz.api._auth import UserDep, bearer, client_ip
from qfzz.api._bounds import UserId
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute, before_body
from qfzz.models import user_key
from qfzz.station import QFZZStation

router = APIRouter(route_class=GuardedRoute, tags=["accounts"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: UserId
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    user_id: str
    token: str
    role: str


class MeOut(BaseModel):
    user_id: str
    role: str


class StreamTokenOut(BaseModel):
    token: str
    expires_in: int
    personal_stream: str
    shared_stream: str


class AppPasswordOut(BaseModel):
    user_id: str
    app_password: str


async def _login_limit_by_ip(request: Request) -> None:
    station: QFZZStation = request.app.state.station
    station.limits.login.hit(f"ip:{client_ip(request)}")
    station.limits.password_budget.hit("station")


@router.post("/auth/login", response_model=SessionOut, max_body_size=16 * 1024)
@before_body(_login_limit_by_ip)
def login(body: LoginIn, request: Request, station: StationDep) -> SessionOut:
    """Sign in. Attempts are limited per address and station-wide (both before the body is
    read) and per user: every spelling of an id (case, width, spaces) shares one budget."""
    station.limits.login.hit(f"user:{user_key(body.user_id.strip())}")
    token = station.accounts.login(body.user_id, body.password)
    principal = station.accounts.authenticate(token)
    return SessionOut(user_id=principal.user_id, token=token, role=principal.role)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    user: UserDep, station: StationDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = bearer(authorization)
    if token is not None:
        station.accounts.logout(token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut)
def me(user: UserDep) -> MeOut:
    return MeOut(user_id=user.user_id, role=user.role)


@router.get("/auth/stream-token", response_model=StreamTokenOut)
def stream_token(user: UserDep, station: StationDep) -> StreamTokenOut:
    """A signed ``?token=`` bound to this session: it stops working when the session ends."""
    token = station.accounts.stream_token(user)
    return StreamTokenOut(
        token=token,
        expires_in=int(station.accounts.stream_token_ttl),
        personal_stream=f"/api/v1/listeners/{quote(user.user_id, safe='')}/stream?token={token}",
        shared_stream=f"/stream/main?token={token}",
    )


@router.get("/me/app-password", response_model=AppPasswordOut)
def app_password(user: UserDep, station: StationDep) -> AppPasswordOut:
    """The password Subsonic apps use (separate from the login password)."""
    return AppPasswordOut(
        user_id=user.user_id, app_password=station.accounts.app_password(user.user_id)
    )


@router.post("/me/app-password", response_model=AppPasswordOut)
def new_app_password(user: UserDep, station: StationDep) -> AppPasswordOut:
    password = station.accounts.regenerate_app_password(user.user_id)
    return AppPasswordOut(user_id=user.user_id, app_password=password)
