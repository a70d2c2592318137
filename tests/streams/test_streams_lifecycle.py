"""Starting, stopping and failing: who opens the source, who closes it, what readers see."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import pytest

from qfzz.streams import (
    NOT_YET,
    AsyncIterableSource,
    EndOfStream,
    IndexDropped,
    IterableSource,
    KeyOrderError,
    NotStarted,
    SourceError,
    SourceReader,
    StreamBuffer,
    StreamError,
    StreamReader,
)


class BlockingSource(SourceReader[int]):
    """Releases one item per ``feed``; blocks in ``read`` until fed or interrupted."""

    def __init__(self, honour_interrupt: bool = True) -> None:
        self.items: list[int] = []
        self.cond = threading.Condition()
        self.opened = self.closed = 0
        self.interrupted = False
        self.honour_interrupt = honour_interrupt
        self.reader_threads: list[threading.Thread] = []
        self.next = 0

    def open(self) -> None:
        self.opened += 1
        self.reader_threads.append(threading.current_thread())

    def read(self) -> int | None:
        with self.cond:
            self.cond.wait_for(lambda: self.items or self.interrupted)
            if self.items:
                return self.items.pop(0)
            return None

    def close(self) -> None:
        self.closed += 1

    def interrupt(self) -> None:
        if self.honour_interrupt:
            self.release()

    def release(self) -> None:
        with self.cond:
            self.interrupted = True
            self.cond.notify_all()

    def feed(self, k: int) -> None:
        with self.cond:
            self.items.extend(range(self.next, self.next + k))
            self.next += k
            self.cond.notify_all()


def test_streams_source_starts_with_the_first_reader_and_stops_with_the_last():
    source = BlockingSource()
    buf = StreamBuffer(source, maxlen=100)
    first, second = buf.mk_reader(), buf.mk_reader()
    assert not source.is_started and buf.state == "idle"
    with first:
        assert source.is_started
        with second:
            source.feed(3)
            assert first.read_many(3) == [0, 1, 2]
        assert source.is_started  # the first reader still holds it
        assert second.read_many(3) == [0, 1, 2]  # buffered items stay readable
    assert not source.is_started
    assert buf.state == "stopped"
    assert (source.opened, source.closed) == (1, 1)
    assert not any(t.is_alive() for t in source.reader_threads)  # the producer was joined
    assert list(first) == []  # an explicit end of stream, not a hang


def test_streams_enter_and_exit_are_the_with_statement_spelled_out():
    source = BlockingSource()
    reader = StreamBuffer(source, maxlen=10).mk_reader()
    assert reader.enter() is reader and reader.is_entered
    reader.enter()  # idempotent: one reader holds the buffer once
    source.feed(1)
    assert reader.read() == 0
    reader.exit()
    reader.close()  # also idempotent
    assert (source.opened, source.closed) == (1, 1)
    assert not source.is_started


def test_streams_source_is_opened_once_and_closed_once_for_many_concurrent_readers():
    source = IterableSource(list(range(5_000)))
    buf = StreamBuffer(source, maxlen=5_000)
    readers = [buf.mk_reader() for _ in range(16)]
    barrier = threading.Barrier(16)
    totals: list[int] = []

    def consume(reader):
        barrier.wait()
        with reader:
            totals.append(sum(reader))

    threads = [threading.Thread(target=consume, args=(r,)) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert totals == [sum(range(5_000))] * 16
    assert (source.open_count, source.close_count) == (1, 1)
    assert buf.state == "ended"


def test_streams_a_stopped_source_restarts_for_a_new_reader_and_indices_continue():
    source = BlockingSource()
    buf = StreamBuffer(source, maxlen=100)
    with buf.mk_reader() as reader:
        source.feed(3)
        assert reader.read_many(3) == [0, 1, 2]
    source.interrupted = False
    late = buf.mk_reader(start="newest")
    with late:
        source.feed(2)
        assert late.read_many(2) == [3, 4]
        assert late[0:5] == [0, 1, 2, 3, 4]
    assert (source.opened, source.closed) == (2, 2)
    assert buf.number_of_items_inserted == 5


def test_streams_a_reader_entering_while_the_last_one_stops_the_source_restarts_it():
    closing, allow_close = threading.Event(), threading.Event()

    class SlowToClose(BlockingSource):
        def close(self) -> None:
            closing.set()
            allow_close.wait(30)
            super().close()

    source = SlowToClose()
    buf = StreamBuffer(source, maxlen=10)
    first, second = buf.mk_reader(), buf.mk_reader(start="newest")
    first.enter()
    leaving = threading.Thread(target=first.exit)  # the last holder leaves: stop begins
    leaving.start()
    assert closing.wait(30)
    arriving = threading.Thread(target=second.enter)  # meanwhile, a new listener arrives
    arriving.start()
    source.interrupted = False
    allow_close.set()
    leaving.join(30)
    arriving.join(30)
    assert second.is_entered and source.is_started
    source.feed(1)
    assert second.read(timeout=30) == 0  # a live stream, not an ended one
    second.exit()
    assert (source.opened, source.closed) == (2, 2)


def test_streams_stop_wakes_a_blocked_source_and_joins_its_thread():
    source = BlockingSource()
    buf = StreamBuffer(source, maxlen=10)
    buf.start()
    assert buf.is_running
    buf.stop()
    assert buf.state == "stopped"
    assert not source.reader_threads[0].is_alive()
    assert source.closed == 1
    with pytest.raises(EndOfStream):
        buf.mk_reader().read()


def test_streams_a_source_that_ignores_interrupt_is_given_up_on_with_a_warning(caplog):
    source = BlockingSource(honour_interrupt=False)
    buf = StreamBuffer(source, maxlen=10, stop_timeout=0.05)
    reader = buf.mk_reader()
    with caplog.at_level(logging.WARNING, logger="qfzz.streams"), reader:
        pass
    assert "did not stop" in caplog.text
    assert buf.state == "stopped"
    assert list(reader) == []
    source.release()  # let the abandoned thread finish
    source.reader_threads[0].join(5)
    assert source.closed == 1


def test_streams_a_source_exception_reaches_every_reader_after_the_items_before_it():
    def numbers():
        yield from range(10)
        raise RuntimeError("decoder crashed")

    buf = StreamBuffer(IterableSource(numbers()), maxlen=100)
    a, b = buf.mk_reader(), buf.mk_reader()
    with a, b:
        got = []
        with pytest.raises(SourceError) as info:
            for item in a:
                got.append(item)
        assert got == list(range(10))
        assert isinstance(info.value.__cause__, RuntimeError)
        assert b.read_many(100) == list(range(10))
        with pytest.raises(SourceError) as again:
            b.read()
        assert again.value is not info.value  # each reader gets its own exception
        with pytest.raises(SourceError):  # and keeps getting it
            b.read()
    assert buf.state == "failed"
    assert "decoder crashed" in str(buf.error)


def test_streams_a_key_that_does_not_increase_fails_the_stream_visibly():
    buf = StreamBuffer(IterableSource([1, 2, 2, 3], key=lambda x: x), maxlen=10)
    with buf.mk_reader() as reader:
        assert reader.read() == 1
        assert reader.read() == 2
        with pytest.raises(KeyOrderError, match="not >"):
            reader.read()
    ties = StreamBuffer(IterableSource([1, 2, 2, 3], key=lambda x: x), allow_equal_keys=True)
    with ties.mk_reader() as reader:
        assert list(reader) == [1, 2, 2, 3]
    backwards = StreamBuffer(IterableSource([3, 1], key=lambda x: x), allow_equal_keys=True)
    with backwards.mk_reader() as reader, pytest.raises(KeyOrderError):
        list(reader)


def test_streams_a_source_that_cannot_open_fails_the_entering_reader():
    class Broken(BlockingSource):
        def open(self) -> None:
            raise OSError("no such device")

    source = Broken()
    buf = StreamBuffer(source, maxlen=10)
    reader = buf.mk_reader()
    with pytest.raises(SourceError, match="no such device"), reader:
        pass
    assert not reader.is_entered
    assert buf.state == "failed"
    assert source.closed == 0  # never opened, so never closed
    with pytest.raises(SourceError):
        reader.read()


def test_streams_reads_say_not_yet_end_of_stream_and_not_started_distinctly():
    source = BlockingSource()
    buf = StreamBuffer(source, maxlen=10)
    reader = buf.mk_reader()
    with pytest.raises(NotStarted):
        reader.read()
    assert reader.read(block=False) is NOT_YET
    with reader:
        assert reader.read(block=False) is NOT_YET
        assert reader.item(-1, block=False) is NOT_YET  # no newest item yet: not an error
        assert reader.slice(-5, None, block=False) == []
        assert reader.read(timeout=0) is NOT_YET
        assert reader.read_many(5, timeout=0) == []
        assert reader.slice(0, 1, block=False) is NOT_YET
        source.feed(2)
        assert reader() == 0  # the cursor function
        assert next(reader) == 1
    with pytest.raises(EndOfStream):
        reader.read()
    with pytest.raises(StopIteration):
        next(reader)
    assert reader[-1] == 1 and reader[-5:] == [0, 1]
    with pytest.raises(IndexError, match="ended after 2 items"):
        reader[2]
    assert repr(NOT_YET) == "NOT_YET" and not NOT_YET


def test_streams_a_reader_that_fell_behind_is_told_and_can_resume_at_the_oldest():
    buf = StreamBuffer(IterableSource(range(100)), maxlen=10)
    strict = buf.mk_reader()
    lenient = buf.mk_reader(on_dropped="skip")
    with buf:
        assert buf.join(timeout=30)
        with pytest.raises(IndexDropped) as info:
            strict.read()
        assert (info.value.index, info.value.oldest) == (0, 90)
        strict.seek(info.value.oldest)
        assert list(strict) == list(range(90, 100))
        assert list(lenient) == list(range(90, 100))
        assert lenient.skipped == 90


def test_streams_start_positions_and_forks():
    buf = StreamBuffer(IterableSource(range(50)), maxlen=20)
    with buf:
        buf.join(timeout=30)
        with pytest.raises(EndOfStream):  # nothing new will ever come
            buf.mk_reader(start="newest").read(block=False)
        assert list(buf.mk_reader(start=-5)) == [45, 46, 47, 48, 49]
        assert list(buf.mk_reader(start=-500)) == list(range(30, 50))
        assert list(buf.mk_reader(start=40)) == list(range(40, 50))
        reader = buf.mk_reader(batch_size=4)
        assert [reader.read(), reader.read()] == [30, 31]
        fork = reader.fork()
        assert fork.position == reader.position == 32
        assert list(fork) == list(range(32, 50))
        assert reader.read() == 32  # the original's cursor did not move
    with pytest.raises(ValueError):
        buf.mk_reader(start="middle")


def test_streams_readers_made_from_a_source_share_its_one_buffer():
    source = IterableSource(range(10))
    a = StreamReader(source, maxlen=50)
    b = StreamReader(source)
    assert a.buffer is b.buffer is source.stream_buffer()
    with pytest.raises(ValueError, match="maxlen=50"):
        StreamReader(source, maxlen=60)
    with pytest.raises(TypeError, match="unknown buffer option 'colour'"):
        source.stream_buffer(colour="red")
    with pytest.raises(StreamError, match="already feeds"):
        StreamBuffer(source)
    with a, b:
        assert list(a) == list(b) == list(range(10))
    assert source.open_count == 1


class EqualSource(IterableSource):
    """A source that claims to equal (and hash like) every other one of its kind."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EqualSource)

    def __hash__(self) -> int:
        return 1


