"""``qfzz ledger …`` and ``qfzz trust``: inspect, verify, export and repair the ledger."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qfzz.cli._common import DataDir, console, err_console, running_station
from qfzz.cli._server import station_server

app = typer.Typer(help="Verify, inspect, export and repair the trust ledger.", no_args_is_help=True)


@app.command()
def verify(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Check every block (hash, link, signed difficulty, votes) and the interactions it
    covers; exit 1 naming the first bad block."""
    with running_station(ctx, data_dir) as station:
        status = station.verify_ledger()
        if status.valid:
            console.print(f"ledger valid: {status.height} blocks")
            return
        err_console.print(
            f"[bold red]ledger INVALID[/] at block {status.first_bad_block} "
            f"(of {status.height}): {status.reason}; run `qfzz ledger repair`"
        )
        sys.exit(1)


@app.command()
def show(
    ctx: typer.Context,
    last: Annotated[int, typer.Option("--last", min=1, help="How many blocks.")] = 10,
    data_dir: DataDir = None,
) -> None:
    """The newest blocks."""
    from qfzz.trust import decode_changes  # not for --help

    with running_station(ctx, data_dir) as station:
        height = station.ledger_summary().height
        table = Table("block", "time (µs)", "through", "difficulty", "nonce", "hash", "changes")
        for block in station.ledger_blocks(start=max(0, height - last)):
            changes = decode_changes(block.changes)
            table.add_row(
                str(block.index),
                str(block.timestamp_us),
                str(block.through),
                str(block.difficulty),
                str(block.nonce),
                block.hash[:16] + "…",
                "malformed" if changes is None else str(len(changes)),
            )
        console.print(table)
        console.print(f"height {height}, {station.ledger_summary().pending} changes pending")


@app.command()
def export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the JSON lines.")],
    data_dir: DataDir = None,
) -> None:
    """Write the ledger as JSON lines: first the public key and the signed events, then
    one block per line (the formats in qfzz.trust and the README)."""
    with running_station(ctx, data_dir) as station:
        events = station.ledger_events()
        blocks = station.ledger_blocks()
        with file.open("w", encoding="utf-8") as out:
            head = {
                "format": "qfzz-ledger-export-v2",
                "public_key": station.ledger_public_key,
                "events": [
                    {
                        "seq": e.seq,
                        "kind": e.kind,
                        "height": e.height,
                        "value": e.value,
                        "recorded_at_us": e.recorded_at_us,
                        "signature": e.signature,
                    }
                    for e in events
                ],
            }
            out.write(json.dumps(head, ensure_ascii=False) + "\n")
            for block in blocks:
                out.write(
                    json.dumps(
                        {
                            "index": block.index,
                            "timestamp_us": block.timestamp_us,
                            "through": block.through,
                            "difficulty": block.difficulty,
                            "previous_hash": block.previous_hash,
                            "nonce": block.nonce,
                            "hash": block.hash,
                            "changes": block.changes,
                            "log_hash": block.log_hash,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        console.print(f"exported {len(blocks)} blocks and {len(events)} signed events to {file}")


@app.command()
def repair(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Cut the chain at its first broken block and seal again from the log what it carried;
    report (and acknowledge, signed) sealed interactions that were edited."""
    server = station_server(data_dir)
    if server is not None:
        answer = server.call("POST", "/api/v1/ledger/repair", read_timeout=None)
        _print_repair(
            Repaired(
                first_bad_block=answer["first_bad_block"],
                reason=answer["reason"],
                removed_blocks=answer["removed_blocks"],
                changes=answer["changes"],
                mined_blocks=answer["mined_blocks"],
                rederived=None if answer["rederived"] is None else tuple(answer["rederived"]),
                acknowledged=[
                    (d["block"], d["after"], d["through"], tuple(d["contradicted"]))
                    for d in answer["acknowledged"]
                ],
                valid=answer["valid"],
            )
        )
        return
    with running_station(ctx, data_dir) as station:
        report = station.repair_ledger()
        _print_repair(
            Repaired(
                first_bad_block=report.first_bad_block,
                reason=report.reason,
                removed_blocks=report.removed_blocks,
                changes=report.changes,
                mined_blocks=report.mined_blocks,
                rederived=report.rederived,
                acknowledged=[
                    (d.block, d.after, d.through, tuple(d.contradicted))
                    for d in report.acknowledged
                ],
                valid=report.valid,
            )
        )


@dataclass(frozen=True, slots=True)
class Repaired:
    """What a repair did, as the station reports it (directly or over HTTP)."""

    first_bad_block: int | None
    reason: str | None
    removed_blocks: int
    changes: int
    mined_blocks: int
    #: Interactions after ``[0]`` through ``[1]`` sealed again as the log has them now.
    rederived: tuple[int, int] | None
    #: Blocks whose sealed interactions were edited: (block, after, through, votes).
    acknowledged: list[tuple[int, int, int, tuple[int, ...]]]
    valid: bool


def _print_repair(report: Repaired) -> None:
    if report.first_bad_block is None:
        console.print("ledger valid: nothing to repair")
        return
    console.print(f"repaired {report.reason}")
    console.print(
        f"removed {report.removed_blocks} blocks, re-mined {report.changes} changes into "
        f"{report.mined_blocks} blocks"
    )
    if report.rederived is not None:
        after, through = report.rederived
        console.print(
            f"interactions {after + 1}–{through} lost the blocks that sealed them and were "
            "sealed again as the log has them now"
        )
    for block, after, through, contradicted in report.acknowledged:
        ids = ", ".join(str(i) for i in contradicted) or "none of the cited ones"
        console.print(
            f"[yellow]block {block}[/]: interactions {after + 1}–{through} were edited after "
            f"sealing and cannot be restored from the chain (changed votes: {ids}); trust "
            "keeps the sealed votes, acknowledged with a signed record"
        )
    if not report.valid:
        err_console.print("[bold red]the ledger is still invalid[/]; see the log")
        sys.exit(1)


@app.command()
def mine(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Seal every pending change into blocks now (through the serving station if one runs)."""
    server = station_server(data_dir)
    if server is not None:
        answer = server.call("POST", "/api/v1/ledger/mine", read_timeout=None)
        mined, height = answer["mined"], answer["height"]
    else:
        with running_station(ctx, data_dir) as station:
            mined = len(station.mine_pending())
            height = station.ledger_summary().height
    console.print(f"mined {mined} blocks; height {height}")


def trust(
    ctx: typer.Context,
    content_id: Annotated[str, typer.Argument(help="Content id (blake3 hex).")],
    creator_id: Annotated[str, typer.Argument(help="Creator id (normalised artist).")],
    data_dir: DataDir = None,
) -> None:
    """A content item's trust record."""
    with running_station(ctx, data_dir) as station:
        record = station.trust(content_id, creator_id)
        console.print(
            f"{record.key}: score {record.score:.3f} "
            f"({record.verifications} verifications, {record.reports} reports)"
        )
