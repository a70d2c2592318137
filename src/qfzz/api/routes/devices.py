from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

from qfzz.api._auth import UserDep
from qfzz.api._bounds import Finite, Scalar, ShortName, UserId, one_line
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute

#: Most fields a device may describe itself with (the optimizer knows about a dozen).
MAX_DEVICE_FIELDS = 32

router = APIRouter(route_class=GuardedRoute, prefix="/devices", tags=["devices"])


DeviceIdPath = Annotated[str, Path(min_length=1, max_length=128), AfterValidator(one_line)]


class DeviceIn(BaseModel):
    """A device as the edge optimizer knows it; field checks happen in ``qfzz.edge``.

    Fields beyond these are passed to the optimizer (which names any it does not know);
    here they are only bounded: at most ``MAX_DEVICE_FIELDS``, each a JSON scalar or a
    short list of names (``codecs``).
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar | Annotated[list[ShortName], Field(max_length=16)]] = (
        Field(init=False)
    )

    device_id: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(one_line)]
    device_type: ShortName
    user_id: UserId | None = None
    preferences: Annotated[dict[ShortName, Scalar], Field(max_length=8)] | None = None

    @model_validator(mode="after")
    def _few_fields(self) -> DeviceIn:
        if len(self.__pydantic_extra__ or {}) > MAX_DEVICE_FIELDS:
            raise ValueError(f"a device has at most {MAX_DEVICE_FIELDS} fields")
        return self


class DeviceUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network_type: ShortName | None = None
    bandwidth_mbps: Finite | None = None
    battery_level: Finite | None = None
    battery_powered: StrictBool | None = None


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
    device_id: DeviceIdPath, body: DeviceUpdateIn, station: StationDep, user: UserDep
) -> OptimizationOut:
    params = station.update_device(device_id, by=user, **body.model_dump(exclude_none=True))
    return OptimizationOut(device_id=device_id, optimization=params.to_dict())


@router.get("/{device_id}/optimization", response_model=OptimizationOut)
def optimization(device_id: DeviceIdPath, station: StationDep, user: UserDep) -> OptimizationOut:
    params = station.device_params(device_id, by=user)
    return OptimizationOut(device_id=device_id, optimization=params.to_dict())
