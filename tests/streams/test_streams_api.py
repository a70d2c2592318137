"""The public face of qfzz.streams: exported names, the issue's minimal API, doctests."""

from __future__ import annotations

import doctest

import qfzz.streams
import qfzz.streams._merge
from qfzz.streams import IterableSource, MergedStreams, StreamBuffer

EXPECTED = {
    "DEFAULT_MAXLEN",
    "HOWS",
    "NOT_YET",
    "Affine",
    "AsyncIterableSource",
    "AsyncSourceReader",
    "BufferReader",
    "CallableSource",
    "EndOfStream",
    "FileSource",
    "How",
    "IndexDropped",
    "IndexedBuffer",
    "Intervals",
    "IterableSource",
    "KeyOrderError",
    "MergedStreams",
    "NotStarted",
    "NotYetType",
    "SourceError",
    "SourceReader",
    "State",
    "StreamBuffer",
    "StreamError",
    "StreamReader",
    "TimeSlicer",
    "Window",
    "default_key",
    "matches",
}


def test_streams_exports_exactly_the_intended_names_sorted():
    assert set(qfzz.streams.__all__) == EXPECTED

    # ruff's RUF022 order (as in the other packages): CONSTANTS, Classes, functions.
    def isort_style(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert qfzz.streams.__all__ == sorted(qfzz.streams.__all__, key=isort_style)
    for name in qfzz.streams.__all__:
        assert getattr(qfzz.streams, name) is not None


def test_streams_merge_doctests_pass_including_the_issue_example():
    results = doctest.testmod(qfzz.streams._merge)
    assert results.failed == 0
    assert results.attempted >= 5
    assert "'world': [(0, 'zero'), (1, 'one'), (3, 'three'), (6, 'six')]" in (
        MergedStreams.__doc__ or ""
    )


def test_streams_package_doctest_passes():
    results = doctest.testmod(qfzz.streams)
    assert results.failed == 0
    assert results.attempted > 0


def test_streams_minimal_api_of_the_issue():
    items = [(i, f"item {i}") for i in range(1000)]
    buf = StreamBuffer(IterableSource(items), maxlen=100_000)
    reader = buf.mk_reader()
    seen = []
    with reader:
        for item in reader:
            seen.append(item)
        assert reader[10:20] == items[10:20]
    assert seen == items
    assert buf.state == "ended"


def test_streams_fluent_interface_builds_the_same_kind_of_reader():
    reader = IterableSource(range(50)).stream_buffer(maxlen=10).mk_reader(on_dropped="skip")
    assert reader.buffer.maxlen == 10
    with reader:
        got = list(reader)
    # A fast producer may lap the reader, but "skip" accounts for every item it lost.
    assert got == sorted(got)
    assert len(got) + reader.skipped == 50
    assert got[-1] == 49
