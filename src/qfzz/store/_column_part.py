"""A big read of the feature columns shared with a second process.

At a million tracks the read is ~1.5 s of Python turning rows into arrays, on one core: the
GIL keeps a second thread from helping. So the tracks above a split point are read by a
child process (``store._column_child``, told the database and the range on
its stdin, so no password shows in a process list) while this process reads those below;
the child answers the arrays as an ``.npz`` on its stdout (never pickle). Each process
reads its range in its own transaction: the ranges are disjoint, so every track is read
once, as of one moment or the other, as a single read over pages would see a write
landing part way through it. A child that fails or is not there only costs the time:
this process then reads the child's range itself.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import numpy as np

from qfzz.store._feature_columns import FeatureColumns, from_arrays

log = logging.getLogger(__name__)

#: The child's range starts after this share of the ids: it starts ~0.3 s later, having
#: to import numpy and SQLAlchemy first.
CHILD_SHARE = 0.4
#: How long the child may take beyond this process's own part: its part is the smaller.
TIMEOUT = 120.0


def spawn(url: str, low: int, high: int) -> subprocess.Popen[bytes] | None:
    """Start reading the tracks with ``low < id <= high`` from ``url`` in a child."""
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", "from qfzz.store._column_child import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except OSError as exc:
        log.warning("the catalog is read in one process: %s", exc)
        return None
    assert child.stdin is not None
    try:
        child.stdin.write(json.dumps({"url": url, "low": low, "high": high}).encode())
        child.stdin.close()
    except OSError as exc:  # it died at once
        log.warning("the catalog is read in one process: %s", exc)
        child.kill()
        child.wait()
        return None
    child.stdin = None  # told: ``collect`` only reads
    return child


def collect(child: subprocess.Popen[bytes]) -> FeatureColumns | None:
    """The child's columns (``None`` if it failed)."""
    try:
        data, _ = child.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        log.warning("the catalog's second reader gave no answer in %.0f s", TIMEOUT)
        return None
    if child.returncode != 0:
        log.warning("the catalog's second reader failed (exit %d)", child.returncode)
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as answer:
            return from_arrays(answer)
    except (OSError, ValueError, LookupError, TypeError) as exc:
        log.warning("the catalog's second reader answered nothing usable: %s", exc)
        return None
