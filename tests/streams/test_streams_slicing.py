"""Slicing a reader: by absolute index, by key, by formula; waiting for the future."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qfzz.streams import (
    NOT_YET,
    Affine,
    IndexDropped,
    IndexedBuffer,
    Intervals,
    IterableSource,
    StreamBuffer,
    StreamError,
)


def finished(items, maxlen, **buffer_kw) -> StreamBuffer:
    buf = StreamBuffer(IterableSource(items), maxlen=maxlen, **buffer_kw)
    buf.start()
    assert buf.join(timeout=30)
    return buf


def test_streams_absolute_slices_are_open_ended_negative_and_stepped():
    buf = finished(list(range(100)), maxlen=50)
    reader = buf.mk_reader()
    assert reader[60:63] == [60, 61, 62]
    assert reader[97:] == [97, 98, 99]
    assert reader[:52] == [50, 51]
    assert reader[-2:] == [98, 99]
    assert reader[90:100:3] == [90, 93, 96, 99]
    assert reader[99:200] == [99]  # the stream ended: the range clips to what exists
    assert reader[70] == 70
    with pytest.raises(IndexDropped) as info:
        reader[10:60]
    assert info.value.oldest == 50
    with pytest.raises(IndexDropped):
        reader[10]
    with pytest.raises(IndexError):
        reader[100]
    assert buf.mk_reader(on_dropped="skip")[40:53] == [50, 51, 52]
    assert reader.position == 50  # slicing never moves the cursor


def test_streams_timestamp_slices_take_the_items_starting_in_the_range():
    packets = [(round(i * 0.02, 2), f"p{i}") for i in range(1000)]  # 20 ms packets
    buf = finished(packets, maxlen=1000, key=lambda p: p[0])
    by_time = buf.mk_reader(key_trans="key")
    assert [p[1] for p in by_time[1.0:1.1]] == ["p50", "p51", "p52", "p53", "p54"]
    assert by_time[1.005][1] == "p51"
    assert by_time[19.97:25] == [(19.98, "p999")]
    assert by_time[19.99:25] == []
    affine = buf.mk_reader(key_trans=Affine(scale=50))
    assert affine[1.0:1.1] == by_time[1.0:1.1]
    assert Affine(scale=50)(0.1) == 5  # not 6: float error does not skip an item
    assert Affine(scale=50, origin=2.0).inverse(5) == 2.1


def test_streams_key_map_finds_exact_keys_of_data_that_carries_its_own_index():
    seqs = [(seq, b"frame") for seq in range(0, 3000, 3)]  # sequence numbers with gaps
    buf = finished(seqs, maxlen=500, key=lambda f: f[0], key_map=True)
    reader = buf.mk_reader(key_trans="key")
    assert reader[1800][0] == 1800
    assert [f[0] for f in reader[1800:1810]] == [1800, 1803, 1806, 1809]
    assert reader[1801][0] == 1803  # not an exact key: the next item, by bisection
    with pytest.raises(IndexDropped):
        reader[0:10]


def test_streams_a_blocking_slice_waits_until_its_end_is_written():
    gate = threading.Event()

    def slow():
        yield from range(5)
        gate.wait(30)
        yield from range(5, 10)

    buf = StreamBuffer(IterableSource(slow()), maxlen=100)
    reader = buf.mk_reader()
    results = []
    with reader:
        assert reader.slice(3, 8, block=False) is NOT_YET
        assert reader.slice(3, 8, timeout=0.01) is NOT_YET
        waiter = threading.Thread(target=lambda: results.append(reader[3:8]))
        waiter.start()
        gate.set()
        waiter.join(30)
    assert results == [[3, 4, 5, 6, 7]]


def test_streams_key_slices_wait_for_a_key_beyond_the_range():
    gate = threading.Event()

    def timestamps():
        yield from (1.0, 2.0, 3.0)
        gate.wait(30)
        yield 9.0

    buf = StreamBuffer(IterableSource(timestamps(), key=float), maxlen=10)
    reader = buf.mk_reader(key_trans="key", blocking=False)
    with reader:
        # 3.5 is not decided yet: an item at 3.2 could still come.
        assert reader[1.5:3.5] is NOT_YET
        gate.set()
        buf.join(timeout=30)
        assert reader[1.5:3.5] == [2.0, 3.0]
        assert reader[1.5:] == [2.0, 3.0, 9.0]


@given(
    batches=st.lists(st.integers(1, 40), max_size=12),
    maxlen=st.integers(1, 30),
)
def test_streams_batch_insertion_equals_one_by_one(batches, maxlen):
    one = IndexedBuffer(maxlen)
    many = IndexedBuffer(maxlen)
    n = 0
    for size in batches:
        items = list(range(n, n + size))
        n += size
        for item in items:
            one.append(item)
        many.extend(items)
        assert many.number_of_items_inserted == one.number_of_items_inserted == n
        assert many[:] == one[:] == list(range(max(0, n - maxlen), n))


def test_streams_indexed_buffer_counts_prefilled_items_and_guards_both_ends():
    ring = IndexedBuffer(5, prefill=range(12))
    assert ring.number_of_items_inserted == 12 and ring.oldest_index == 7 and len(ring) == 5
    assert ring[7:] == [7, 8, 9, 10, 11]
    assert ring[-1] == 11
    with pytest.raises(IndexDropped):
        ring[6]
    with pytest.raises(IndexError):
        ring[12]
    with pytest.raises(ValueError):
        IndexedBuffer(0)
    assert ring.key_to_index(9) == 9 and ring.key_to_index(13) is None


def test_streams_buffer_interval_queries_and_key_slices_on_interval_items():
    segments = [(0.0, 2.0, "song a"), (2.0, 5.0, "song b"), (5.0, 6.0, "jingle")]
    events = [(1.0, "skip"), (5.5, "like")]
    songs = finished(segments, maxlen=10, intervals=True)
    assert songs.query(1.5, 2.5) == segments[:2]
    assert songs.query(3.0, 3.0) == [segments[1]]  # an instant: what was playing at 3 s
    assert songs.query(3.0, 4.0, how="contains") == [segments[1]]
    assert songs.query(0.0, 5.0, how="within") == segments[:2]
    assert songs.query(1.0, 5.5, how="starts_in") == [segments[1], segments[2]]
    assert songs.mk_reader(key_trans="key")[2.0:6.0] == segments[1:]
    clicks = finished(events, maxlen=10, intervals=Intervals(duration=1.0, anchor="end"))
    assert clicks.query(0.2, 0.3) == [(1.0, "skip")]  # the click covers [0, 1)
    with pytest.raises(ValueError):
        Intervals(duration=-1)
    with pytest.raises(ValueError):
        Intervals()((1, 2, 3, 4))
    with pytest.raises(StreamError):
        finished([1, 2], maxlen=10).query(0, 1)
