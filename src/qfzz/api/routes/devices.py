from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from qfzz.api._auth import UserDep
from qfzz.api._deps import StationDep

router = APIRouter(prefix="/devices", tags=["devices"])


class DeviceIn(BaseModel):
    """A device as the edge optimizer knows it; field checks happen in ``qfzz.edge``."""

    model_config = ConfigDict(extra="allow")
    device_id: str = Field(min_length=1, max_length=128)
    device_type: str
    user_id: str | None = None
    preferences: dict[str, Any] | None = None


class DeviceUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network_type: str | None = None
    bandwidth_mbps: float | None = None
    battery_level: float | None = None
    battery_powered: bool | None = None


class OptimizationOut(BaseModel):
    device_id: str
    optimization: dict[str, Any]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OptimizationOut)
def register(body: DeviceIn, station: StationDep, user: UserDep) -> OptimizationOut:
    owner = body.user_id or user.user_id
    user.require(owner)
    config = body.model_dump(exclude={"user_id", "preferences"}, exclude_none=True)
    params = station.register_device(
        config, user_id=owner, preferences=body.preferences, takeover=user.is_admin
    )
    return OptimizationOut(device_id=body.device_id, optimization=params.to_dict())


@router.patch("/{device_id}", response_model=OptimizationOut)
def update(
    device_id: str, body: DeviceUpdateIn, station: StationDep, user: UserDep
) -> OptimizationOut:
    params = station.update_device(device_id, by=user, **body.model_dump(exclude_none=True))
    return OptimizationOut(device_id=device_id, optimization=params.to_dict())


@router.get("/{device_id}/optimization", response_model=OptimizationOut)
def optimization(device_id: str, station: StationDep, user: UserDep) -> OptimizationOut:
    params = station.device_params(device_id, by=user)
    return OptimizationOut(device_id=device_id, optimization=params.to_dict())
