"""The DJ index's columns kept on disk between runs: a restart does not read every track again.

Reading every live track's features from the database is most of a big library's start-up
(1M tracks on SQLite: ~1.5 s of ~3.3 s, a Python tuple per row and a string per cell).
After a start that read them, the columns are written to the data directory under the key
of the tracks' state: the database (its URL, without a password), its schema revision and
``TrackRepository.columns_version`` (the library's change counter, moved by every write of
tracks in its own transaction, and the highest track id). A later start whose key matches
loads the file (numpy arrays; the distinct strings as JSON, never pickle); any other key, a
missing, partial or damaged file reads the database as before, and a new file is written
in the background once the station runs.

The key is read before the columns, so a write landing between the two leaves a file whose
key is already behind the database: it is never used, never wrong. The file is written to a
temporary name and renamed into place, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from qfzz.store import CodedStrings, FeatureColumns, Store, as_arrays, from_arrays

log = logging.getLogger(__name__)

#: Bumped when the file's layout changes: an older file is then simply not used.
FORMAT = 1
FILE_NAME = "index-columns.npz"


def key_of(store: Store) -> dict[str, Any]:
    """The tracks' state now, as the file's key."""
    version, highest = store.tracks.columns_version()
    return {
        "format": FORMAT,
        "database": store.db.fingerprint(),
        "revision": store.db.revision(),
        "version": version,
        "highest_id": highest,
    }


@dataclass(frozen=True, slots=True)
class Loaded:
    """The columns, and, when they were read from the database, the writing of the file
    for the next start (left to the caller to run off the start's path: at 1M tracks it
    is ~0.2 s of a start)."""

    columns: FeatureColumns
    keep: Callable[[], None] | None


def load(store: Store, data_dir: Path) -> Loaded:
    """The columns of every live track: from the kept file when its key is the tracks'
    state now, else from the database (with ``keep`` to keep them for the next start)."""
    key = key_of(store)
    path = data_dir / FILE_NAME
    kept = _read(path, key)
    if kept is not None:
        log.info("index columns of %d tracks read from %s", len(kept), path)
        return Loaded(kept, None)
    columns = store.tracks.feature_columns()
    return Loaded(columns, partial(_write, path, key, columns))


def _read(path: Path, key: dict[str, Any]) -> FeatureColumns | None:
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as kept:
            if json.loads(kept["key"].tobytes()) != key:
                return None
            columns = from_arrays(kept)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, LookupError, TypeError, zipfile.BadZipFile) as exc:
        log.warning("index columns in %s not used: %s", path, exc)
        return None
    if not _consistent(columns):
        log.warning("index columns in %s not used: inconsistent", path)
        return None
    return columns


def _consistent(columns: FeatureColumns) -> bool:
    """Every column as long as the ids, ids ascending, every code a known value."""
    n = len(columns)
    arrays = (columns.energy, columns.tempo, columns.playable)
    coded = (columns.artist, columns.genre, columns.mood)
    return (
        all(a.shape == (n,) for a in arrays)
        and all(c.codes.shape == (n,) for c in coded)
        and bool(np.all(np.diff(columns.track_id) > 0))
        and all(_in_range(c) for c in coded)
    )


def _in_range(coded: CodedStrings) -> bool:
    codes = coded.codes
    return codes.size == 0 or (int(codes.min()) >= 0 and int(codes.max()) < len(coded.values))


def _write(path: Path, key: dict[str, Any], columns: FeatureColumns) -> None:
    """Keep the columns (best effort: a start never fails for want of the file)."""
    arrays: dict[str, Any] = {
        "key": np.frombuffer(json.dumps(key).encode(), dtype=np.uint8),
        **as_arrays(columns),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for left in path.parent.glob(f".{FILE_NAME}.*"):  # by a write cut short (kill -9)
            left.unlink(missing_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("index columns not kept in %s: %s", path, exc)
