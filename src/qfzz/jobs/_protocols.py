"""The small interfaces of the job queues: what a queue offers, and what it is built over.

Both backends (:class:`~qfzz.jobs.StoreQueue`, :class:`~qfzz.jobs.RedisQueue`) are a
:class:`JobQueue`; a worker or a route never needs to know which one it holds. What a
queue is built over is described here too, as structural types, so this package imports
neither the store nor the cache: ``qfzz.store.JobRepository`` is a :class:`JobStore`,
``qfzz.cache.Codec`` a :class:`PayloadCodec` and ``qfzz.cache.ServerLink`` a
:class:`ServerLink`; the station wires them together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from qfzz.jobs._types import DeadJob, Job
from qfzz.models import IdempotencyKey

T = TypeVar("T")


class JobQueue(Protocol):
    """One named, reliable queue: at least once, with a visibility timeout and dead letters."""

    @property
    def name(self) -> str: ...

    def put(self, payload: object, *, key: IdempotencyKey | None = None) -> str:
        """Queue a job; returns its id. With an idempotency ``key``, at most once per key."""
        ...

    def take(self) -> Job | None:
        """The next visible job, now leased to the caller, or ``None``."""
        ...

    def ack(self, job: Job) -> None:
        """The job is done: it leaves the queue for good."""
        ...

    def extend(self, job: Job) -> Job | None:
        """Hold ``job`` for another hand-out period from now (its worker is alive and still
        working on it): the job under its new hand-out, or None when it was handed out
        again meanwhile (another worker has it: stop)."""
        ...

    def fail(self, job: Job, error: str | None = None) -> None:
        """The job failed: visible again at once (or dead-lettered at its last attempt)."""
        ...

    def dead(self, limit: int = 100) -> list[DeadJob]:
        """Dead-lettered jobs, oldest first."""
        ...

    def retry_dead(self, job_id: str) -> bool:
        """Give a dead job a fresh set of attempts."""
        ...

    def counts(self) -> dict[str, int]:
        """``ready``, ``taken`` and ``dead`` jobs."""
        ...


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
    """The durable job table (``qfzz.store.JobRepository``; ``MemoryJobStore`` in tests)."""

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
    def ack(self, queue: str, job_id: str, *, lease: float | None = None) -> bool: ...
    def extend(self, queue: str, job_id: str, *, lease: float, until: float) -> bool: ...
    def release(
        self, queue: str, job_id: str, *, lease: float, now: float, error: str | None
    ) -> bool: ...
    def dead(self, queue: str, *, limit: int = 100) -> Sequence[StoredJob]: ...
    def retry_dead(self, queue: str, job_id: str, *, now: float) -> bool: ...
    def counts(self, queue: str, *, now: float) -> Mapping[str, int]: ...


class PayloadCodec(Protocol):
    """Turns payloads into ASCII bytes and back; raises a ``TypeError`` for what it cannot."""

    def encode(self, value: object) -> bytes: ...
    def decode(self, data: bytes) -> Any: ...


class ServerLink(Protocol):
    """A Redis-protocol server lent by its owner (the cache), behind the owner's breaker.

    ``call(action)`` runs ``action(client)`` with a redis-py client and answers
    ``(True, result)``, or ``(False, None)`` when the server is not to be called or failed.
    """

    def key(self, *parts: str | int) -> str: ...
    def call(self, action: Callable[[Any], T]) -> tuple[bool, T | None]: ...
    def on_recovery(self, hook: Callable[[], None]) -> None: ...
