"""``qfzz resolve``: find audio for dataset tracks that have none."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from qfzz.cli._common import (
    DataDir,
    console,
    err_console,
    progress_bar,
    progress_callback,
    running_station,
)
from qfzz.cli._server import station_server
from qfzz.models import MAX_RESOLVE


def resolve(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_RESOLVE, help="Resolve at most this many tracks.")
    ] = 1000,
    origin: Annotated[
        str | None,
        typer.Option(help="Only tracks from this origin platform (a dataset's 'source')."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Find, fetch and verify audio for dataset tracks, from the sources in
    QFZZ_DOWNLOAD_SOURCES (the original platform first, then the learned order)."""
    server = station_server(data_dir)
    if server is not None:
        queued = server.call("POST", "/api/v1/resolve", body={"limit": limit, "origin": origin})
        job = server.follow_job(queued["job_id"], "resolving")
        console.print(job["message"])
        return
    with running_station(ctx, data_dir) as station:
        with progress_bar("resolving") as progress:
            report = station.resolve(
                limit=limit, origin=origin, progress=progress_callback(progress, "resolving")
            )
        for reason in report.reasons:
            err_console.print(f"[yellow]not found[/] {escape(reason)}", soft_wrap=True)
        console.print(report.summary())
