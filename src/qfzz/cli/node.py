"""``qfzz node id``: this station as a node of the network."""

from __future__ import annotations

import typer

from qfzz.cli._common import DataDir, cli_errors, console, make_settings
from qfzz.network import SCHEMA_VERSION, NodeIdentity

app = typer.Typer(help="This station as a node of the network.", no_args_is_help=True)


@app.command("id")
def node_id(data_dir: DataDir = None) -> None:
    """Print the NodeID (blake3 of the node's Ed25519 public key) and the key itself.

    The key is made on first use in the data directory (``node.key``, mode 0600); reading
    it needs no running station, so this answers at once.
    """
    with cli_errors():
        node = NodeIdentity.load_or_create(make_settings(data_dir).data_dir)
    console.print(f"node id     {node.node_id}")
    console.print(f"public key  {node.public_key.hex()}")
    console.print(f"schema      {SCHEMA_VERSION}")
