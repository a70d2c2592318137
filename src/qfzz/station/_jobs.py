"""Long catalog work (library scans, dataset imports, resolving) as jobs on the reliable
queue.

The API enqueues and answers at once; a worker thread of the serving process takes jobs,
reports progress (shown by ``GET /api/v1/jobs/{id}`` and ``qfzz jobs show``), and acks them
only when done — a worker that dies holding a job leaves it to be taken again, and a job
that keeps failing ends in the dead-letter list instead of blocking the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qfzz.cache import JobProgress, JobProgressCache
from qfzz.errors import InvalidInput
from qfzz.jobs import Job, JobQueue
from qfzz.models import MAX_RESOLVE, IdempotencyKey
from qfzz.station._catalog import Catalog
from qfzz.station._idempotency import Idempotency, Once
from qfzz.station._poller import Poller
from qfzz.station._resolving import Resolving
from qfzz.store import JobRepository

log = logging.getLogger(__name__)

#: Whose idempotency keys a job's effects are stored under (no listener can be named so:
#: user ids have no spaces).
JOBS_PRINCIPAL = "qfzz jobs"

#: The queue the catalog jobs (scans, dataset imports) run on.
CATALOG_QUEUE = "catalog"
POLL_SECONDS = 0.5


class CatalogJobs:
    def __init__(
        self,
        queue: JobQueue,
        progress: JobProgressCache,
        catalog: Catalog,
        idempotency: Idempotency,
        resolving: Resolving | None = None,
        *,
        clock: Callable[[], float] = time.time,
        keep_every: float = 60.0,
    ) -> None:
        self.queue = queue
        self._clock = clock
        #: Seconds between two extensions of a job's hand-out while its work goes on (a
        #: third of the hand-out: a worker alive keeps its job, a dead one loses it soon).
        self._keep_every = keep_every
        self._progress = progress
        self._catalog = catalog
        self._idempotency = idempotency
        self._resolving = resolving
        self._worker = Poller("qfzz-jobs", self.run_pending, POLL_SECONDS)

    # -- producers --------------------------------------------------------------------------

    def scan(self, path: str) -> str:
        if not path.strip():
            raise InvalidInput("give the folder to scan")
        job_id = self.queue.put({"kind": "scan", "path": path})
        self._progress.update(job_id, 0, None, "queued")
        return job_id

    def import_dataset(
        self,
        name: str,
        records: list[dict[str, Any]],
        license_id: str,
        *,
        key: IdempotencyKey | None = None,
    ) -> str:
        """Queue a dataset import; with an idempotency ``key`` the job and the key's record
        are stored together (``KeyTaken`` if the key is stored already: nothing queued)."""
        job_id = self.queue.put(
            {"kind": "import", "name": name, "records": records, "license": license_id},
            key=key,
        )
        self._progress.update(job_id, 0, len(records), "queued")
        return job_id

    def import_dataset_once(
        self, key: IdempotencyKey, name: str, records: list[dict[str, Any]], license_id: str
    ) -> Once[str]:
        """``import_dataset`` once per key: a repeat gets the first job's id, queues none."""
        return self._idempotency.run(
            key,
            lambda: self.import_dataset(name, records, license_id, key=key),
            JobRepository.answered,
        )

    def resolve(self, *, limit: int, origin: str | None = None) -> str:
        """Queue a resolver run over up to ``limit`` unresolved tracks (of ``origin``)."""
        if not 1 <= limit <= MAX_RESOLVE:
            raise InvalidInput(f"limit must be 1-{MAX_RESOLVE}")
        job_id = self.queue.put({"kind": "resolve", "limit": limit, "origin": origin})
        self._progress.update(job_id, 0, None, "queued")
        return job_id

    def progress(self, job_id: str) -> JobProgress | None:
        return self._progress.get(job_id)

    # -- the worker -------------------------------------------------------------------------

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def run_pending(self) -> int:
        """Do every visible job now (the worker's loop body; tests call it directly)."""
        done = 0
        while (job := self.queue.take()) is not None:
            self._do(job)
            done += 1
        return done

    def _do(self, taken: Job) -> None:
        progress = self._progress
        held = _Held(self.queue, taken, self._clock, self._keep_every)
        job = taken
        payload = job.payload if isinstance(job.payload, dict) else {}
        try:
            if payload.get("kind") == "scan":
                progress.update(job.job_id, 0, None, "scanning")  # no longer queued

                def step(done: int, total: int, _path: str) -> None:
                    held.keep()
                    progress.update(job.job_id, done, total, "scanning")

                report = self._catalog.scan(Path(str(payload["path"])), step)
                if job.attempt > 1:  # an earlier hand-out may have stored files untold
                    self._catalog.everything_changed()
                message = (
                    f"{report.added} added, {report.updated} updated, {report.removed} removed, "
                    f"{len(report.errors)} unreadable, {len(report.skipped)} not regular files"
                )
                progress.update(job.job_id, report.seen, report.seen, message, finished=True)
            elif payload.get("kind") == "import":
                # Keyed by the job: a second hand-out of a job whose import was stored
                # (its worker died before the ack) gets that import, never a second one.
                once = self._catalog.import_dataset_once(
                    IdempotencyKey(JOBS_PRINCIPAL, "import job", job.job_id, job.job_id),
                    str(payload["name"]),
                    list(payload["records"]),
                    str(payload["license"]),
                )
                result = once.value
                count = len(result.track_ids)
                progress.update(
                    job.job_id,
                    count,
                    count,
                    f"dataset {result.dataset.dataset_id}: quality {result.report.score:.4f}",
                    finished=True,
                )
            elif payload.get("kind") == "resolve" and self._resolving is not None:

                def resolving(done: int, total: int, message: str) -> None:
                    held.keep()
                    progress.update(job.job_id, done, total, message)

                origin = payload.get("origin")
                resolved = self._resolving.run(
                    limit=int(payload["limit"]),
                    origin=str(origin) if origin is not None else None,
                    progress=resolving,
                )
                progress.update(
                    job.job_id, resolved.total, resolved.total, resolved.summary(), finished=True
                )
            else:
                raise InvalidInput(f"unknown job {payload!r}")
        except HandedOutAgain:
            log.warning(
                "job %s was handed out again while it ran here: left to the other worker",
                job.job_id,
            )
            return
        except Exception as exc:
            log.warning("job %s failed (attempt %d): %s", job.job_id, job.attempt, exc)
            progress.update(job.job_id, 0, None, f"failed: {exc}", finished=False)
            self.queue.fail(held.job, str(exc))
            return
        self.queue.ack(held.job)


class HandedOutAgain(RuntimeError):
    """The job's hand-out ran out while it ran here, and another worker has it now."""


class _Held:
    """A job being done here, its hand-out extended as its work reports progress."""

    def __init__(self, queue: JobQueue, job: Job, clock: Callable[[], float], every: float) -> None:
        self._queue = queue
        self.job = job
        self._clock = clock
        self._every = every
        self._last = clock()

    def keep(self) -> None:
        """Extend the hand-out if a third of it has passed; ``HandedOutAgain`` if it is
        no longer this worker's (then the work must stop)."""
        now = self._clock()
        if now - self._last < self._every:
            return
        extended = self._queue.extend(self.job)
        if extended is None:
            raise HandedOutAgain(self.job.job_id)
        self.job, self._last = extended, now
