"""The plain values the cache services hand out (frozen, so the codec can carry them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Session:
    """Who a login token belongs to and until when (``None``: no expiry)."""

    user_id: str
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far a long job (scan, import, transcode) has come."""

    done: int
    total: int | None
    message: str
    updated_at: float
    finished: bool = False
