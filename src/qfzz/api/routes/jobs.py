from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from qfzz.api._auth import UserDep, admin_before_body
from qfzz.api._bounds import NamePath, one_line
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute, before_body
from qfzz.api._idempotency import IdempotencyKeyHeader, answered, key_of
from qfzz.api._schemas import DatasetIn
from qfzz.errors import UnknownJob
from qfzz.station import MAX_RESOLVE

router = APIRouter(route_class=GuardedRoute, tags=["catalog"])


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(one_line)]


class JobOut(BaseModel):
    job_id: str
    done: int = 0
    total: int | None = None
    message: str = ""
    finished: bool = False


@router.post(
    "/scan", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, max_body_size=8192
)
def scan(body: ScanIn, station: StationDep, user: UserDep) -> JobOut:
    """Queue a library scan (admins); follow it at GET /api/v1/jobs/{job_id}."""
    user.require_admin()
    return JobOut(job_id=station.jobs.scan(body.path), message="queued")


@router.post("/datasets/jobs", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
@before_body(admin_before_body)
def import_in_background(
    body: DatasetIn,
    request: Request,
    response: Response,
    station: StationDep,
    user: UserDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobOut:
    """Queue a dataset import (admins) instead of waiting for it."""
    user.require_admin()
    key = key_of(request, user, idempotency_key, body)
    if key is None:
        job_id = station.jobs.import_dataset(body.name, body.tracks, body.license)
    else:
        once = station.jobs.import_dataset_once(key, body.name, body.tracks, body.license)
        job_id = answered(response, once)
    return JobOut(job_id=job_id, total=len(body.tracks), message="queued")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=1000, ge=1, le=MAX_RESOLVE)
    origin: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] | None = None


@router.post(
    "/resolve", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, max_body_size=4096
)
def resolve(body: ResolveIn, station: StationDep, user: UserDep) -> JobOut:
    """Queue a resolver run (admins): audio for up to ``limit`` dataset tracks that have
    none, of one ``origin`` if given; follow it at GET /api/v1/jobs/{job_id}."""
    user.require_admin()
    job_id = station.jobs.resolve(limit=body.limit, origin=body.origin)
    return JobOut(job_id=job_id, message="queued")


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(job_id: NamePath, station: StationDep, user: UserDep) -> JobOut:
    progress = station.jobs.progress(job_id)
    if progress is None:
        raise UnknownJob(f"no job {job_id!r} (or it finished more than a day ago)")
    return JobOut(
        job_id=job_id,
        done=progress.done,
        total=progress.total,
        message=progress.message,
        finished=progress.finished,
    )
