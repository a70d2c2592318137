"""``qfzz cache stats`` and ``qfzz cache clear NAMESPACE``."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

import typer
from rich.table import Table

from qfzz.cli._common import DataDir, console, err_console, running_station
from qfzz.cli._server import station_server

app = typer.Typer(help="Inspect and clear the cache.", no_args_is_help=True)


@app.command()
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Hits, misses, errors, latency and circuit state per cache."""
    server = station_server(data_dir)
    if server is not None:
        snapshot = server.call("GET", "/api/v1/cache/stats")
    else:
        with running_station(ctx, data_dir) as station:
            snapshot = station.cache_stats()
        err_console.print(
            "no station serves this data directory: these are this command's own counters",
            style="dim",
        )
    if as_json:
        print(json.dumps(snapshot, indent=2, default=str))
        return
    console.print(
        f"backend {snapshot.get('backend')}, circuit {snapshot.get('circuit', '-')}, "
        f"{snapshot.get('entries') or 0} entries"
    )
    table = Table("cache", "hits", "misses", "hit ratio", "sets", "errors", "p50 µs", "p99 µs")
    for name, row in sorted(snapshot.get("namespaces", {}).items()):
        ratio = row.get("hit_ratio")
        table.add_row(
            name,
            str(row.get("hits", 0)),
            str(row.get("misses", 0)),
            "-" if ratio is None else f"{ratio:.3f}",
            str(row.get("sets", 0)),
            str(row.get("errors", 0)),
            _micros(row.get("latency_p50_seconds")),
            _micros(row.get("latency_p99_seconds")),
        )
    console.print(table)


def _micros(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:.0f}"


@app.command()
def clear(
    ctx: typer.Context,
    namespace: Annotated[str, typer.Argument(help="e.g. track, search, playlist")],
    data_dir: DataDir = None,
) -> None:
    """Delete every key of one namespace (SCAN, never FLUSHDB or KEYS)."""
    server = station_server(data_dir)
    if server is not None:
        deleted = server.call("DELETE", f"/api/v1/cache/{quote(namespace, safe='')}")["deleted"]
    else:
        with running_station(ctx, data_dir) as station:
            deleted = station.clear_cache(namespace)
    console.print(f"cleared {deleted} keys from {namespace}")
