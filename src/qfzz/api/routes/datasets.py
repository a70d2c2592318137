from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from qfzz.api._auth import UserDep, admin_before_body
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute, before_body
from qfzz.api._idempotency import IdempotencyKeyHeader, answered, key_of
from qfzz.api._schemas import DatasetIn, DatasetOut

router = APIRouter(route_class=GuardedRoute, prefix="/datasets", tags=["catalog"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetOut)
@before_body(admin_before_body)
def import_dataset(
    body: DatasetIn,
    request: Request,
    response: Response,
    station: StationDep,
    user: UserDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> DatasetOut:
    user.require_admin()
    key = key_of(request, user, idempotency_key, body)
    if key is None:
        result = station.import_dataset(
            body.name, body.tracks, body.license, min_quality=body.min_quality
        )
    else:
        once = station.import_dataset_once(
            key, body.name, body.tracks, body.license, min_quality=body.min_quality
        )
        result = answered(response, once)
    return DatasetOut.of(
        result.dataset.dataset_id, result.dataset.name, result.report, result.track_ids
    )
