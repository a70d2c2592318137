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
def verify(data_dir: DataDir = None) -> None:
    """Recompute every block's hash, link and proof of work; exit 1 on the first bad one."""
    with running_station(data_dir) as station:
        status = station.verify_ledger()
        if status.valid:
            console.print(f"ledger valid: {status.height} blocks")
            return
        err_console.print(
            f"[bold red]ledger INVALID[/] at block {status.first_bad_block} "
            f"(of {status.height}); run `qfzz ledger repair`"
        )
        sys.exit(1)


@app.command()
def show(
    last: Annotated[int, typer.Option("--last", min=1, help="How many blocks.")] = 10,
    data_dir: DataDir = None,
) -> None:
    """The newest blocks."""
    with running_station(data_dir) as station:
        height = station.ledger.height
        table = Table("block", "time (µs)", "through", "difficulty", "nonce", "hash", "changes")
        for block in station.ledger.blocks(start=max(0, height - last)):
            table.add_row(
                str(block.index),
                str(block.timestamp_us),
                str(block.through),
                str(block.difficulty),
                str(block.nonce),
                block.hash[:16] + "…",
                str(len(block.decoded_changes())),
            )
        console.print(table)
        console.print(f"height {height}, {station.ledger.pending_count} changes pending")


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the JSON lines.")],
    data_dir: DataDir = None,
) -> None:
    """Write every block as one JSON line (the format in qfzz.trust._blocks / README)."""
    with running_station(data_dir) as station:
        blocks = station.ledger.blocks()
        with file.open("w", encoding="utf-8") as out:
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
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        console.print(f"exported {len(blocks)} blocks to {file}")


@app.command()
def repair(data_dir: DataDir = None) -> None:
    """Cut the chain at its first bad block and re-mine what it carried from the log."""
    with running_station(data_dir) as station:
        report = station.repair_ledger()
        if report.first_bad_block is None:
            console.print("ledger valid: nothing to repair")
            return
        console.print(
            f"repaired from block {report.first_bad_block}: removed {report.removed_blocks} "
            f"blocks, re-mined {report.changes} changes into {report.mined_blocks} blocks"
        )


@app.command()
def mine(data_dir: DataDir = None) -> None:
    """Seal every pending change into blocks now."""
    with running_station(data_dir) as station:
        mined = station.ledger.mine_all()
        console.print(f"mined {len(mined)} blocks; height {station.ledger.height}")


def trust(
    content_id: Annotated[str, typer.Argument(help="Content id (blake3 hex).")],
    creator_id: Annotated[str, typer.Argument(help="Creator id (normalised artist).")],
    data_dir: DataDir = None,
) -> None:
    """A content item's trust record."""
    with running_station(data_dir) as station:
        record = station.trust(content_id, creator_id)
        console.print(
            f"{record.key}: score {record.score:.3f} "
            f"({record.verifications} verifications, {record.reports} reports)"
        )
