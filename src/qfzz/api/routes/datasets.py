from __future__ import annotations

from fastapi import APIRouter, status

from qfzz.api._auth import UserDep, admin_before_body
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute, before_body
from qfzz.api._schemas import DatasetIn, DatasetOut

router = APIRouter(route_class=GuardedRoute, prefix="/datasets", tags=["catalog"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetOut)
@before_body(admin_before_body)
def import_dataset(body: DatasetIn, station: StationDep, user: UserDep) -> DatasetOut:
    user.require_admin()
    result = station.import_dataset(
        body.name, body.tracks, body.license, min_quality=body.min_quality
    )
    return DatasetOut.of(
        result.dataset.dataset_id, result.dataset.name, result.report, result.track_ids
    )
