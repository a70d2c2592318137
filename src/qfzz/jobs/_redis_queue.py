"""The Redis backend: jobs on the cache's server, the durable store behind it.

Jobs live on the server (:class:`~qfzz.jobs._redis_jobs.RedisJobs`), and every job queued
there is first recorded in the job store as a *parked* row (never handed out from the
store), deleted by the job's ack: a server that restarts without persistence forgets its
jobs, and parked jobs the server no longer knows are queued on it again (checked every
``store_check_every`` seconds and when the server comes back). While the server is out of
reach (the lender's circuit is open), new jobs go to the job store instead and workers
take from there too, through a :class:`~qfzz.jobs.StoreQueue`; when the server is back,
the stored jobs move to the server. Acks of server jobs made meanwhile wait in memory and
are replayed (a lost one only means a redo).

Jobs are not cache entries: a payload the codec cannot encode raises at ``put``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from qfzz.jobs._protocols import JobStore, PayloadCodec, ServerLink
from qfzz.jobs._redis_jobs import RedisJobs
from qfzz.jobs._store_queue import StoreQueue
from qfzz.jobs._types import DeadJob, Job
from qfzz.models import IdempotencyKey

log = logging.getLogger(__name__)

T = TypeVar("T")


class RedisQueue:
    """One named queue on a lent server; a :class:`~qfzz.jobs.JobQueue`."""

    def __init__(
        self,
        name: str,
        store: JobStore,
        link: ServerLink,
        *,
        clock: Callable[[], float],
        codec: PayloadCodec,
        visibility: float = 300.0,
        max_attempts: int = 5,
        store_check_every: float = 30.0,
    ) -> None:
        #: The store's share: parked records, and the jobs queued while the server was out.
        self.local = StoreQueue(
            name, store, clock=clock, codec=codec, visibility=visibility, max_attempts=max_attempts
        )
        self.name = name
        self.store = store
        self.link = link
        self.server = RedisJobs(link.key, name)
        self.clock = clock
        self.store_check_every = store_check_every
        self._next_store_check = float("-inf")  # stored jobs may be waiting from before
        self._deferred: list[tuple[str, Job, str | None]] = []
        self._lock = threading.Lock()
        link.on_recovery(self.replay)

    def put(self, payload: object, *, key: IdempotencyKey | None = None) -> str:
        """Queue a job; returns its id. Raises the codec's ``TypeError`` for a bad payload.

        An idempotency ``key`` is recorded by the job store in the transaction that parks
        the job, so the job is queued once per key; a store that finds the key taken raises
        before anything is queued.
        """
        text = self.local.encode(payload)
        job_id = self.local.new_id()
        now = self.clock()
        self.store.add(self.name, job_id, text, now=now, parked=True, key=key)  # durable first
        if not self._on_server(lambda c: self.server.put(c, job_id, text))[0]:
            self.store.unpark(self.name, job_id, now=now)
            self._next_store_check = float("-inf")
        return job_id

    def take(self) -> Job | None:
        """The next visible job, now leased to the caller, or ``None``."""
        now = self.clock()
        ok, job = self._take_from_server(now)
        if ok and job is None and now >= self._next_store_check and self.requeue_forgotten():
            ok, job = self._take_from_server(now)  # the forgotten ones are back
        if job is not None:
            return job
        if ok and now < self._next_store_check:
            return None
        job = self.local.take()
        if job is None:
            self._next_store_check = now + self.store_check_every
        return job

    def ack(self, job: Job) -> None:
        """The job is done: it leaves the queue for good."""
        if job.source == "store":
            self.local.ack(job)
        elif (acked := self._on_server(lambda c: self.server.ack(c, job)))[0]:
            if acked[1]:
                self.store.ack(self.name, job.job_id)  # its parked record
            else:
                log.warning("late ack of job %s ignored: it was handed out again", job.job_id)
        else:
            with self._lock:
                self._deferred.append(("ack", job, None))

    def extend(self, job: Job) -> Job | None:
        if job.source == "store":
            return self.local.extend(job)
        now = self.clock()
        ok, extended = self._on_server(
            lambda c: self.server.extend(c, job, now=now, visibility=self.local.visibility)
        )
        # the server out of reach: keep working under the old lease (a redo at worst)
        return extended if ok else job

    def fail(self, job: Job, error: str | None = None) -> None:
        """The job failed: visible again at once (or dead-lettered at its last attempt)."""
        if job.source == "store":
            self.local.fail(job, error)
        elif not self._on_server(lambda c: self.server.release(c, job, error))[0]:
            with self._lock:
                self._deferred.append(("fail", job, error))

    def dead(self, limit: int = 100) -> list[DeadJob]:
        """Dead-lettered jobs (server, then store), oldest first per place."""
        _, dead = self._on_server(lambda c: self.server.dead(c, limit))
        found = [
            DeadJob(
                job.job_id, self.name, self.local.decode(str(job.payload)), job.attempts, job.error
            )
            for job in dead or []
        ]
        return (found + self.local.dead(limit))[:limit]

    def retry_dead(self, job_id: str) -> bool:
        """Give a dead job a fresh set of attempts."""
        if self.local.retry_dead(job_id):
            return True
        _, moved = self._on_server(lambda c: self.server.retry_dead(c, job_id))
        return bool(moved)

    def counts(self) -> dict[str, int]:
        """``ready``, ``taken`` and ``dead`` jobs, server and store together."""
        totals = self.local.counts()
        _, counts = self._on_server(self.server.counts)
        for name, n in (counts or {}).items():
            totals[name] = totals.get(name, 0) + n
        return totals

    def replay(self) -> None:
        """Server back: replay deferred acks, move jobs stored meanwhile to the server."""
        with self._lock:
            deferred, self._deferred = self._deferred, []
        for kind, job, error in deferred:
            if kind == "ack":
                self.ack(job)
            else:
                self.fail(job, error)
        self.requeue_forgotten()
        while (stored := self.local.claim()) is not None:
            if not self._move_to_server(stored.job_id, stored.payload):
                return  # down again: the claim times out and the job is visible once more
            self.store.ack(self.name, stored.job_id)

    def requeue_forgotten(self) -> int:
        """Queue again on the server the parked jobs it no longer knows (it lost its data).

        Only jobs parked at least ``store_check_every`` seconds ago are looked at, so a job
        between its parked record and its arrival on the server is never queued twice.
        """
        before = self.clock() - self.store_check_every
        parked = {row.job_id: row.payload for row in self.store.parked(self.name, before=before)}
        if not parked:
            return 0
        ok, known = self._on_server(lambda c: self.server.known(c, list(parked)))
        if not ok:
            return 0
        forgotten = [job_id for job_id in parked if job_id not in (known or set())]
        for job_id in forgotten:
            log.warning("the cache server forgot job %s of %s: queued again", job_id, self.name)
            if not self._move_to_server(job_id, parked[job_id]):
                break
        return len(forgotten)

    def _take_from_server(self, now: float) -> tuple[bool, Job | None]:
        local = self.local
        ok, job = self._on_server(
            lambda c: self.server.take(
                c, now=now, visibility=local.visibility, max_attempts=local.max_attempts
            )
        )
        if job is None:
            return ok, None
        payload = local.decode(str(job.payload))  # server jobs come with the codec's text
        return ok, Job(job.job_id, self.name, payload, job.attempt, job.source, job.lease)

    def _move_to_server(self, job_id: str, payload: str) -> bool:
        ok, _ = self._on_server(lambda c: self.server.put(c, job_id, payload))
        return ok

    def _on_server(self, action: Callable[[Any], T]) -> tuple[bool, T | None]:
        return self.link.call(action)
