"""What a queue hands out: a leased job, and a dead-lettered one."""

from __future__ import annotations

from dataclasses import dataclass


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
