"""``qfzz cache stats`` and ``qfzz cache clear NAMESPACE``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from qfzz.cli._common import DataDir, console, running_station

app = typer.Typer(help="Inspect and clear the cache.", no_args_is_help=True)


@app.command()
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Hits, misses, errors, latency and circuit state per cache."""
    with running_station(ctx, data_dir) as station:
        snapshot = station.cache_stats()
        if as_json:
            print(json.dumps(snapshot, indent=2, default=str))
            return
        console.print(f"backend {snapshot.get('backend')}, circuit {snapshot.get('circuit', '-')}")
        table = Table("cache", "hits", "misses", "hit ratio", "errors", "p50 µs", "p99 µs")
        for name, row in sorted(snapshot.get("caches", {}).items()):
            table.add_row(
                name,
                str(row.get("hits", 0)),
                str(row.get("misses", 0)),
                f"{row.get('hit_ratio', 0):.3f}",
                str(row.get("errors", 0)),
                str(row.get("p50_us", "-")),
                str(row.get("p99_us", "-")),
            )
        console.print(table)


@app.command()
def clear(
    ctx: typer.Context,
    namespace: Annotated[str, typer.Argument(help="e.g. track, search, playlist")],
    data_dir: DataDir = None,
) -> None:
    """Delete every key of one namespace (SCAN, never FLUSHDB or KEYS)."""
    with running_station(ctx, data_dir) as station:
        deleted = station.clear_cache(namespace)
        console.print(f"cleared {deleted} keys from {namespace}")
