"""``qfzz interact USER TRACK TYPE``: record feedback as a listener would."""

from __future__ import annotations

from typing import Annotated

import typer

from qfzz.cli._common import DataDir, console, running_station


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
    with running_station(ctx, data_dir) as station:
        done = station.record_interaction(user, track, kind, rating)
        weights = station.profile(user).weights
        console.print(f"recorded {done.type.value} of track {done.track_id} by {done.user_id}")
        for kind_name, table in weights.items():
            top = sorted(table.items(), key=lambda kv: -kv[1])[:3]
            if top:
                console.print(f"  {kind_name}: " + ", ".join(f"{k} {w:.2f}" for k, w in top))
