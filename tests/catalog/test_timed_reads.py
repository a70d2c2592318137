"""Every file read has a deadline: a read that never finishes is skipped, the scan goes on.

The deadline is decided by an injected ``wait``: here it passes exactly when the stuck
read has started (a Future the fake reader completes), so no test waits for real time.
"""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path

import pytest

from qfzz.catalog.scanner import LibraryScanner, read_library_file
from qfzz.catalog.timed_reads import ReadTimedOut, TimedReads
from qfzz.errors import UnreadableFile
from qfzz.testing import wait_for, write_tone

GUARD = 60.0  # a hang guard for the harness, never reached when the code is right


class StuckRead:
    """A reader that blocks on an event, and the deadline that passes once it has begun."""

    def __init__(self) -> None:
        self.started: futures.Future[None] = futures.Future()
        self.release = threading.Event()
        self.calls = 0
        self.passed = False  # the one deadline that passes

    def read(self) -> str:
        self.calls += 1
        self.started.set_result(None)
        assert self.release.wait(GUARD)
        return "late"

    def wait(self, job: futures.Future[object], timeout: float) -> bool:
        if not self.passed:
            first = futures.FIRST_COMPLETED
            futures.wait([job, self.started], timeout=GUARD, return_when=first)
            if not job.done() and self.started.done():
                self.passed = True  # the stuck read is under way: its deadline passes
                return False
        return futures.wait([job], timeout=GUARD).done == {job}


def test_a_read_past_its_deadline_is_abandoned_and_the_next_read_works():
    stuck = StuckRead()
    reads = TimedReads(5.0, wait=stuck.wait)
    with pytest.raises(ReadTimedOut, match=r"stuck\.mp3: no answer within 5 s") as caught:
        reads.run(stuck.read, "stuck.mp3")
    assert isinstance(caught.value, UnreadableFile) and caught.value.code == "read_timed_out"
    assert reads.stalled == 1
    assert reads.run(lambda: 42, "next.mp3") == 42  # a fresh worker took it
    with pytest.raises(ValueError, match="boom"):
        reads.run(lambda: int("boom"), "bad.mp3")  # a read's own error reaches the caller
    stuck.release.set()
    reads.close()


def test_stalled_reads_are_bounded_then_reads_fail_at_once():
    stuck = StuckRead()
    reads = TimedReads(5.0, max_stalled=1, wait=stuck.wait)
    with pytest.raises(ReadTimedOut):
        reads.run(stuck.read, "stuck.mp3")
    ran = []
    with pytest.raises(ReadTimedOut, match="not read, 1 earlier reads have not returned"):
        reads.run(lambda: ran.append(1), "other.mp3")
    assert ran == [] and stuck.calls == 1
    stuck.release.set()  # the stuck read returns: its worker exits and the bound frees
    assert futures.wait([stuck.started], GUARD).done
    assert wait_for(lambda: reads.stalled == 0, GUARD)  # its worker thread has ended
    assert reads.run(lambda: "ok", "other.mp3") == "ok"
    reads.close()


class FakeTracks:
    """The scanner's repository, in memory."""

    def __init__(self) -> None:
        self.files: dict[str, object] = {}

    def file_states(self):
        return {}

    def upsert_files(self, files, *, now):
        ids = []
        for scanned in files:
            self.files[scanned.path] = scanned
            ids.append(len(self.files))
        return ids

    def mark_removed(self, paths):
        return []


def test_a_scan_reports_a_file_that_never_answers_and_reads_the_rest(tmp_path: Path, clock):
    for name in ("a.mp3", "stuck.mp3", "z.mp3"):
        write_tone(tmp_path / name, 440, 0.3, 0.2)
    stuck = StuckRead()

    def read_file(path: Path):
        if path.name == "stuck.mp3":
            stuck.read()
        return read_library_file(path)

    tracks = FakeTracks()
    reads = TimedReads(30.0, wait=stuck.wait)
    scanner = LibraryScanner(tracks, clock=clock, reads=reads, read_file=read_file)
    report = scanner.scan(tmp_path)
    assert report.added == 2 and sorted(Path(p).name for p in tracks.files) == ["a.mp3", "z.mp3"]
    assert report.errors == [
        (str(tmp_path / "stuck.mp3"), "no answer within 30 s")  # the path is said once
    ]
    assert reads.stalled == 1
    stuck.release.set()
    reads.close()


@pytest.mark.parametrize(("timeout", "stalled"), [(0, 1), (-1, 1), (1, 0)])
def test_bad_settings_are_refused(timeout, stalled):
    with pytest.raises(ValueError):
        TimedReads(timeout, max_stalled=stalled)
