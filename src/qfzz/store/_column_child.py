"""The second reader of ``store._column_part``, run in its own process: reads the range of
tracks asked on stdin and answers their feature columns on stdout as an ``.npz``.

Apart from ``_column_part`` because it reads through ``store.tracks``, which starts it.
"""

from __future__ import annotations

import io
import json
import sys

import numpy as np

from qfzz.store._column_part import NUMBERS, TEXT
from qfzz.store._database import Database
from qfzz.store.tracks import TrackRepository


def main() -> None:
    """The child: read the range asked on stdin, answer the columns on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    db = Database(request["url"])
    try:
        columns = TrackRepository(db).feature_columns(
            id_range=(int(request["low"]), int(request["high"])), split_from=None
        )
    finally:
        db.dispose()
    strings = {name: getattr(columns, name).values for name in TEXT}
    out = io.BytesIO()
    np.savez(
        out,
        strings=np.frombuffer(json.dumps(strings).encode(), dtype=np.uint8),
        **{f"{name}_codes": getattr(columns, name).codes for name in TEXT},
        **{name: getattr(columns, name) for name in NUMBERS},
    )
    sys.stdout.buffer.write(out.getbuffer())
    sys.stdout.buffer.flush()
