"""A job store in memory, for tests and for a queue opened without the durable store.

It keeps the same rules as ``qfzz.store.JobRepository`` (claim by visibility deadline,
poison jobs to the dead letters) but loses everything with the process, which is why
:func:`qfzz.jobs.open_queue` warns when it has to fall back to it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from qfzz.models import IdempotencyKey


@dataclass(frozen=True, slots=True)
class MemoryJob:
    job_id: str
    queue: str
    payload: str
    attempts: int
    visible_at: float
    error: str | None = None
    dead: bool = False
    order: int = 0
    parked: bool = False
    enqueued_at: float = 0.0


class MemoryJobStore:
    """Implements the ``JobStore`` protocol in a dict."""

    def __init__(self) -> None:
        self._jobs: dict[str, MemoryJob] = {}
        self._lock = threading.Lock()
        self._order = 0

    def add(
        self,
        queue: str,
        job_id: str,
        payload: str,
        *,
        now: float,
        parked: bool = False,
        key: IdempotencyKey | None = None,
    ) -> None:
        if key is not None:  # keys must outlive the process; this store does not
            raise ValueError("the in-memory job store keeps no idempotency records")
        with self._lock:
            self._order += 1
            job = MemoryJob(
                job_id, queue, payload, 0, now, order=self._order, parked=parked, enqueued_at=now
            )
            self._jobs.setdefault(job_id, job)

    def parked(self, queue: str, *, before: float, limit: int = 1000) -> list[MemoryJob]:
        with self._lock:
            found = [
                j
                for j in self._jobs.values()
                if j.queue == queue and j.parked and j.enqueued_at <= before
            ]
        return sorted(found, key=lambda j: j.order)[:limit]

    def unpark(self, queue: str, job_id: str, *, now: float) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.queue != queue or not job.parked:
                return False
            self._jobs[job_id] = replace(job, parked=False, visible_at=now)
            return True

    def claim(
        self, queue: str, *, now: float, visibility: float, max_attempts: int
    ) -> MemoryJob | None:
        with self._lock:
            visible = sorted(
                (
                    j
                    for j in self._jobs.values()
                    if j.queue == queue and not j.dead and not j.parked and j.visible_at <= now
                ),
                key=lambda j: (j.visible_at, j.order),
            )
            for job in visible:
                if job.attempts >= max_attempts:
                    error = job.error or f"gave up after {job.attempts} attempts"
                    self._jobs[job.job_id] = replace(job, dead=True, error=error)
                    continue
                taken = replace(job, attempts=job.attempts + 1, visible_at=now + visibility)
                self._jobs[job.job_id] = taken
                return taken
            return None

    def extend(self, queue: str, job_id: str, *, lease: float, until: float) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.queue != queue or job.dead or job.visible_at != lease:
                return False
            self._jobs[job_id] = replace(job, visible_at=until)
            return True

    def ack(self, queue: str, job_id: str, *, lease: float | None = None) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.queue != queue or job.dead:
                return False
            if lease is not None and job.visible_at != lease:  # handed out again since
                return False
            del self._jobs[job_id]
            return True

    def release(
        self, queue: str, job_id: str, *, lease: float, now: float, error: str | None
    ) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.queue != queue or job.dead or job.visible_at != lease:
                return False
            self._jobs[job_id] = replace(job, visible_at=now, error=error)
            return True

    def dead(self, queue: str, *, limit: int = 100) -> list[MemoryJob]:
        with self._lock:
            found = [j for j in self._jobs.values() if j.queue == queue and j.dead]
        return sorted(found, key=lambda j: j.order)[:limit]

    def retry_dead(self, queue: str, job_id: str, *, now: float) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.queue != queue or not job.dead:
                return False
            self._jobs[job_id] = replace(job, dead=False, attempts=0, visible_at=now, error=None)
            return True

    def counts(self, queue: str, *, now: float) -> dict[str, int]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.queue == queue and not j.parked]
        return {
            "ready": sum(1 for j in jobs if not j.dead and j.visible_at <= now),
            "taken": sum(1 for j in jobs if not j.dead and j.visible_at > now),
            "dead": sum(1 for j in jobs if j.dead),
        }
