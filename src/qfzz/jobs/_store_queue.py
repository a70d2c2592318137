"""The embedded backend: a queue whose jobs live in the durable job store alone.

This is the queue of a station without a cache server, and the fallback of
:class:`~qfzz.jobs.RedisQueue` while its server is out of reach. The store does the hard
part (a compare-and-set claim, so two workers never get one hand-out, even in two
processes on PostgreSQL; see ``qfzz.store.jobs``); this class encodes payloads, reads the
injected clock, and names each hand-out by the deadline it was claimed with, so a late
``fail`` from a worker whose lease timed out cannot touch the job's next hand-out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from qfzz.jobs._protocols import JobStore, PayloadCodec, StoredJob
from qfzz.jobs._types import DeadJob, Job
from qfzz.models import IdempotencyKey


class StoreQueue:
    """One named queue in a :class:`~qfzz.jobs.JobStore`; a :class:`~qfzz.jobs.JobQueue`."""

    def __init__(
        self,
        name: str,
        store: JobStore,
        *,
        clock: Callable[[], float],
        codec: PayloadCodec,
        visibility: float = 300.0,
        max_attempts: int = 5,
    ) -> None:
        if max_attempts < 1 or visibility <= 0:
            raise ValueError("max_attempts must be ≥ 1 and visibility > 0")
        self.name = name
        self.store = store
        self.clock = clock
        self.codec = codec
        self.visibility = visibility
        self.max_attempts = max_attempts

    def encode(self, payload: object) -> str:
        """The payload as stored (raises the codec's ``TypeError`` for a bad one)."""
        return self.codec.encode(payload).decode("ascii")

    def decode(self, text: str) -> object:
        return self.codec.decode(text.encode("ascii"))

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def put(self, payload: object, *, key: IdempotencyKey | None = None) -> str:
        """Queue a job; an idempotency ``key`` is recorded in the same transaction.

        A store that finds the key taken raises (``qfzz.store.KeyTaken``) and queues nothing.
        """
        job_id = self.new_id()
        self.store.add(self.name, job_id, self.encode(payload), now=self.clock(), key=key)
        return job_id

    def take(self) -> Job | None:
        stored = self.claim()
        if stored is None:
            return None
        return Job(
            stored.job_id,
            self.name,
            self.decode(stored.payload),
            stored.attempts,
            source="store",
            lease=repr(stored.visible_at),
        )

    def claim(self) -> StoredJob | None:
        """Claim the next visible row as it is stored (payload still encoded)."""
        return self.store.claim(
            self.name, now=self.clock(), visibility=self.visibility, max_attempts=self.max_attempts
        )

    def ack(self, job: Job) -> None:
        """Done, if the hand-out is still this one (a late ack changes nothing)."""
        self.store.ack(self.name, job.job_id, lease=float(job.lease))

    def extend(self, job: Job) -> Job | None:
        until = self.clock() + self.visibility
        if not self.store.extend(self.name, job.job_id, lease=float(job.lease), until=until):
            return None
        return replace(job, lease=repr(until))

    def fail(self, job: Job, error: str | None = None) -> None:
        lease = float(job.lease)
        self.store.release(self.name, job.job_id, lease=lease, now=self.clock(), error=error)

    def dead(self, limit: int = 100) -> list[DeadJob]:
        return [
            DeadJob(row.job_id, self.name, self.decode(row.payload), row.attempts, row.error)
            for row in self.store.dead(self.name, limit=limit)
        ]

    def retry_dead(self, job_id: str) -> bool:
        return self.store.retry_dead(self.name, job_id, now=self.clock())

    def counts(self) -> dict[str, int]:
        return dict(self.store.counts(self.name, now=self.clock()))
