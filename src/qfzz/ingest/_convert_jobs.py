"""Conversion as jobs of a reliable queue (``qfzz.jobs``): at least once, finished once.

A worker takes a job, converts, records the outcome, and only then acks. If the worker
dies anywhere before the ack, the job becomes visible again after the queue's visibility
timeout and runs again; the converter makes the final directory in one rename and answers
a rerun from it, so however many times a job runs, one set of derivatives exists and the
same outcome is recorded (``record`` must be idempotent per content id: a second call
with the same outcome changes nothing).

Failures that another attempt may cure (the child was killed from outside, another worker
holds the content) go back to the queue with ``fail``, which dead-letters them after the
queue's last attempt; failures that will not change (the file does not decode, it exceeds
its limits) are recorded as the upload's state and acked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qfzz.errors import InvalidInput
from qfzz.ingest._convert import ConversionFailed, Converter, Outcome
from qfzz.jobs import JobQueue

_CONTENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_MAX_SOURCE = 255


@dataclass(frozen=True, slots=True)
class ConvertJob:
    """Convert the upload ``source`` (a name inside the uploads folder) as ``content_id``."""

    content_id: str
    source: str


def parse_convert_job(payload: object) -> ConvertJob:
    """The job in a queue payload, every field bounded; :class:`InvalidInput` otherwise."""
    if not isinstance(payload, dict) or payload.get("kind") != "convert":
        raise InvalidInput("not a convert job")
    content_id, source = payload.get("content_id"), payload.get("source")
    if not isinstance(content_id, str) or not _CONTENT_ID.fullmatch(content_id):
        raise InvalidInput("content_id must be 1-128 letters, digits, '-' or '_'")
    if not isinstance(source, str) or not 0 < len(source) <= _MAX_SOURCE:
        raise InvalidInput(f"source must be a name of 1-{_MAX_SOURCE} characters")
    if "/" in source or "\\" in source or "\x00" in source or source in (".", ".."):
        raise InvalidInput("source must be a plain file name inside the uploads folder")
    return ConvertJob(content_id, source)


class ConvertJobs:
    """Puts conversion jobs on ``queue`` and runs them with ``converter``."""

    def __init__(
        self,
        queue: JobQueue,
        converter: Converter,
        uploads: Path,
        record: Callable[[Outcome], None],
    ) -> None:
        self.queue = queue
        self.converter = converter
        self.uploads = uploads
        self.record = record

    def submit(self, content_id: str, source: str) -> str:
        job = parse_convert_job({"kind": "convert", "content_id": content_id, "source": source})
        return self.queue.put({"kind": "convert", "content_id": job.content_id, "source": source})

    def run_once(self) -> Outcome | None:
        """Take one job and see it through; None when the queue had nothing ready."""
        job = self.queue.take()
        if job is None:
            return None
        try:
            task = parse_convert_job(job.payload)
        except InvalidInput as exc:  # never valid: let it go to the dead letters
            self.queue.fail(job, f"malformed convert job: {exc.detail}")
            return None
        outcome = self.converter.convert(task.content_id, self.uploads / task.source)
        if isinstance(outcome, ConversionFailed) and outcome.retry:
            self.queue.fail(job, outcome.reason)
            return outcome
        self.record(outcome)  # before the ack: a death in between only means a rerun
        self.queue.ack(job)
        return outcome