def test_streams_sources_are_told_apart_by_identity_never_by_value_or_a_reused_id():
    first, second = EqualSource(range(3)), EqualSource(range(5))
    a, b = first.stream_buffer(), second.stream_buffer()  # equal sources: two buffers
    assert a is not b and a.source is first and b.source is second
    assert first.stream_buffer() is a and second.stream_buffer() is b
    del a
    gc.collect()  # the buffer is gone: its source is free for a new one
    assert not first.is_started
    again = first.stream_buffer(maxlen=7)
    assert again.maxlen == 7 and second.stream_buffer() is b
    # Sources made and dropped in a row often reuse an id: none inherits a dead buffer.
    for _ in range(200):
        fresh = IterableSource(range(2))
        assert fresh.stream_buffer().source is fresh
        del fresh


def test_streams_readers_behind_counts_entered_readers_that_have_not_read_the_newest():
    source = BlockingSource()
    buf = StreamBuffer(source, maxlen=10)
    quick, slow, idle = buf.mk_reader(), buf.mk_reader(), buf.mk_reader()
    assert buf.readers_behind() == 0  # none entered
    with quick, slow:
        source.feed(2)
        assert [quick.read(timeout=5), quick.read(timeout=5)] == [0, 1]
        assert buf.readers_behind() == 1  # slow has read nothing yet
        assert slow.read(timeout=5) == 0
        assert buf.readers_behind() == 1  # one item left for slow (kept in its batch)
        assert slow.read(timeout=5) == 1
        assert buf.readers_behind() == 0
        assert idle.position == 0  # never entered: not counted
    assert buf.readers_behind() == 0


