"""The group committer's waiters on an event loop: one batch per turn, order kept, every
waiter told the outcome, a caller that gives up never stops the writer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from qfzz.store._group_commit import GroupCommitter


class Recorder:
    """A batch writer that remembers its batches (and can be made to fail or wait)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.fail = False
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.release.wait(10)
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise OSError("disk full")
        self.batches.append(list(items))
        return [n * 10 for n in items]


def test_what_one_turn_of_the_loop_submits_is_written_in_one_batch():
    writer = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(writer)
    committer.start()

    async def main() -> list[int]:
        futures = [committer.asubmit(n) for n in range(5)]  # one turn: no await between
        return list(await asyncio.gather(*futures))

    try:
        assert asyncio.run(main()) == [0, 10, 20, 30, 40]
    finally:
        committer.stop()
    assert writer.batches == [[0, 1, 2, 3, 4]]
    assert writer.threads == {"qfzz-group-commit"}


def test_threads_and_coroutines_share_one_queue_in_submission_order():
    writer = Recorder()
    writer.release.clear()  # the writer waits inside its first batch
    committer: GroupCommitter[int, int] = GroupCommitter(writer)
    committer.start()

    async def main() -> tuple[int, int, int]:
        first = committer.submit(0)  # a thread's item: wakes the writer at once
        coroutine = committer.asubmit(1)
        threaded = committer.submit(2)
        writer.release.set()
        return (
            await asyncio.wrap_future(first),
            await coroutine,
            await asyncio.wrap_future(threaded),
        )

    try:
        assert asyncio.run(main()) == (0, 10, 20)
    finally:
        committer.stop()
    assert [n for batch in writer.batches for n in batch] == [0, 1, 2]


def test_a_failed_commit_reaches_every_waiter_on_the_loop():
    writer = Recorder()
    writer.fail = True
    committer: GroupCommitter[int, int] = GroupCommitter(writer)
    committer.start()

    async def main() -> list[BaseException | int]:
        futures = [committer.asubmit(n) for n in range(3)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    try:
        outcomes = asyncio.run(main())
    finally:
        committer.stop()
    assert len(outcomes) == 3
    assert all(isinstance(o, OSError) for o in outcomes)


def test_a_coroutine_that_gave_up_does_not_stop_the_writer():
    writer = Recorder()
    writer.release.clear()
    committer: GroupCommitter[int, int] = GroupCommitter(writer)
    committer.start()

    async def main() -> int:
        blocker = committer.submit(0)
        gave_up = committer.asubmit(1)
        gave_up.cancel()
        writer.release.set()
        assert await asyncio.wrap_future(blocker) == 0
        return await committer.asubmit(2)

    try:
        assert asyncio.run(main()) == 20
    finally:
        committer.stop()
    assert [n for batch in writer.batches for n in batch] == [0, 1, 2]


def test_stop_writes_what_was_submitted_and_refuses_more():
    writer = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(writer)
    committer.start()
    futures = [committer.submit(n) for n in range(3)]
    committer.stop()
    assert [f.result(0) for f in futures] == [0, 10, 20]
    with pytest.raises(RuntimeError):
        committer.submit(3)

    async def late() -> None:
        committer.asubmit(4)

    with pytest.raises(RuntimeError):
        asyncio.run(late())
