"""MergedStreams and TimeSlicer: several sorted streams as one, and cut into windows."""

from __future__ import annotations

import pytest

from qfzz.streams import (
    IterableSource,
    KeyOrderError,
    MergedStreams,
    StreamBuffer,
    TimeSlicer,
)


def test_streams_merge_is_lazy_so_it_works_on_unbounded_streams():
    def forever(start: int, step: int):
        t = start
        while True:
            yield (t, "x")
            t += step

    merged = iter(MergedStreams({"a": forever(0, 2), "b": forever(1, 3)}))
    head = [next(merged) for _ in range(6)]
    assert [(sid, item[0]) for sid, item in head] == [
        ("a", 0), ("b", 1), ("a", 2), ("a", 4), ("b", 4), ("a", 6),
    ]  # fmt: skip


def test_streams_merge_reads_live_buffer_readers_and_a_custom_key():
    audio = StreamBuffer(IterableSource([{"t": t} for t in (0, 2, 4)]), maxlen=10)
    events = StreamBuffer(IterableSource([{"t": t} for t in (1, 2, 5)]), maxlen=10)
    with audio.mk_reader() as a, events.mk_reader() as e:
        merged = list(MergedStreams({"audio": a, "events": e}, key=lambda d: d["t"]))
    assert [(sid, d["t"]) for sid, d in merged] == [
        ("audio", 0), ("events", 1), ("audio", 2), ("events", 2), ("audio", 4), ("events", 5),
    ]  # fmt: skip


def test_streams_merge_refuses_an_unsorted_stream():
    with pytest.raises(KeyOrderError, match="'b' is not sorted"):
        list(MergedStreams({"a": [(1, "x")], "b": [(2, "y"), (0, "z")]}))
    assert list(MergedStreams({})) == []
    assert list(MergedStreams({"a": [], "b": [3, 1 + 1 + 2]})) == [("b", 3), ("b", 4)]


def test_streams_time_slicer_yields_consecutive_windows_including_empty_ones():
    merged = MergedStreams(
        {"audio": [(0.1, "a"), (0.3, "b"), (4.5, "c")], "meta": [(2.0, "song 2")]}
    )
    windows = list(TimeSlicer(merged, width=1.0))
    assert [(w.bt, w.tt) for w in windows] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert windows[0].items == {"audio": [(0.1, "a"), (0.3, "b")], "meta": []}
    assert windows[1].items == {"audio": [], "meta": []} and len(windows[1]) == 0
    assert windows[2].items == {"audio": [], "meta": [(2.0, "song 2")]}
    assert windows[4].items["audio"] == [(4.5, "c")]
    sparse = list(TimeSlicer(merged, width=1.0, skip_empty=True))
    assert [w.bt for w in sparse] == [0, 2, 4]


def test_streams_time_slicer_puts_edge_items_in_the_window_that_contains_them():
    # 0.3 / 0.1 == 2.9999999999999996 in floats; the item still belongs to [0.3, 0.4).
    pairs = [("s", (0.3, "edge")), ("s", (0.7, "late"))]
    windows = list(TimeSlicer(pairs, width=0.1, stream_ids=["s", "t"]))
    assert windows[0].bt <= 0.3 < windows[0].tt
    assert windows[0].items == {"s": [(0.3, "edge")], "t": []}
    assert len(windows) == 5
    offset = list(TimeSlicer([("s", (5, "x"))], width=2, origin=1))
    assert (offset[0].bt, offset[0].tt) == (5, 7)


def test_streams_time_slicer_refuses_unsorted_input_and_bad_widths():
    with pytest.raises(KeyOrderError):
        list(TimeSlicer([("s", (5, "x")), ("s", (1, "y"))], width=1))
    with pytest.raises(ValueError):
        TimeSlicer([], width=0)
    assert list(TimeSlicer([], width=1)) == []
