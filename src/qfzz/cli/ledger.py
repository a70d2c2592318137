"""``qfzz ledger …`` and ``qfzz trust``: inspect, verify, export and repair the ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qfzz.cli._common import DataDir, console, err_console, running_station

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
    with running_station(ctx, data_dir) as station:
        report = station.repair_ledger()
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
        for damage in report.acknowledged:
            ids = ", ".join(str(i) for i in damage.contradicted) or "none of the cited ones"
            console.print(
                f"[yellow]block {damage.block}[/]: interactions {damage.after + 1}–"
                f"{damage.through} were edited after sealing and cannot be restored from the "
                f"chain (changed votes: {ids}); trust keeps the sealed votes, acknowledged "
                "with a signed record"
            )
        if not report.valid:
            err_console.print("[bold red]the ledger is still invalid[/]; see the log")
            sys.exit(1)


@app.command()
def mine(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Seal every pending change into blocks now (safe beside a serving station)."""
    with running_station(ctx, data_dir) as station:
        mined = station.mine_pending()
        console.print(f"mined {len(mined)} blocks; height {station.ledger_summary().height}")


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
