"""What a running node writes down for ``qfzz node peers``, and the seeds ``qfzz node join``
adds for it — two small files in ``data_dir/network``.

The CLI is another process: it reads the running node's last view (rewritten atomically
after every handshake round) instead of asking the server, so it answers whether or not the
station runs, and says how old the view is. A seed joined from the CLI is appended to
``seeds`` and picked up by the running node's next round.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from qfzz.errors import InvalidInput

NETWORK_DIR = "network"
SNAPSHOT_FILE = "peers.json"
SEEDS_FILE = "seeds"
MAX_SEEDS = 64


@dataclass(frozen=True)
class PeerRow:
    """One member as this node sees it."""

    node_id: str
    public_host: str
    privacy: str
    asn: str | None
    state: str
    last_seen: float | None
    receipts: int
    reachability: float
    advertised: bool


@dataclass(frozen=True)
class Snapshot:
    node_id: str
    public_host: str
    privacy: str
    asn: str | None
    n_estimate: int
    updated_at: float
    peers: tuple[PeerRow, ...]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_snapshot(data_dir: Path, snapshot: Snapshot) -> None:
    _atomic_write(data_dir / NETWORK_DIR / SNAPSHOT_FILE, json.dumps(asdict(snapshot), indent=1))


def read_snapshot(data_dir: Path) -> Snapshot | None:
    """The running (or last run) node's view, or None when it never wrote one."""
    path = data_dir / NETWORK_DIR / SNAPSHOT_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        peers = tuple(PeerRow(**row) for row in raw.pop("peers"))
        return Snapshot(**raw, peers=peers)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"{path} is not a peers snapshot: {exc}") from None


def read_seeds(data_dir: Path) -> list[str]:
    try:
        lines = (data_dir / NETWORK_DIR / SEEDS_FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line.strip() for line in lines if line.strip()][:MAX_SEEDS]


def add_seed(data_dir: Path, url: str) -> bool:
    """Adds ``url`` to the seeds; False if it was there already."""
    seeds = read_seeds(data_dir)
    url = url.rstrip("/")
    if url in seeds:
        return False
    _atomic_write(data_dir / NETWORK_DIR / SEEDS_FILE, "\n".join([*seeds, url]) + "\n")
    return True
