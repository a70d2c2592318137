"""The plain values the cache services hand out (frozen, so the codec can carry them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Session:
    """Who a login token belongs to and until when (``None``: no expiry)."""

    user_id: str
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class PlaybackPosition:
    """Where a listener stopped in a track, to resume there on any device."""

    position: float
    duration: float | None
    updated_at: float


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far a long job (scan, import, transcode) has come."""

    done: int
    total: int | None
    message: str
    updated_at: float
    finished: bool = False


@dataclass(frozen=True, slots=True)
class SyncItem:
    """One change waiting for a device, acknowledged by ``item_id``."""

    item_id: str
    change: object


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """What a device should apply next.

    ``resync`` means changes may be missing (the queue was lost, never started, or
    overflowed): the device should fetch everything and call ``reset()``. ``available``
    is false while the cache server is unreachable (nothing can be said then).
    """

    items: tuple[SyncItem, ...]
    resync: bool = False
    available: bool = True


@dataclass(frozen=True, slots=True)
class PlayDelta:
    """Plays to add to a stored count (``user_id`` None: the track's total)."""

    track_id: int
    user_id: str | None
    plays: int


@dataclass(frozen=True, slots=True)
class Job:
    """A job handed to one worker; ``attempt`` counts from 1. Ack it when done."""

    job_id: str
    queue: str
    payload: object
    attempt: int
    source: str = "server"  # "server" (Redis) or "store" (the durable job store)
    lease: str = ""  # identifies this hand-out, so a late ack or fail cannot misfire


@dataclass(frozen=True, slots=True)
class DeadJob:
    """A job that failed ``max_attempts`` times, kept for inspection or a retry."""

    job_id: str
    queue: str
    payload: object
    attempts: int
    error: str | None
