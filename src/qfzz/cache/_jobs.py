"""Reliable job queues: at-least-once, visibility timeout, dead letters, nothing lost.

A taken job is invisible to other workers until it is acknowledged; if its worker dies,
it becomes visible again ``visibility`` seconds (injected clock) after it was taken and is
redone. A job taken ``max_attempts`` times without an ack moves to the dead-letter list.

Where jobs live: with the embedded cache, in the durable job store (``qfzz.store.jobs``,
SQLite by default), so a restart loses none. With a Redis-protocol server, on the server,
and every job queued there is first recorded in the job store as a *parked* row (never
handed out from the store), deleted by the job's ack: a server that restarts without
persistence forgets its jobs, and parked jobs the server no longer knows are queued on it
again (checked every ``store_check_every`` seconds and when the server comes back). While
its circuit is open, new jobs go to the job store instead and workers take from there
too; when the server is back, the stored jobs move to the server. Acks of server jobs
made meanwhile wait in memory and are replayed (a lost one only means a redo).

Jobs are not cache entries: a payload the codec cannot encode raises at ``put``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

from qfzz.cache._core import Cache
from qfzz.cache._types import DeadJob, Job
from qfzz.models import IdempotencyKey

log = logging.getLogger(__name__)


class StoredJob(Protocol):
    """A job row of the durable job store."""

    @property
    def job_id(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def payload(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def visible_at(self) -> float: ...
    @property
    def error(self) -> str | None: ...


class JobStore(Protocol):
    """The durable job store (``qfzz.store.JobRepository`` implements it)."""

    def add(
        self,
        queue: str,
        job_id: str,
        payload: str,
        *,
        now: float,
        parked: bool = False,
        key: IdempotencyKey | None = None,
    ) -> None: ...
    def parked(self, queue: str, *, before: float, limit: int = 1000) -> Sequence[StoredJob]: ...
    def unpark(self, queue: str, job_id: str, *, now: float) -> bool: ...
    def claim(
        self, queue: str, *, now: float, visibility: float, max_attempts: int
    ) -> StoredJob | None: ...
    def ack(self, queue: str, job_id: str) -> bool: ...
    def release(
        self, queue: str, job_id: str, *, lease: float, now: float, error: str | None
    ) -> bool: ...
    def dead(self, queue: str, *, limit: int = 100) -> Sequence[StoredJob]: ...
    def retry_dead(self, queue: str, job_id: str, *, now: float) -> bool: ...
    def counts(self, queue: str, *, now: float) -> Mapping[str, int]: ...


class ServerJobs(Protocol):
    """A queue's jobs on the cache server (``qfzz.cache._redis_jobs.RedisJobs``)."""

    def put(self, job_id: str, payload: str) -> None: ...
    def known(self, job_ids: Sequence[str]) -> set[str]: ...
    def take(self, *, now: float, visibility: float, max_attempts: int) -> Job | None: ...
    def ack(self, job_id: str) -> None: ...
    def release(self, job: Job, error: str | None) -> None: ...
    def dead(self, limit: int) -> list[DeadJob]: ...
    def retry_dead(self, job_id: str) -> bool: ...
    def counts(self) -> dict[str, int]: ...