def test_streams_buffer_info_and_item_access_without_a_reader():
    buf = StreamBuffer(IterableSource(range(30), info={"rate": 44100}), maxlen=10)
    with buf:
        buf.join(timeout=30)
        assert buf.info == {"rate": 44100, "open_count": 1}
        assert buf.mk_reader().source_info["rate"] == 44100
        assert buf[25] == 25 and buf[-1] == 29 and buf[25:] == [25, 26, 27, 28, 29]
        assert buf[:] == list(range(20, 30)) and len(buf) == 10
        with pytest.raises(IndexDropped):
            buf[5:25]
        with pytest.raises(IndexError):
            buf[28:31]


def test_streams_async_with_runs_a_sync_source_in_a_thread():
    source = IterableSource(range(1000))
    buf = StreamBuffer(source, maxlen=1000)

    async def main() -> list[int]:
        reader = buf.mk_reader()
        async with reader:
            first = await reader.aread()
            rest = await reader.aread_many(10)
            tail = [x async for x in reader]
        with pytest.raises(EndOfStream):
            await reader.aread_many(5, timeout=0)
        return [first, *rest, *tail]

    assert asyncio.run(main()) == list(range(1000))
    assert (source.open_count, source.close_count) == (1, 1)


def test_streams_async_reads_time_out_with_not_yet_and_stop_cancels_an_async_source():
    closed = []

    async def forever():
        try:
            yield 1
            await asyncio.Event().wait()  # a feed that goes quiet
        finally:
            closed.append(True)

    source = AsyncIterableSource(forever())

    async def main() -> None:
        buf = StreamBuffer(source, maxlen=10)
        reader = buf.mk_reader()
        async with reader:
            assert await reader.aread() == 1
            assert await reader.aread(timeout=0.01) is NOT_YET
            assert await reader.aread(block=False) is NOT_YET
        assert buf.state == "stopped"
        with pytest.raises(EndOfStream):
            await reader.aread()

    asyncio.run(main())
    assert source.close_count == 1 and closed == [True]


def test_streams_an_async_source_also_works_from_sync_code():
    async def numbers():
        for i in range(300):
            yield i
            if i % 50 == 0:
                await asyncio.sleep(0)

    source = AsyncIterableSource(numbers())
    reader = StreamBuffer(source, maxlen=300).mk_reader()
    with reader:
        assert list(reader) == list(range(300))
    assert (source.open_count, source.close_count) == (1, 1)


def test_streams_async_readers_of_a_failing_source_get_the_error():
    async def broken():
        yield 1
        raise ValueError("bad packet")

    async def main() -> None:
        reader = StreamBuffer(AsyncIterableSource(broken()), maxlen=10).mk_reader()
        async with reader:
            assert await reader.aread() == 1
            with pytest.raises(SourceError, match="bad packet"):
                await reader.aread()

    asyncio.run(main())
