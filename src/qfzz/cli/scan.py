"""``qfzz scan PATH``: index a music folder incrementally."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from qfzz.cli._common import (
    DataDir,
    console,
    err_console,
    progress_bar,
    progress_callback,
    refuse,
    running_station,
)
from qfzz.cli._server import StationServer, station_server


def scan(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Folder of audio files to index.")],
    data_dir: DataDir = None,
) -> None:
    """Index a folder of audio files (mp3, flac, ogg, opus, m4a, wav).

    Only regular files are read: FIFOs, sockets and devices are listed as skipped, and a
    file that does not answer within the read deadline is reported as unreadable.
    """
    server = station_server(data_dir)
    if server is not None:
        _scan_through(server, path)
        return
    # This command reports each skipped file itself, once: the scanner's own warnings
    # (what a server's log shows) would say the same again.
    scanner_log = logging.getLogger("qfzz.catalog.scanner")
    with running_station(ctx, data_dir) as station:
        level = scanner_log.level
        scanner_log.setLevel(logging.ERROR)
        try:
            with progress_bar("scanning") as progress:
                report = station.scan(path, progress_callback(progress, "scanning"))
        finally:
            scanner_log.setLevel(level)
        problems = [
            *((file, f"{kind}, not a regular file") for file, kind in report.skipped),
            *report.errors,
        ]
        for file, reason in problems:
            # Paths are printed whole (never wrapped, never read as markup): people copy them.
            err_console.print(f"[yellow]skipped[/] {escape(f'{file}: {reason}')}", soft_wrap=True)
        console.print(
            f"scanned {report.seen} files: {report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.removed} removed, "
            f"{len(report.errors)} unreadable, {len(report.skipped)} not regular files"
        )


def _scan_through(server: StationServer, path: Path) -> None:
    """The running station scans (its index then holds what it stored, at once)."""
    folder = path.resolve()  # the server's working directory is not this one
    if not folder.is_dir():
        refuse(f"{path} is not a folder")
    queued = server.call("POST", "/api/v1/scan", body={"path": str(folder)})
    job = server.follow_job(queued["job_id"], "scanning")
    console.print(
        f"scanned {job['done']} files: {job['message']} (the station's log names each "
        "file it skipped)"
    )
