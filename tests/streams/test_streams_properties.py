"""Hypothesis properties of readers, slices, merging and interval queries.

Readers and slices are checked against a tiny model of the ring (absolute index ``i``
holds item ``i``; the oldest kept is ``max(0, n - maxlen)``) while a gated source lets
the test decide exactly when the buffer advances.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.streams import (
    HOWS,
    NOT_YET,
    EndOfStream,
    IndexDropped,
    IndexedBuffer,
    Intervals,
    MergedStreams,
    SourceReader,
    StreamBuffer,
)

THREADED = settings(deadline=None, max_examples=60)


class GatedSource(SourceReader[int]):
    """Yields 0, 1, 2, ... one item per permit, so the test controls the buffer."""

    def __init__(self, spacing: int | None = None) -> None:
        self.permits = threading.Semaphore(0)
        self.next = 0
        self.done = False
        self.spacing = spacing

    def open(self) -> None:
        pass

    def read(self) -> int | None:
        self.permits.acquire()
        if self.done:
            return None
        item, self.next = self.next, self.next + 1
        return item

    def close(self) -> None:
        pass

    def interrupt(self) -> None:
        self.end()

    def end(self) -> None:
        self.done = True
        self.permits.release()

    def key(self, item: int) -> Any:
        assert self.spacing is not None
        return item * self.spacing

    @property
    def keyed(self) -> bool:
        return self.spacing is not None


def advance(buf: StreamBuffer[int], source: GatedSource, k: int) -> None:
    """Let exactly ``k`` more items in and wait until the buffer holds them."""
    if k == 0:
        return
    target = buf.number_of_items_inserted + k
    source.permits.release(k)
    probe = buf.mk_reader(on_dropped="skip")
    assert probe.slice(target - 1, target, timeout=30) is not NOT_YET
    assert buf.number_of_items_inserted == target


reader_ops = st.lists(
    st.one_of(
        st.tuples(st.just("produce"), st.integers(0, 25)),
        st.tuples(st.just("read_many"), st.integers(0, 3), st.integers(1, 12)),
        st.tuples(st.just("read"), st.integers(0, 3)),
    ),
    max_size=40,
)


@THREADED
@given(
    maxlen=st.integers(1, 16),
    batch_size=st.integers(1, 5),
    skip=st.lists(st.booleans(), min_size=4, max_size=4),
    ops=reader_ops,
)
def test_streams_readers_see_every_item_in_order_unless_told_they_fell_behind(
    maxlen, batch_size, skip, ops
):
    source = GatedSource()
    buf = StreamBuffer(source, maxlen=maxlen)
    readers = [
        buf.mk_reader(batch_size=batch_size, on_dropped="skip" if s else "raise") for s in skip
    ]
    # The model of each reader: its cursor into the ring and the batch it already holds.
    cursor = [0] * 4
    local: list[list[int]] = [[] for _ in range(4)]
    seen: list[list[int]] = [[] for _ in range(4)]
    skipped = [0] * 4
    fell_behind = [False] * 4
    n = 0

    def model_fetch(r: int, limit: int) -> list[int] | type[IndexDropped]:
        oldest = max(0, n - maxlen)
        if cursor[r] < oldest:
            if not skip[r]:
                return IndexDropped
            skipped[r] += oldest - cursor[r]
            cursor[r] = oldest
        got = list(range(cursor[r], min(n, cursor[r] + limit)))
        cursor[r] += len(got)
        return got

    with buf:
        for op in ops:
            if op[0] == "produce":
                advance(buf, source, op[1])
                n += op[1]
                continue
            r = op[1]
            reader = readers[r]
            if op[0] == "read_many":
                expected: Any = local[r][: op[2]] if local[r] else model_fetch(r, op[2])
                if local[r]:
                    del local[r][: op[2]]
            else:
                if not local[r]:
                    fetched = model_fetch(r, batch_size)
                    local[r] = fetched if isinstance(fetched, list) else []
                    expected = fetched if not isinstance(fetched, list) else None
                if local[r]:
                    expected = local[r].pop(0)
                elif expected is None:
                    expected = NOT_YET
            if expected is IndexDropped:
                with pytest.raises(IndexDropped) as info:
                    reader.read_many(op[2]) if op[0] == "read_many" else reader.read(block=False)
                assert info.value.oldest == max(0, n - maxlen)
                assert info.value.index == cursor[r]
                reader.seek(info.value.oldest)
                cursor[r] = info.value.oldest
                fell_behind[r] = True
                continue
            got = (
                reader.read_many(op[2], block=False)
                if op[0] == "read_many"
                else reader.read(block=False)
            )
            assert got == expected
            seen[r].extend(got if isinstance(got, list) else [] if got is NOT_YET else [got])
            assert reader.skipped == skipped[r]
        source.end()
        assert buf.join(timeout=30)
    for r, reader in enumerate(readers):
        if not skip[r]:
            try:
                rest = [x for batch in reader.iter_batches() for x in batch]
            except IndexDropped:
                continue
            if not fell_behind[r]:  # stayed within maxlen: every item, exactly once
                assert [*seen[r], *rest] == list(range(n))
        else:
            rest = list(reader)
        seen[r].extend(rest)
        # In order, without duplicates, and every gap is accounted for as skipped.
        assert seen[r] == sorted(set(seen[r]))
        if skip[r]:
            assert len(seen[r]) + reader.skipped == n
        with pytest.raises(EndOfStream):
            reader.read()


slice_ops = st.lists(
    st.one_of(
        st.tuples(st.just("produce"), st.integers(0, 20)),
        st.tuples(st.just("slice"), st.integers(0, 60), st.integers(0, 12)),
    ),
    max_size=30,
)


@THREADED
@given(maxlen=st.integers(1, 16), keyed=st.booleans(), ops=slice_ops)
def test_streams_a_range_gives_the_same_items_later_or_index_dropped(maxlen, keyed, ops):
    spacing = 10
    source = GatedSource(spacing if keyed else None)
    buf = StreamBuffer(source, maxlen=maxlen)
    reader = buf.mk_reader(key_trans="key" if keyed else None, blocking=False)
    n = 0
    taken: list[tuple[int, int, Any]] = []

    def expected(i: int, j: int) -> Any:
        oldest = max(0, n - maxlen)
        if keyed:  # the range [i*10 - 5, j*10 - 5) in keys covers items i..j-1
            if j >= n:  # no item with a key >= the stop bound has arrived yet
                return NOT_YET
        elif j > n:
            return NOT_YET
        if j <= i:
            return []
        if i < oldest:
            return IndexDropped
        return list(range(i, j))

    def take(i: int, j: int) -> Any:
        bounds = (i * spacing - 5, j * spacing - 5) if keyed else (i, j)
        try:
            return reader[bounds[0] : bounds[1]]
        except IndexDropped:
            return IndexDropped

    with buf:
        for op in ops:
            if op[0] == "produce":
                advance(buf, source, op[1])
                n += op[1]
                for i, j, before in taken:
                    after = take(i, j)
                    if isinstance(before, list):
                        assert after == before or after is IndexDropped
                    assert after == expected(i, j)
                continue
            i, j = op[1], op[1] + op[2]
            got = take(i, j)
            assert got == expected(i, j)
            taken.append((i, j, got))
        source.end()


@given(
    streams=st.lists(st.lists(st.integers(0, 20), max_size=15).map(sorted), min_size=0, max_size=5)
)
def test_streams_merged_output_is_sorted_stable_and_a_permutation(streams):
    # Payloads are dicts: not comparable, so any comparison of items would raise.
    mapping = {
        f"s{r}": [(k, {"rank": r, "seq": s}) for s, k in enumerate(keys)]
        for r, keys in enumerate(streams)
    }
    merged = list(MergedStreams(mapping))
    flat = [(sid, item) for sid, items in mapping.items() for item in items]
    assert sorted(merged, key=repr) == sorted(flat, key=repr)  # a permutation
    keys = [item[0] for _, item in merged]
    assert keys == sorted(keys)
    # Stable: ties in mapping order, then in each stream's own order.
    assert merged == sorted(flat, key=lambda p: (p[1][0], p[1][1]["rank"], p[1][1]["seq"]))


def as_set(bt: int, tt: int) -> set[int]:
    """An interval as a set on a doubled grid: [a, b) -> {2a .. 2b-1}; a point t -> {2t}."""
    return {2 * bt} if bt == tt else set(range(2 * bt, 2 * tt))


def brute(how: str, bt: int, tt: int, qbt: int, qtt: int) -> bool:
    item, query = as_set(bt, tt), as_set(qbt, qtt)
    if how == "overlaps":
        return bool(item & query)
    if how == "within":
        return item <= query
    if how == "contains":
        return query <= item
    return min(item) in query  # starts_in


interval_items = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 8), st.sampled_from(["bt_tt", "point"])),
    max_size=40,
)


@settings(max_examples=300)
@given(
    maxlen=st.integers(1, 50),
    steps=interval_items,
    anchor=st.sampled_from(["start", "end", "centre"]),
    duration=st.sampled_from([0, 2, 4]),
    queries=st.lists(st.tuples(st.integers(-5, 120), st.integers(0, 12)), min_size=1, max_size=8),
)
def test_streams_interval_queries_match_brute_force_for_every_how(
    maxlen, steps, anchor, duration, queries
):
    rule = Intervals(duration=duration, anchor=anchor)
    items: list[tuple[Any, ...]] = []
    t = 0
    for gap, length, kind in steps:
        t += gap
        items.append((t, t + length, f"x{len(items)}") if kind == "bt_tt" else (t, "p"))
    # Two-tuples normalised by the rule may start before earlier three-tuples; keep the
    # stream sorted by start, as a source must.
    items.sort(key=lambda it: rule(it)[0])
    ring = IndexedBuffer(maxlen, bounds=rule, prefill=items)
    kept = items[-maxlen:] if items else []
    for qbt, qlen in queries:
        for how in HOWS:
            expected = [it for it in kept if brute(how, *map(int, rule(it)), qbt, qbt + qlen)]
            assert ring.query(qbt, qbt + qlen, how) == expected, (how, qbt, qlen)


@given(
    keys=st.lists(st.integers(0, 5), max_size=40).map(
        lambda gaps: [sum(gaps[: i + 1]) for i in range(len(gaps))]
    ),
    maxlen=st.integers(1, 20),
    probes=st.lists(st.floats(-3, 120, allow_nan=False), max_size=10),
    key_map=st.booleans(),
)
def test_streams_key_to_index_matches_a_linear_scan(keys, maxlen, probes, key_map):
    ring = IndexedBuffer(
        maxlen, key=lambda k: k, allow_equal_keys=True, key_map=key_map, prefill=keys
    )
    n, oldest = len(keys), max(0, len(keys) - maxlen)
    for x in [*probes, *keys]:
        for side in ("left", "right"):
            first = next(
                (i for i, k in enumerate(keys) if (k >= x if side == "left" else k > x)), None
            )
            got = ring.key_to_index(x, side)
            if first is None:
                assert got is None
            elif first < oldest:
                assert got is not None and got < oldest
            else:
                assert got == first
    assert ring.number_of_items_inserted == n


def test_streams_interval_query_skips_nothing_when_durations_vary():
    rule = Intervals()
    items = [(0, 100, "long"), (1, 2, "a"), (3, 4, "b"), (50, 51, "c")]
    ring = IndexedBuffer(10, bounds=rule, prefill=items)
    assert ring.query(60, 70) == [(0, 100, "long")]
    assert ring.query(60, 70, "contains") == [(0, 100, "long")]
    assert ring.query(0, 10, "within") == [(1, 2, "a"), (3, 4, "b")]
    assert math.isclose(Intervals(duration=1.0, anchor="centre")((5.0, "x"))[0], 4.5)
