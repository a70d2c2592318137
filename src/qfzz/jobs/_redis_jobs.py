"""A reliable queue on a Redis-protocol server without Lua (Redis, Valkey, DragonflyDB).

Keys (all from the server link's namespace, ``jobs`` for the station)::

    jobs:<q>:ready      list   job ids waiting (RPOPLPUSH takes from the right)
    jobs:<q>:inflight   list   job ids handed out
    jobs:<q>:leases     hash   id → "<deadline> <lease>" (deadline from the injected clock)
    jobs:<q>:attempts   hash   id → times handed out
    jobs:<q>:errors     hash   id → last error
    jobs:<q>:dead       list   dead-lettered ids, newest first
    jobs:<q>:body:<id>  string the payload (codec text)

Taking is ``RPOPLPUSH ready inflight`` (exactly one worker gets an id), then one
``MULTI`` writes the lease and counts the attempt. Expired leases are reclaimed by whoever
wins ``HDEL`` of the lease (it returns 1 once). An id left in ``inflight`` without a lease
(its worker died between the two steps) is put back after it has been seen so for a whole
visibility timeout, so a worker that is merely between the two steps is never robbed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from qfzz.jobs._types import DeadJob, Job

#: A redis-py client (``decode_responses=False``), lent by the server link; its stubs type
#: replies loosely, and this package does not import redis at all.
Client = Any

#: Replace a job's lease only if it is still the one given (atomic on the server).
_SWAP_LEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


class RedisJobs:
    """One queue's jobs on the server, as commands on a client the caller passes in.

    Every method may raise the client's errors: callers run them through
    ``ServerLink.call``, which translates them and keeps a down server from being called.
    """

    def __init__(self, key: Callable[..., str], queue: str) -> None:
        self.queue = queue
        self._keyed = key
        self._ready, self._inflight = self._key("ready"), self._key("inflight")
        self._leases, self._attempts = self._key("leases"), self._key("attempts")
        self._errors, self._dead = self._key("errors"), self._key("dead")
        self._orphans: dict[bytes, float] = {}
        self._next_reap = float("-inf")

    def _key(self, *parts: str) -> str:
        return self._keyed(self.queue, *parts)

    def _body(self, job_id: str | bytes) -> str:
        return self._key("body", job_id if isinstance(job_id, str) else job_id.decode())

    def put(self, client: Client, job_id: str, payload: str) -> None:
        pipe = client.pipeline(transaction=True)
        pipe.set(self._body(job_id), payload.encode("ascii"))
        pipe.lpush(self._ready, job_id)
        pipe.execute()

    def known(self, client: Client, job_ids: Sequence[str]) -> set[str]:
        """The ids among ``job_ids`` this server holds (queued, taken or dead)."""
        pipe = client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self._body(job_id))
        return {job_id for job_id, n in zip(job_ids, pipe.execute(), strict=True) if n}

    def take(
        self, client: Client, *, now: float, visibility: float, max_attempts: int
    ) -> Job | None:
        if now >= self._next_reap:
            self._reap(client, now, visibility)
            self._next_reap = now + min(1.0, visibility / 4)
        while True:
            raw = client.rpoplpush(self._ready, self._inflight)
            if raw is None:
                return None
            job_id = raw.decode()
            lease = f"{now + visibility!r} {uuid.uuid4().hex}"
            pipe = client.pipeline(transaction=True)
            pipe.hset(self._leases, job_id, lease)
            pipe.hincrby(self._attempts, job_id, 1)
            pipe.get(self._body(job_id))
            pipe.hget(self._errors, job_id)
            _, attempts, body, error = pipe.execute()
            if body is None:  # acknowledged while it waited: forget it
                self._forget(client, job_id)
                continue
            if attempts > max_attempts:
                reason = error.decode() if error else f"gave up after {attempts - 1} attempts"
                pipe = client.pipeline(transaction=True)
                pipe.lrem(self._inflight, 1, job_id)
                pipe.hdel(self._leases, job_id)
                pipe.hset(self._errors, job_id, reason)
                pipe.lpush(self._dead, job_id)
                pipe.execute()
                continue
            return Job(job_id, self.queue, body.decode("ascii"), attempts, "server", lease)

    def extend(self, client: Client, job: Job, *, now: float, visibility: float) -> Job | None:
        """A new lease for a job still leased to this hand-out (None: it is not)."""
        lease = f"{now + visibility!r} {uuid.uuid4().hex}"
        swapped = client.eval(_SWAP_LEASE, 1, self._leases, job.job_id, job.lease, lease)
        return replace(job, lease=lease) if swapped == 1 else None

    def ack(self, client: Client, job: Job) -> bool:
        """Done, if the job's lease is still this hand-out's (False: handed out again)."""
        current = client.hget(self._leases, job.job_id)
        if current is None or current.decode() != job.lease:
            return False
        self._forget(client, job.job_id, drop_body=True)
        return True

    def release(self, client: Client, job: Job, error: str | None) -> None:
        """Make a failed job visible again, unless its lease has moved on to another worker."""
        current = client.hget(self._leases, job.job_id)
        if current is None or current.decode() != job.lease:
            return
        if client.hdel(self._leases, job.job_id) != 1:
            return
        pipe = client.pipeline(transaction=True)
        pipe.lrem(self._inflight, 1, job.job_id)
        if error is not None:
            pipe.hset(self._errors, job.job_id, error)
        pipe.lpush(self._ready, job.job_id)
        pipe.execute()

    def dead(self, client: Client, limit: int) -> list[DeadJob]:
        ids = client.lrange(self._dead, 0, limit - 1)
        if not ids:
            return []
        ids = list(reversed(ids))  # oldest first
        bodies = client.mget([self._body(i) for i in ids])
        errors = client.hmget(self._errors, ids)
        attempts = client.hmget(self._attempts, ids)
        return [
            DeadJob(i.decode(), self.queue, b.decode("ascii"), int(a or 0) - 1, e and e.decode())
            for i, b, e, a in zip(ids, bodies, errors, attempts, strict=True)
            if b is not None
        ]

    def retry_dead(self, client: Client, job_id: str) -> bool:
        if client.lrem(self._dead, 1, job_id) != 1:
            return False
        pipe = client.pipeline(transaction=True)
        pipe.hdel(self._attempts, job_id)
        pipe.hdel(self._errors, job_id)
        pipe.lpush(self._ready, job_id)
        pipe.execute()
        return True

    def counts(self, client: Client) -> dict[str, int]:
        pipe = client.pipeline(transaction=False)
        pipe.llen(self._ready)
        pipe.llen(self._inflight)
        pipe.llen(self._dead)
        ready, taken, dead = pipe.execute()
        return {"ready": int(ready), "taken": int(taken), "dead": int(dead)}

    def _forget(self, client: Client, job_id: str, *, drop_body: bool = False) -> None:
        pipe = client.pipeline(transaction=True)
        pipe.hdel(self._leases, job_id)
        pipe.lrem(self._inflight, 1, job_id)
        pipe.lrem(self._ready, 0, job_id)
        pipe.hdel(self._attempts, job_id)
        pipe.hdel(self._errors, job_id)
        if drop_body:
            pipe.delete(self._body(job_id))
        pipe.execute()

    def _reap(self, client: Client, now: float, visibility: float) -> None:
        """Put back jobs whose lease expired, and ids stranded in ``inflight``."""
        leases = client.hgetall(self._leases)
        for job_id, value in leases.items():
            if float(value.split(b" ", 1)[0]) <= now and client.hdel(self._leases, job_id):
                self._requeue(client, job_id)
        inflight = set(client.lrange(self._inflight, 0, 999))
        stranded = inflight - set(leases) - set(client.hkeys(self._leases))
        self._orphans = {i: self._orphans.get(i, now) for i in stranded}
        for job_id, since in list(self._orphans.items()):
            if now - since >= visibility and not client.hexists(self._leases, job_id):
                self._requeue(client, job_id)
                del self._orphans[job_id]

    def _requeue(self, client: Client, job_id: bytes) -> None:
        pipe = client.pipeline(transaction=True)
        pipe.lrem(self._inflight, 1, job_id)
        pipe.rpush(self._ready, job_id)  # the consuming end: a redo goes first
        pipe.execute()
