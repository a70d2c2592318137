"""Ready-made sources: iterables, async iterables, files in chunks, a polled callable."""

from __future__ import annotations

import io

import pytest

from qfzz.streams import (
    CallableSource,
    FileSource,
    IterableSource,
    SourceError,
    StreamBuffer,
)


class ManualClock:
    """Time that moves only when the source sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def collect(source, maxlen: int = 1000) -> list:
    with StreamBuffer(source, maxlen=maxlen).mk_reader() as reader:
        return list(reader)


def test_streams_callable_source_polls_at_its_rate_without_drift():
    clock = ManualClock()
    calls: list[float] = []

    def poll():
        calls.append(clock.now)
        return len(calls)

    source = CallableSource(poll, interval=0.5, clock=clock, sleep=clock.sleep, max_items=5)
    assert collect(source) == [1, 2, 3, 4, 5]
    assert calls == [1000.0, 1000.5, 1001.0, 1001.5, 1002.0]


def test_streams_callable_source_skips_missed_ticks_and_empty_polls():
    clock = ManualClock()
    calls: list[float] = []

    def poll():
        calls.append(clock.now)
        if len(calls) == 2:
            clock.now += 1.75  # a slow poll: ticks at 1001.0, 1001.5 and 1002.0 are missed
        if len(calls) == 3:
            return None  # nothing this tick
        if len(calls) == 5:
            raise StopIteration
        return len(calls)

    source = CallableSource(poll, interval=0.5, clock=clock, sleep=clock.sleep)
    assert collect(source) == [1, 2, 4]
    # The late poll happens once, at once; then the grid resumes, with no burst.
    assert calls == [1000.0, 1000.5, 1002.25, 1002.5, 1003.0]


def test_streams_callable_source_stop_does_not_wait_out_a_long_interval():
    source = CallableSource(lambda: 1, interval=3600.0)
    buf = StreamBuffer(source, maxlen=10)
    with buf.mk_reader() as reader:
        assert reader.read() == 1  # the first tick is immediate; the next is an hour away
    assert buf.state == "stopped"
    with pytest.raises(ValueError):
        CallableSource(lambda: 1, interval=0)


def test_streams_file_source_reads_chunks_and_can_key_them_by_byte_offset(tmp_path):
    path = tmp_path / "audio.bin"
    data = bytes(range(256)) * 40  # 10,240 bytes
    path.write_bytes(data)
    chunks = collect(FileSource(path, chunk_size=4096))
    assert [len(c) for c in chunks] == [4096, 4096, 2048]
    assert b"".join(chunks) == data

    source = FileSource(str(path), chunk_size=1024, offsets=True)
    buf = StreamBuffer(source, maxlen=100)
    with buf.mk_reader(key_trans="key") as reader:
        buf.join(timeout=30)
        assert [off for off, _ in reader[2048:5000]] == [2048, 3072, 4096]
        assert reader[3000][0] == 3072  # the first chunk starting at or after byte 3000
    assert buf.info == {"file": str(path), "chunk_size": 1024}


def test_streams_file_source_leaves_a_file_object_it_did_not_open_open():
    f = io.BytesIO(b"x" * 10)
    assert collect(FileSource(f, chunk_size=4)) == [b"xxxx", b"xxxx", b"xx"]
    assert not f.closed
    with pytest.raises(ValueError):
        FileSource(f, chunk_size=0)


def test_streams_iterable_source_batches_only_what_is_already_in_memory():
    assert IterableSource([1, 2, 3]).batch == 256
    assert IterableSource(range(3)).batch == 256
    assert IterableSource(iter([1, 2, 3])).batch == 1
    assert IterableSource(iter([1, 2, 3]), batch=8).batch == 8
    # Batched or not, the readers see the same stream.
    for batch in (1, 3, 256):
        assert collect(IterableSource(list(range(1000)), batch=batch), maxlen=1000) == list(
            range(1000)
        )


@pytest.mark.parametrize("items", [[1, None, 2], iter([1, None, 2])])
def test_streams_none_is_not_an_item_it_is_the_end_marker(items):
    buf = StreamBuffer(IterableSource(items), maxlen=10)
    with buf.mk_reader() as reader, pytest.raises(SourceError, match="None marks the end"):
        list(reader)
