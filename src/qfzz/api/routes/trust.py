from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from qfzz.api._auth import UserDep
from qfzz.api._bounds import MAX_ID, KeyPath
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import (
    BlockOut,
    ChainStatusOut,
    LedgerPageOut,
    MinedOut,
    RepairOut,
    RowDamageOut,
    TrustOut,
)

router = APIRouter(route_class=GuardedRoute, tags=["trust"])


@router.get("/trust/{content_id}/{creator_id}", response_model=TrustOut)
def trust(content_id: KeyPath, creator_id: KeyPath, station: StationDep, user: UserDep) -> TrustOut:
    record = station.trust(content_id, creator_id)
    return TrustOut(
        content_id=content_id,
        creator_id=creator_id,
        verifications=record.verifications,
        reports=record.reports,
        score=record.score,
        first_update=record.first_update or None,
        last_update=record.last_update or None,
    )


@router.get("/ledger", response_model=LedgerPageOut)
def ledger(
    station: StationDep,
    user: UserDep,
    start: Annotated[int, Query(alias="from", ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LedgerPageOut:
    blocks = station.ledger_blocks(start=start, limit=limit)
    summary = station.ledger_summary()
    return LedgerPageOut(
        height=summary.height,
        pending=summary.pending,
        blocks=[BlockOut.of(b) for b in blocks],
    )


@router.get("/ledger/verify", response_model=ChainStatusOut)
async def verify(station: StationDep) -> ChainStatusOut:
    """Public, and a full read of the chain and the log: concurrent callers share one
    check (awaited here, holding no thread) and its result is reused while nothing
    changed."""
    shared = await run_in_threadpool(station.ledger_verification)  # a cheap freshness read
    status = (await asyncio.wrap_future(shared)).status
    return ChainStatusOut(
        valid=status.valid,
        height=status.height,
        first_bad_block=status.first_bad_block,
        reason=status.reason,
    )


@router.post("/ledger/mine", response_model=MinedOut)
def mine(station: StationDep, user: UserDep) -> MinedOut:
    """Seal every pending change into blocks now (admins; the miner does it anyway)."""
    user.require_admin()
    mined = station.mine_pending()
    return MinedOut(mined=len(mined), height=station.ledger_summary().height)


@router.post("/ledger/repair", response_model=RepairOut)
def repair(station: StationDep, user: UserDep) -> RepairOut:
    user.require_admin()
    report = station.repair_ledger()
    return RepairOut(
        first_bad_block=report.first_bad_block,
        removed_blocks=report.removed_blocks,
        mined_blocks=report.mined_blocks,
        changes=report.changes,
        reason=report.reason,
        rederived=report.rederived,
        acknowledged=[
            RowDamageOut(
                block=d.block, after=d.after, through=d.through, contradicted=list(d.contradicted)
            )
            for d in report.acknowledged
        ],
        valid=report.valid,
    )