class JobQueue:
    """One named queue; see the module docstring for the guarantees."""

    namespace = "jobs"

    def __init__(
        self,
        cache: Cache,
        name: str,
        *,
        store: JobStore | None = None,
        server: ServerJobs | None = None,
        visibility: float = 300.0,
        max_attempts: int = 5,
        store_check_every: float = 30.0,
    ) -> None:
        if max_attempts < 1 or visibility <= 0:
            raise ValueError("max_attempts must be ≥ 1 and visibility > 0")
        self.cache = cache
        self.name = name
        self.store: JobStore = store if store is not None else cache.job_store
        if self.store is None:
            raise ValueError("a job queue needs a job store (open_cache sets one)")
        if server is None and cache.server_jobs is not None:
            server = cache.server_jobs(name)
        self.server = server
        self.visibility = visibility
        self.max_attempts = max_attempts
        self.store_check_every = store_check_every
        self._next_store_check = float("-inf")  # stored jobs may be waiting from before
        self._deferred: list[tuple[str, Job, str | None]] = []
        self._lock = threading.Lock()
        if server is not None:
            cache.recovery_hooks.append(self.replay)

    def put(self, payload: object, *, key: IdempotencyKey | None = None) -> str:
        """Queue a job; returns its id. Raises ``UnserializableValue`` for a bad payload.

        An idempotency ``key`` is recorded by the job store in the transaction that records
        the job, so the job is queued once per key; a store that finds the key taken raises
        before anything is queued.
        """
        job_id = uuid.uuid4().hex
        text = self.cache.codec.encode(payload).decode("ascii")
        now = self.cache.clock()
        server = self.server
        if server is None:
            self.store.add(self.name, job_id, text, now=now, key=key)
            return job_id
        self.store.add(self.name, job_id, text, now=now, parked=True, key=key)  # durable first
        ok, _ = self.cache.guarded(self.namespace, lambda: server.put(job_id, text))
        if not ok:
            self.store.unpark(self.name, job_id, now=now)
            self._next_store_check = float("-inf")
        return job_id

    def take(self) -> Job | None:
        """The next visible job, now leased to the caller, or ``None``."""
        now = self.cache.clock()
        server = self.server
        if server is not None:
            ok, job = self._take_from_server(server, now)
            if ok and job is None and now >= self._next_store_check and self.requeue_forgotten():
                ok, job = self._take_from_server(server, now)  # the forgotten ones are back
            if job is not None:
                return job
            if ok and now < self._next_store_check:
                return None
        stored = self.store.claim(
            self.name, now=now, visibility=self.visibility, max_attempts=self.max_attempts
        )
        if stored is None:
            self._next_store_check = now + self.store_check_every
            return None
        return Job(
            stored.job_id,
            self.name,
            self.cache.codec.decode(stored.payload.encode("ascii")),
            stored.attempts,
            source="store",
            lease=repr(stored.visible_at),
        )

    def ack(self, job: Job) -> None:
        """The job is done: it leaves the queue for good."""
        if job.source == "store":
            self.store.ack(self.name, job.job_id)
        elif self._on_server(lambda s: s.ack(job.job_id)):
            self.store.ack(self.name, job.job_id)  # its parked record
        else:
            with self._lock:
                self._deferred.append(("ack", job, None))

    def fail(self, job: Job, error: str | None = None) -> None:
        """The job failed: visible again at once (or dead-lettered at its last attempt)."""
        if job.source == "store":
            now = self.cache.clock()
            lease = float(job.lease)
            self.store.release(self.name, job.job_id, lease=lease, now=now, error=error)
        elif not self._on_server(lambda s: s.release(job, error)):
            with self._lock:
                self._deferred.append(("fail", job, error))

    def dead(self, limit: int = 100) -> list[DeadJob]:
        """Dead-lettered jobs (server and store), oldest first per place."""
        found: list[DeadJob] = []
        if self.server is not None:
            server = self.server
            _, dead = self.cache.guarded(self.namespace, lambda: server.dead(limit))
            for job in dead or []:
                payload = self.cache.codec.decode(str(job.payload).encode("ascii"))
                found.append(DeadJob(job.job_id, self.name, payload, job.attempts, job.error))
        for row in self.store.dead(self.name, limit=limit):
            payload = self.cache.codec.decode(row.payload.encode("ascii"))
            found.append(DeadJob(row.job_id, self.name, payload, row.attempts, row.error))
        return found[:limit]

    def retry_dead(self, job_id: str) -> bool:
        """Give a dead job a fresh set of attempts."""
        if self.store.retry_dead(self.name, job_id, now=self.cache.clock()):
            return True
        server = self.server
        if server is None:
            return False
        _, moved = self.cache.guarded(self.namespace, lambda: server.retry_dead(job_id))
        return bool(moved)

    def counts(self) -> dict[str, int]:
        """``ready``, ``taken`` and ``dead`` jobs, server and store together."""
        totals = dict(self.store.counts(self.name, now=self.cache.clock()))
        if self.server is not None:
            server = self.server
            _, counts = self.cache.guarded(self.namespace, server.counts)
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
        server = self.server
        if server is None:
            return
        self.requeue_forgotten()
        while True:
            now = self.cache.clock()
            stored = self.store.claim(
                self.name, now=now, visibility=self.visibility, max_attempts=self.max_attempts
            )
            if stored is None:
                return
            if not self._move_to_server(server, stored.job_id, stored.payload):
                return  # down again: the claim times out and the job is visible once more
            self.store.ack(self.name, stored.job_id)

    def _take_from_server(self, server: ServerJobs, now: float) -> tuple[bool, Job | None]:
        ok, job = self.cache.guarded(
            self.namespace,
            lambda: server.take(
                now=now, visibility=self.visibility, max_attempts=self.max_attempts
            ),
        )
        return ok, None if job is None else self._decoded(job)

    def requeue_forgotten(self) -> int:
        """Queue again on the server the parked jobs it no longer knows (it lost its data).

        Only jobs parked at least ``store_check_every`` seconds ago are looked at, so a job
        between its parked record and its arrival on the server is never queued twice.
        """
        server = self.server
        if server is None:
            return 0
        before = self.cache.clock() - self.store_check_every
        parked = {row.job_id: row.payload for row in self.store.parked(self.name, before=before)}
        if not parked:
            return 0
        ok, known = self.cache.guarded(self.namespace, lambda: server.known(list(parked)))
        if not ok:
            return 0
        forgotten = [job_id for job_id in parked if job_id not in (known or set())]
        for job_id in forgotten:
            log.warning("the cache server forgot job %s of %s: queued again", job_id, self.name)
            if not self._move_to_server(server, job_id, parked[job_id]):
                break
        return len(forgotten)

    def _move_to_server(self, server: ServerJobs, job_id: str, payload: str) -> bool:
        ok, _ = self.cache.guarded(self.namespace, lambda: server.put(job_id, payload))
        return ok

    def _on_server(self, action: object) -> bool:
        server = self.server
        if server is None:
            return False
        ok, _ = self.cache.guarded(self.namespace, lambda: action(server))  # type: ignore[operator]
        return ok

    def _decoded(self, job: Job) -> Job:
        """Server jobs come with the payload as the codec's text."""
        payload = self.cache.codec.decode(str(job.payload).encode("ascii"))
        return Job(job.job_id, self.name, payload, job.attempt, job.source, job.lease)
