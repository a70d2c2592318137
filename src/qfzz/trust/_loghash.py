"""The commitment of a block to the interaction rows it covers.

A block covering interaction ids ``(previous.through, through]`` carries::

    log_hash = SHA-256( previous.log_hash + "\\n" + row_1 + "\\n" + row_2 + "\\n" + … )

where ``previous.log_hash`` is the 64 hex digits stored in the block before (``"0" * 64``
in the genesis block) and each row is the canonical JSON (``separators=(",", ":")``,
``ensure_ascii=False``) of ``[id, user_id, track_id, type, rating, created_at]`` in id
order, ``rating`` and ``created_at`` as floats (``rating`` may be ``null``). Each block's
hash is chained from the stored value of the one before, so an edited, deleted or inserted
row makes exactly the block that covers it disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from json.encoder import encode_basestring as _string
from math import isfinite

#: (id, user_id, track_id, type, rating, created_at), exactly as the store returns it.
RawRow = tuple[int, str, int, str, float | None, float]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=repr)


def encode_row(row: RawRow) -> bytes:
    """One row's canonical line (with its ``\n``)."""
    return (row_text(row) + "\n").encode()


def row_text(row: RawRow) -> str:
    """A row's canonical JSON, written directly for well-typed rows (3× faster than the
    encoder, and the same text: ``repr`` is how ``json`` writes a finite float)."""
    interaction_id, user_id, track_id, kind, rating, created_at = row
    if (
        type(interaction_id) is int
        and type(user_id) is str
        and type(track_id) is int
        and type(kind) is str
        and type(created_at) is float
        and isfinite(created_at)
        and (rating is None or (type(rating) is float and isfinite(rating)))
    ):
        rating_text = "null" if rating is None else repr(rating)
        return (
            f"[{interaction_id},{_string(user_id)},{track_id},{_string(kind)},"
            f"{rating_text},{created_at!r}]"
        )
    return _ENCODER.encode(
        [interaction_id, user_id, track_id, kind, _number(rating), _number(created_at)]
    )


def _number(value: object) -> object:
    """Floats as floats whatever the driver returned (an int from SQLite for ``5.0``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class LogHasher:
    """The running hash of one block's rows, fed in id order, in as many pieces as wanted."""

    def __init__(self, previous_log_hash: str) -> None:
        self._hash = hashlib.sha256(previous_log_hash.encode() + b"\n")

    def update(self, rows: Sequence[RawRow]) -> None:
        if rows:
            self._hash.update(("\n".join(map(row_text, rows)) + "\n").encode())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def at_us(created_at: object) -> int | None:
    """``round(created_at * 1e6)`` as the changes carry it, or ``None`` if not a number."""
    if isinstance(created_at, bool) or not isinstance(created_at, int | float):
        return None
    try:
        return round(created_at * 1_000_000)
    except (OverflowError, ValueError):
        return None
