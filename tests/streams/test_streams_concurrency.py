"""Many readers at once: threads and asyncio tasks on one buffer, nothing lost or reordered."""

from __future__ import annotations

import asyncio
import threading

from qfzz.streams import AsyncIterableSource, BufferReader, IterableSource, StreamBuffer

N = 200_000


def _consume(reader: BufferReader[int], results: dict[str, int], name: str) -> None:
    expected = 0
    with reader:
        for item in reader:
            if item != expected:
                break
            expected += 1
    results[name] = expected


async def _aconsume(reader: BufferReader[int], results: dict[str, int], name: str) -> None:
    expected = 0
    async with reader:
        async for item in reader:
            if item != expected:
                break
            expected += 1
    results[name] = expected


def test_streams_64_thread_and_64_asyncio_readers_each_get_all_items_in_order():
    source = IterableSource(range(N))
    buf = StreamBuffer(source, maxlen=N)
    results: dict[str, int] = {}
    thread_readers = [buf.mk_reader() for _ in range(64)]
    task_readers = [buf.mk_reader() for _ in range(64)]
    threads = [
        threading.Thread(target=_consume, args=(reader, results, f"thread {i}"))
        for i, reader in enumerate(thread_readers)
    ]

    async def tasks() -> None:
        await asyncio.gather(
            *(_aconsume(reader, results, f"task {i}") for i, reader in enumerate(task_readers))
        )

    with buf:  # held for the whole test, so an early finisher cannot stop the source
        for thread in threads:
            thread.start()
        asyncio.run(tasks())
        for thread in threads:
            thread.join()
    assert len(results) == 128
    assert set(results.values()) == {N}, {k: v for k, v in results.items() if v != N}
    assert (source.open_count, source.close_count) == (1, 1)
    assert buf.state == "ended"


def test_streams_async_source_runs_as_a_task_for_async_readers_sharing_its_loop():
    async def numbers():
        for i in range(20_000):
            yield i

    source = AsyncIterableSource(numbers())
    buf = StreamBuffer(source, maxlen=20_000)
    results: dict[str, int] = {}

    async def main() -> None:
        readers = [buf.mk_reader() for _ in range(8)]
        async with buf:
            assert source.is_started
            await asyncio.gather(*(_aconsume(r, results, f"r{i}") for i, r in enumerate(readers)))

    asyncio.run(main())
    assert set(results.values()) == {20_000}
    assert (source.open_count, source.close_count) == (1, 1)


def test_streams_a_slow_reader_never_holds_back_the_source_or_other_readers():
    source = IterableSource(range(50_000))
    buf = StreamBuffer(source, maxlen=1_000)
    slow = buf.mk_reader(on_dropped="skip")
    fast_seen: list[int] = []

    def drain(reader: BufferReader[int]) -> None:
        with reader:
            fast_seen.extend(reader)

    with buf:
        first = slow.read()  # then the slow reader stops reading entirely
        # The other reader may itself be descheduled on a busy machine: it skips what it
        # missed rather than fail, and must still see the source through to its end.
        fast = threading.Thread(
            target=drain, args=(buf.mk_reader(start=buf.oldest_index, on_dropped="skip"),)
        )
        fast.start()
        fast.join()
        assert buf.join(timeout=30)
        assert buf.number_of_items_inserted == 50_000  # the source ran to its end
        rest = list(slow)
    assert fast_seen[-1] == 49_999 and fast_seen == sorted(fast_seen)
    # The slow reader finished its prefetched batch, then skipped to the oldest item,
    # and it knows exactly how much it lost.
    assert rest[-1] == 49_999
    assert first < rest[0]
    assert rest == sorted(rest)
    assert 1 + len(rest) + slow.skipped == 50_000
    assert len(buf) == 1_000
