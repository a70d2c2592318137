"""``qfzz datasets import FILE``: score a catalog dataset and add it when it passes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qfzz.cli._common import DataDir, cli_errors, console, running_station
from qfzz.cli._server import station_server

app = typer.Typer(help="Import and list catalog datasets.", no_args_is_help=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSON list of tracks or CSV with a header.")],
    license_id: Annotated[str, typer.Option("--license", help="SPDX-style license id.")],
    min_quality: Annotated[
        float | None, typer.Option("--min-quality", min=0.0, max=1.0, help="Reject below.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Validate the license, score the quality, add all tracks in one transaction."""
    from qfzz.catalog.dataset_file import read_dataset_file  # not for --help

    with cli_errors():
        records = read_dataset_file(file)
    server = station_server(data_dir)
    if server is not None:
        answer = server.call(
            "POST",
            "/api/v1/datasets",
            body={
                "name": name or file.stem,
                "license": license_id,
                "tracks": records,
                "min_quality": min_quality,
            },
            read_timeout=None,  # a large dataset is scored and stored in one transaction
        )
        _print_import(
            answer["dataset_id"],
            answer["name"],
            answer["components"],
            answer["quality_score"],
            answer["license"],
            answer["track_count"],
        )
        return
    with running_station(ctx, data_dir) as station:
        result = station.import_dataset(
            name or file.stem, records, license_id, min_quality=min_quality
        )
        report = result.report
        _print_import(
            result.dataset.dataset_id,
            result.dataset.name,
            report.components,
            report.score,
            report.license_id,
            len(result.track_ids),
        )


def _print_import(
    dataset_id: int,
    name: str,
    components: dict[str, float],
    score: float,
    license_id: str,
    added: int,
) -> None:
    table = Table(title=f"dataset {name!r} (id {dataset_id})")
    table.add_column("component")
    table.add_column("score", justify="right")
    for component, value in components.items():
        table.add_row(component, f"{value:.4f}")
    table.add_row("[bold]quality", f"[bold]{score:.4f}")
    console.print(table)
    console.print(f"license {license_id}: added {added} tracks")


@app.command("list")
def list_(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """Show imported datasets with their quality scores."""
    with running_station(ctx, data_dir) as station:
        table = Table("id", "name", "license", "quality", "tracks")
        for d in station.datasets():
            table.add_row(
                str(d.dataset_id),
                d.name,
                d.license_id,
                f"{d.quality_score:.4f}",
                str(d.track_count),
            )
        console.print(table)
