"""The second reader of ``store._column_part``, run in its own process: reads the range of
tracks asked on stdin and answers their feature columns on stdout as an ``.npz``.

Apart from ``_column_part`` because it reads through ``store.tracks``, which starts it.
"""

from __future__ import annotations

import io
import json
import sys

import numpy as np

from qfzz.store._database import Database
from qfzz.store._feature_columns import as_arrays
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
    out = io.BytesIO()
    np.savez(out, **as_arrays(columns))
    sys.stdout.buffer.write(out.getbuffer())
    sys.stdout.buffer.flush()
