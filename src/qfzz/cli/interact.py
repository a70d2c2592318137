"""``qfzz interact USER TRACK TYPE``: record feedback as a listener would."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from qfzz.cli._common import DataDir, console, running_station
from qfzz.cli._server import station_server


def interact(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The listener's user id.")],
    track: Annotated[int, typer.Argument(help="Track id.")],
    kind: Annotated[
        str, typer.Argument(metavar="TYPE", help="play, skip, like, dislike, favorite or rate.")
    ],
    rating: Annotated[
        float | None, typer.Option("--rating", help="For rate: a rating in [0, 1].")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Record one interaction; the DJ learns from it at once."""
    server = station_server(data_dir)
    if server is not None:
        path = f"/api/v1/listeners/{quote(user, safe='')}"
        body = {"track_id": track, "type": kind, "rating": rating}
        done = server.call("POST", f"{path}/interactions", body=body)
        weights = server.call("GET", f"{path}/profile")["weights"]
        _print_learned(done["type"], done["track_id"], done["user_id"], weights)
        return
    with running_station(ctx, data_dir) as station:
        recorded = station.record_interaction(user, track, kind, rating)
        _print_learned(
            recorded.type.value,
            recorded.track_id,
            recorded.user_id,
            station.profile(recorded.user_id).weights,
        )


def _print_learned(kind: str, track: int, user: str, weights: dict[str, dict[str, float]]) -> None:
    console.print(f"recorded {kind} of track {track} by {user}")
    for kind_name, table in weights.items():
        top = sorted(table.items(), key=lambda kv: -kv[1])[:3]
        if top:
            console.print(f"  {kind_name}: " + ", ".join(f"{k} {w:.2f}" for k, w in top))
