"""The durable job table behind ``qfzz.jobs``' queues (scan, import, transcode).

A job row is *ready* when ``visible_at`` has passed and it is not dead. Claiming one
pushes ``visible_at`` out by the visibility timeout and counts the attempt, guarded by the
``visible_at`` it was read with (compare-and-set), so two workers, even in two processes
on PostgreSQL, never get the same hand-out. A worker that dies simply never acks: the row
becomes ready again when its timeout passes. A row handed out ``max_attempts`` times
without an ack is marked dead instead of being handed out again.

A *parked* row records a job queued on a cache server (Redis loses what it holds when it
restarts without persistence): it is never handed out or counted here, the server's ack
deletes it, and ``parked`` lists the ones to queue again if the server forgot them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, RowMapping, case, delete, func, select, update

from qfzz.models import IdempotencyKey
from qfzz.store._database import Database
from qfzz.store._schema import jobs
from qfzz.store.idempotency import IdempotencyRepository, KeyTaken, StoredAnswer


@dataclass(frozen=True, slots=True)
class JobRecord:
    job_id: str
    queue: str
    payload: str
    attempts: int
    visible_at: float
    error: str | None
    dead: bool = False


def _record(row: RowMapping) -> JobRecord:
    return JobRecord(
        row["job_id"],
        row["queue"],
        row["payload"],
        int(row["attempts"]),
        float(row["visible_at"]),
        row["error"],
        bool(row["dead"]),
    )


class JobRepository:
    def __init__(self, db: Database, keys: IdempotencyRepository | None = None) -> None:
        self._db = db
        self._keys = keys if keys is not None else IdempotencyRepository(db)

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
        """Record a job (a no-op for a known ``job_id``).

        With an idempotency ``key`` its record (answer: the job id) commits in the same
        transaction; :class:`KeyTaken` if the key is stored already, and then no job is.
        """
        with self._db.write() as conn:
            if key is not None:
                taken = self._keys.claim(conn, key, {"job_id": job_id}, now=now)
                if taken is not None:
                    raise KeyTaken(taken)
            exists = conn.scalar(select(jobs.c.job_id).where(jobs.c.job_id == job_id))
            if exists is None:
                conn.execute(
                    jobs.insert().values(
                        job_id=job_id,
                        queue=queue,
                        payload=payload,
                        attempts=0,
                        visible_at=now,
                        dead=False,
                        error=None,
                        enqueued_at=now,
                        parked=parked,
                    )
                )

    @staticmethod
    def answered(record: StoredAnswer) -> str:
        """The job id a stored answer (of a keyed ``add``) names."""
        return str(record.answer["job_id"])

    def claim(
        self, queue: str, *, now: float, visibility: float, max_attempts: int
    ) -> JobRecord | None:
        """Hand out the job that has been visible longest, or ``None``."""
        ready = (
            select(jobs)
            .where(
                jobs.c.queue == queue,
                jobs.c.dead.is_(False),
                jobs.c.parked.is_(False),
                jobs.c.visible_at <= now,
            )
            .order_by(jobs.c.visible_at, jobs.c.id)
            .limit(16)
        )
        with self._db.write() as conn:
            for row in conn.execute(ready).mappings().all():
                job = _record(row)
                guard = (jobs.c.job_id == job.job_id) & (jobs.c.visible_at == job.visible_at)
                if job.attempts >= max_attempts:
                    error = job.error or f"gave up after {job.attempts} attempts"
                    conn.execute(update(jobs).where(guard).values(dead=True, error=error))
                    continue
                taken = conn.execute(
                    update(jobs)
                    .where(guard, jobs.c.dead.is_(False))
                    .values(visible_at=now + visibility, attempts=job.attempts + 1)
                )
                if taken.rowcount == 1:
                    return JobRecord(
                        job.job_id,
                        queue,
                        job.payload,
                        job.attempts + 1,
                        now + visibility,
                        job.error,
                    )
        return None

    def extend(self, queue: str, job_id: str, *, lease: float, until: float) -> bool:
        """Move a hand-out's deadline to ``until``, if it is still the hand-out ``lease``
        names."""
        return self._change_handout(queue, job_id, lease, visible_at=until)

    def ack(self, queue: str, job_id: str, *, lease: float | None = None) -> bool:
        """The job is done: deleted — with ``lease``, only while it is still the hand-out
        that lease names (a worker whose hand-out ran out cannot end the next one's)."""
        with self._db.write() as conn:
            return conn.execute(delete(jobs).where(*_live(queue, job_id, lease))).rowcount == 1

    def parked(self, queue: str, *, before: float, limit: int = 1000) -> list[JobRecord]:
        """Parked rows enqueued at or before ``before``, oldest first."""
        query = (
            select(jobs)
            .where(jobs.c.queue == queue, jobs.c.parked.is_(True), jobs.c.enqueued_at <= before)
            .order_by(jobs.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def unpark(self, queue: str, job_id: str, *, now: float) -> bool:
        """The server could not take the job: it becomes a job of this store."""
        with self._db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.queue == queue, jobs.c.job_id == job_id, jobs.c.parked.is_(True))
                .values(parked=False, visible_at=now)
            )
            return result.rowcount == 1

    def release(
        self, queue: str, job_id: str, *, lease: float, now: float, error: str | None
    ) -> bool:
        """Make a failed job ready now, if it is still the hand-out ``lease`` names."""
        return self._change_handout(queue, job_id, lease, visible_at=now, error=error)

    def _change_handout(self, queue: str, job_id: str, lease: float, **values: object) -> bool:
        """Set ``values`` on a job still handed out as ``lease`` names; whether it was."""
        with self._db.write() as conn:
            changed = update(jobs).where(*_live(queue, job_id, lease)).values(**values)
            return conn.execute(changed).rowcount == 1

    def dead(self, queue: str, *, limit: int = 100) -> list[JobRecord]:
        query = (
            select(jobs)
            .where(jobs.c.queue == queue, jobs.c.dead.is_(True))
            .order_by(jobs.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def retry_dead(self, queue: str, job_id: str, *, now: float) -> bool:
        with self._db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.queue == queue, jobs.c.job_id == job_id, jobs.c.dead.is_(True))
                .values(dead=False, attempts=0, visible_at=now, error=None)
            )
            return result.rowcount == 1

    def counts(self, queue: str, *, now: float) -> dict[str, int]:
        """``ready``, ``taken`` (handed out, not yet acked) and ``dead`` jobs."""
        live = jobs.c.dead.is_(False)

        def tally(condition: ColumnElement[bool]) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        state = select(
            tally(live & (jobs.c.visible_at <= now)),
            tally(live & (jobs.c.visible_at > now)),
            tally(jobs.c.dead.is_(True)),
        ).where(jobs.c.queue == queue, jobs.c.parked.is_(False))
        with self._db.read() as conn:
            ready, taken, dead = conn.execute(state).one()
        return {"ready": int(ready), "taken": int(taken), "dead": int(dead)}


def _live(queue: str, job_id: str, lease: float | None) -> list[ColumnElement[bool]]:
    """The conditions naming a job not dead-lettered (and, with ``lease``, still that
    hand-out: ``visible_at`` is the deadline it was handed out with)."""
    conditions = [jobs.c.queue == queue, jobs.c.job_id == job_id, jobs.c.dead.is_(False)]
    if lease is not None:
        conditions.append(jobs.c.visible_at == lease)
    return conditions
