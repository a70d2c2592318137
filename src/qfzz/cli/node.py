"""``qfzz node id | peers | join``: this station as a node of the network.

``id`` reads the key; ``peers`` reads the view the running node writes after every
handshake round (so it answers whether or not the station runs, and says how old the view
is); ``join URL`` handshakes the node at URL now, with this node's key, and adds it to the
seeds the running node (or the next start) handshakes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from qfzz.cli._common import DataDir, cli_errors, console, make_settings, running_station
from qfzz.errors import InvalidInput

# The network and overlay packages are imported by the commands that use them: `--help`
# must not pay for them (see qfzz.app._commands).

app = typer.Typer(help="This station as a node of the network.", no_args_is_help=True)


@app.command("id")
def node_id(data_dir: DataDir = None) -> None:
    """Print the NodeID (blake3 of the node's Ed25519 public key) and the key itself.

    The key is made on first use in the data directory (``node.key``, mode 0600); reading
    it needs no running station, so this answers at once.
    """
    from qfzz.network import SCHEMA_VERSION, NodeIdentity

    with cli_errors():
        node = NodeIdentity.load_or_create(make_settings(data_dir).data_dir)
    console.print(f"node id     {node.node_id}")
    console.print(f"public key  {node.public_key.hex()}")
    console.print(f"schema      {SCHEMA_VERSION}")


def _ago(then: float | None, now: float) -> str:
    return "never" if then is None else f"{max(0.0, now - then):.0f} s ago"


@app.command("peers")
def peers(data_dir: DataDir = None) -> None:
    """List the members this node knows: state, last seen, receipts, reachability, ASN."""
    from qfzz.overlay import read_snapshot

    with cli_errors():
        snapshot = read_snapshot(make_settings(data_dir).data_dir)
    if snapshot is None:
        console.print("no peers yet: the station has not run as a node (qfzz serve)")
        return
    now = time.time()
    console.print(
        f"node {snapshot.node_id[:16]}…  {snapshot.public_host}  {snapshot.privacy}  "
        f"N≈{snapshot.n_estimate}  (as of {_ago(snapshot.updated_at, now)})"
    )
    table = Table("node id", "address", "state", "last seen", "receipts", "reach", "asn", "listed")
    for row in snapshot.peers:
        table.add_row(
            row.node_id[:16] + "…",
            row.public_host,
            row.state,
            _ago(row.last_seen, now),
            str(row.receipts),
            f"{row.reachability:.0%}",
            row.asn or "-",
            "yes" if row.advertised else ("private" if row.privacy == "private" else "no"),
        )
    # piped output is not cut to 80 columns: ids and addresses are what it is read for
    (console if console.is_terminal else Console(width=200)).print(table)


@app.command("join")
def join(
    url: Annotated[str, typer.Argument(help="A node's base URL, e.g. https://radio.example")],
    data_dir: DataDir = None,
) -> None:
    """Handshake the node at URL now and keep it as a seed (a failure changes nothing)."""
    from qfzz.network import NodeIdentity
    from qfzz.overlay import OverlayConfig, add_seed, handshake_once
    from qfzz.settings import Settings

    with cli_errors():
        settings = make_settings(data_dir)
        try:
            seed = Settings(peers=[url]).peers[0]
        except ValueError as exc:
            raise InvalidInput(f"{url!r} is not an http(s) URL of a node") from exc
        identity = NodeIdentity.load_or_create(settings.data_dir)
        config = OverlayConfig.from_settings(settings)
        answer = asyncio.run(handshake_once(identity, config, settings.data_dir, seed))
        added = add_seed(settings.data_dir, seed)
    console.print(f"joined {answer.member.node_id}  at {seed}")
    console.print(f"it knows {len(answer.known_public_nodes)} public nodes; N≈{answer.n_estimate}")
    console.print("added to the seeds" if added else "already a seed")


@app.command("share")
def share(
    ctx: typer.Context,
    track_ids: Annotated[list[int] | None, typer.Argument(help="Track ids to publish.")] = None,
    license: Annotated[
        str, typer.Option("--license", help="SPDX id, e.g. CC-BY-4.0 (decides who may play)")
    ] = "",
    every: Annotated[bool, typer.Option("--all", help="Every playable track.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Publish tracks to the network: sealed, replicated on other nodes.

    A licence that allows sharing copies (CC0, CC-BY…) puts the key in the signed record,
    so any node can play a replica; any other keeps the key here (peers hold the sealed
    file for durability only). The running node picks the new content up within one
    heartbeat interval.
    """
    from qfzz.models import Track
    from qfzz.network import NodeIdentity
    from qfzz.overlay import PeerClient, Replicas, media_type_of

    with cli_errors():
        if not license:
            raise InvalidInput("say under which licence: --license CC-BY-4.0 (an SPDX id)")
        if not track_ids and not every:
            raise InvalidInput("name the tracks to share, or --all")
    with running_station(ctx, data_dir) as station, cli_errors():
        settings = station.settings
        if every:
            tracks: list[Track] = []  # to the last page: a search total stops at the cap
            while page := station.search_tracks(limit=500, offset=len(tracks))[1]:
                tracks += page
        else:
            tracks = [station.track(track_id) for track_id in dict.fromkeys(track_ids or [])]
        files = [t for t in tracks if t.playable and t.path is not None]
        if not files:
            raise InvalidInput("none of these tracks has an audio file to share")
        replicas = Replicas(
            NodeIdentity.load_or_create(settings.data_dir),
            settings.data_dir,
            PeerClient(),
            wall=time.time,
        )
        for track in files:
            path = str(track.path)
            record = replicas.share(
                Path(path).read_bytes(),
                media_type=media_type_of(path),
                title=track.title,
                artist=track.artist,
                license=license,
                track_id=track.track_id,
                duration=track.meta.duration,
            )
            playable = "playable by peers" if record.key is not None else "key kept here"
            console.print(f"{track.track_id}  {record.content_id}  {playable}")
    console.print(f"shared {len(files)} tracks")
