"""Play metrics: per-node signed tallies merged as CRDTs, so plays recorded on three nodes add
up to the same state on every node in any delivery order (issue 15, point 2)."""

from __future__ import annotations

import dataclasses
import json
import random

import blake3
import pytest
from datasketches import hll_sketch, tgt_hll_type
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.errors import InvalidInput
from qfzz.network import (
    MAX_METRIC_HLL_BYTES,
    METRIC_HLL_LG_K,
    METRIC_WINDOW_SEC,
    SCHEMA_VERSION,
    InvalidRecord,
    MalformedRecord,
    MetricBook,
    MetricRecord,
    MetricWindow,
    NodeIdentity,
    Tally,
    metric_key,
    view_id,
    window_id_of,
)

NODES = [NodeIdentity.from_seed(bytes([40 + i]) * 32) for i in range(3)]
CONTENTS = [blake3.blake3(f"song {i}".encode()).hexdigest() for i in range(2)]
T0 = 1_800_000_000.0
W0 = window_id_of(T0)
LATER = T0 + 10 * METRIC_WINDOW_SEC  # every pooled window has started by then


def _salt(i: int) -> bytes:
    return i.to_bytes(8, "big")


def _pool() -> list[MetricRecord]:
    """Several versions of each node's tally over 3 windows × 2 contents, plus two different
    tallies one node signed with the same (logical_counter, timestamp), so ties are exercised."""
    rng = random.Random(7)
    records: list[MetricRecord] = []
    for identity in NODES:
        book = MetricBook()
        for step in range(12):
            now = T0 + step * 900.0
            for _ in range(rng.randrange(1, 4)):
                book.record_view(
                    identity.node_id,
                    rng.choice(CONTENTS),
                    _salt(rng.randrange(20)),
                    watch_seconds=rng.randrange(400),
                    bytes_out=rng.randrange(10**6),
                    completed=rng.random() < 0.5,
                    now=now,
                )
            records += book.export(identity)
    mine = [r for r in records if r.node_id == NODES[0].node_id and r.key == records[0].key]
    last = max(mine, key=lambda r: r.tally.logical_counter)  # a tie that decides the state
    twin = dataclasses.replace(last.tally, watch_seconds=last.tally.watch_seconds + 1)
    records.append(MetricRecord.signed(NODES[0], last.content_id, last.window_id, twin))
    return records


POOL = _pool()
pool_subsets = st.lists(st.sampled_from(POOL), max_size=25)


def _book(records: list[MetricRecord], **kwargs: int) -> MetricBook:
    book = MetricBook(**kwargs)
    for record in records:
        book.apply(record, now=LATER)
    return book


def test_pool_spans_windows_versions_and_ties():
    keys = {(r.window_id, r.content_id) for r in POOL}
    assert len(keys) == 6
    ranks = [(r.node_id, r.key, r.tally.logical_counter, r.tally.timestamp) for r in POOL]
    assert len(ranks) > len(set(ranks))  # a tie on (logical_counter, timestamp)
    assert len({(r.node_id, r.key) for r in POOL}) < len(POOL)  # several versions per tally


# -- CRDT laws -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(pool_subsets, pool_subsets, pool_subsets)
def test_book_merge_is_commutative_associative_idempotent(xs, ys, zs):
    a, b, c = _book(xs), _book(ys), _book(zs)
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab.snapshot() == ba.snapshot()
    left = ab.copy()
    left.merge(c)
    bc = b.copy()
    bc.merge(c)
    right = a.copy()
    right.merge(bc)
    assert left.snapshot() == right.snapshot()
    aa = a.copy()
    aa.merge(a)
    assert aa.snapshot() == a.snapshot()
    assert ab.snapshot() == _book(xs + ys).snapshot()  # merging books = applying all records


@settings(max_examples=60, deadline=None)
@given(pool_subsets, pool_subsets)
def test_window_merge_is_commutative_and_idempotent(xs, ys):
    def window(records):
        w = MetricWindow(CONTENTS[0], W0)
        for r in records:
            w.put(r.node_id, r.tally, r)
        return w

    a, b = window(xs), window(ys)
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab == ba and ab.totals() == ba.totals()
    again = ab.copy()
    again.merge(b)
    assert again == ab


@settings(max_examples=80, deadline=None)
@given(st.permutations(POOL), st.sampled_from([{}, {"horizon": 2, "max_keys": 3}]))
def test_any_delivery_order_gives_the_same_state(order, bounds):
    reference = _book(POOL, **bounds)
    shuffled = _book(list(order), **bounds)
    assert shuffled.snapshot() == reference.snapshot()
    for content in CONTENTS:
        assert shuffled.totals(content) == reference.totals(content)
    if bounds:  # the bounds held: the 3 greatest keys of the last 2 windows
        newest = max(r.window_id for r in POOL)
        keys = sorted({(r.window_id, r.content_id) for r in POOL if r.window_id > newest - 2})
        assert list(reference.snapshot()) == [metric_key(c, w) for w, c in keys[-3:]]


# -- three nodes -----------------------------------------------------------------------------


def test_three_nodes_merge_to_identical_totals_in_random_orders():
    rng = random.Random(15)
    books = [MetricBook() for _ in NODES]
    expected = {c: [0, 0, 0, 0] for c in CONTENTS}  # views, watch, bytes, completions
    for i in range(600):
        node = rng.randrange(3)
        content = rng.choice(CONTENTS)
        watch, sent, done = rng.randrange(300), rng.randrange(10**5), rng.random() < 0.3
        books[node].record_view(
            NODES[node].node_id,
            content,
            _salt(rng.randrange(150)),  # devices replay on other nodes: uniques < views
            watch_seconds=watch,
            bytes_out=sent,
            completed=done,
            now=T0 + i * 12.0,
        )
        for k, v in enumerate((1, watch, sent, int(done))):
            expected[content][k] += v
    books[1].retract_view(NODES[1].node_id, CONTENTS[0], W0, now=T0 + 7300.0)
    expected[CONTENTS[0]][0] -= 1
    signed = [book.export(identity) for book, identity in zip(books, NODES, strict=True)]
    # Node 0 gets everything directly; node 1 gets node 2's records relayed by node 0; node 2
    # merges node 1's whole book. Each in its own random order.
    inbox0 = signed[1] + signed[2]
    rng.shuffle(inbox0)
    for record in inbox0:
        books[0].apply(record, now=LATER)
    relayed = [r for r in books[0].records() if r.node_id != NODES[1].node_id]
    rng.shuffle(relayed)
    for record in relayed:
        books[1].apply(record, now=LATER)
    books[2].merge(books[1])
    assert books[0].snapshot() == books[1].snapshot() == books[2].snapshot()
    for content in CONTENTS:
        totals = [b.totals(content) for b in books]
        assert totals[0] == totals[1] == totals[2]
        assert [totals[0].views, totals[0].watch_seconds, totals[0].bytes_out] == expected[content][
            :3
        ]
        assert totals[0].completions == expected[content][3]
        assert 100 <= totals[0].uniques <= 150 < totals[0].views


def test_uniques_within_two_percent_at_100k_distinct_views():
    rng = random.Random(2026)
    books = [MetricBook() for _ in NODES]
    distinct = 100_000
    for device in range(distinct):
        node = rng.randrange(3)
        books[node].record_view(
            NODES[node].node_id,
            CONTENTS[0],
            _salt(device),
            watch_seconds=1,
            bytes_out=1,
            completed=False,
            now=T0,
        )
    for device in range(0, distinct, 10):  # 10 % come back, some on another node
        node = rng.randrange(3)
        books[node].record_view(
            NODES[node].node_id,
            CONTENTS[0],
            _salt(device),
            watch_seconds=1,
            bytes_out=1,
            completed=False,
            now=T0 + 1,
        )
    hub = books[0]
    for book, identity in zip(books, NODES, strict=True):
        for record in book.export(identity):
            hub.apply(record, now=T0)
    totals = hub.totals(CONTENTS[0])
    assert totals.views == 110_000
    assert abs(totals.uniques / distinct - 1) <= 0.02
    assert METRIC_HLL_LG_K >= 14  # lg_k 12's 1.6 % standard error misses ±2 % too often


def test_the_same_device_twice_is_one_unique_and_two_views():
    book = MetricBook()
    for node in (0, 0, 1):
        book.record_view(
            NODES[node].node_id,
            CONTENTS[0],
            b"device-a",
            watch_seconds=10,
            bytes_out=100,
            completed=True,
            now=T0,
        )
    window = book.window(CONTENTS[0], W0)
    assert window is not None
    assert (window.views, window.uniques, window.completions) == (3, 1.0, 3)
    assert view_id(CONTENTS[0], b"device-a") != view_id(CONTENTS[1], b"device-a")


# -- refusals --------------------------------------------------------------------------------


def _one_record(identity: NodeIdentity = NODES[0]) -> MetricRecord:
    book = MetricBook()
    for salt in (b"a", b"b"):
        book.record_view(
            identity.node_id,
            CONTENTS[0],
            salt,
            watch_seconds=30,
            bytes_out=4096,
            completed=False,
            now=T0,
        )
    (record,) = book.export(identity)
    return record


def _held() -> MetricBook:
    return _book(POOL[:5])


def _refused(record: MetricRecord, error: type[Exception], reason: str) -> None:
    book = _held()
    before = book.snapshot()
    with pytest.raises(error) as caught:
        book.apply(record, now=LATER)
    assert getattr(caught.value, "reason", None) == reason
    assert book.snapshot() == before


def test_a_record_round_trips_and_verifies():
    record = _one_record()
    wire = json.dumps(record.to_json())
    parsed = MetricRecord.from_json(json.loads(wire))
    assert parsed == record
    parsed.verify()
    assert (
        record.key == f"{SCHEMA_VERSION}/metric/{CONTENTS[0]}/{W0}" == metric_key(CONTENTS[0], W0)
    )
    book = MetricBook()
    assert book.apply(parsed, now=T0) is True
    assert book.apply(parsed, now=T0) is False
    assert book.records() == [record]


def test_a_counter_changed_after_signing_is_refused():
    record = _one_record()
    tampered = dataclasses.replace(
        record, tally=dataclasses.replace(record.tally, views=record.tally.views + 1)
    )
    _refused(tampered, InvalidRecord, "bad_signature")
    body = record.to_json()
    body["watch_seconds"] += 1
    _refused(MetricRecord.from_json(body), InvalidRecord, "bad_signature")


def test_a_record_claiming_another_nodes_contribution_is_refused():
    record = _one_record(NODES[0])
    victim = NODES[1].node_id
    _refused(dataclasses.replace(record, node_id=victim), InvalidRecord, "node_id_mismatch")
    # the victim's id and key, signed with another key
    forged = dataclasses.replace(record, node_id=victim, public_key=NODES[1].public_key)
    _refused(forged, InvalidRecord, "bad_signature")


def test_oversized_garbage_or_foreign_sketches_are_refused():
    record = _one_record()
    body = record.to_json()
    cases = {
        "00" * (MAX_METRIC_HLL_BYTES + 1): "string_too_long",
        "deadbeef" * 4: "bad_hll",
        "zz": "bad_hll",
        "": "bad_hll",
        bytes(hll_sketch(12, tgt_hll_type.HLL_4).serialize_compact()).hex(): "bad_hll",
        bytes(hll_sketch(METRIC_HLL_LG_K, tgt_hll_type.HLL_8).serialize_compact()).hex(): (
            "bad_hll"
        ),
    }
    for hll, reason in cases.items():
        with pytest.raises(MalformedRecord) as caught:
            MetricRecord.from_json({**body, "hll": hll})
        assert caught.value.reason == reason
    # signed by its node, but the bytes are garbage: refused on apply, nothing stored
    garbage = dataclasses.replace(record.tally, hll=b"\x02\x01\x07\x0f" + b"\xff" * 40)
    _refused(MetricRecord.signed(NODES[0], CONTENTS[0], W0, garbage), MalformedRecord, "bad_hll")


def test_counts_no_honest_node_produces_are_refused():
    inflated = hll_sketch(METRIC_HLL_LG_K, tgt_hll_type.HLL_4)
    for i in range(1000):
        inflated.update(str(i))
    cases = [
        Tally(views=1, hll=bytes(inflated.serialize_compact()), logical_counter=1),
        Tally(views=1, retracted=2, logical_counter=1),
        Tally(views=1, completions=2, logical_counter=1),
    ]
    for tally in cases:
        _refused(
            MetricRecord.signed(NODES[0], CONTENTS[0], W0, tally),
            InvalidRecord,
            "inconsistent_counts",
        )


def test_out_of_range_fields_are_refused():
    body = _one_record().to_json()
    for name, value, reason in [
        ("views", 2**53 + 1, "malformed"),
        ("views", -1, "malformed"),
        ("views", True, "malformed"),
        ("window_id", 2**53, "bad_window"),
        ("content_id", "A" * 64, "malformed"),
        ("content_id", "ab", "malformed"),
        ("node_id", "0" * 65, "string_too_long"),
        ("timestamp", float("nan"), "malformed"),
        ("signature", "00", "malformed"),
    ]:
        with pytest.raises(MalformedRecord) as caught:
            MetricRecord.from_json({**body, name: value})
        assert caught.value.reason == reason, name
    with pytest.raises(MalformedRecord):
        MetricRecord.from_json({k: v for k, v in body.items() if k != "bytes_out"})


def test_a_record_for_a_window_that_has_not_started_is_refused():
    record = _one_record()
    book = MetricBook()
    with pytest.raises(InvalidRecord) as caught:
        book.apply(record, now=T0 - METRIC_WINDOW_SEC)
    assert caught.value.reason == "future_window" and len(book) == 0
    assert book.apply(record, now=W0 * METRIC_WINDOW_SEC - 60.0) is True  # within the skew


def test_horizon_drops_old_windows_and_ignores_late_records():
    book = MetricBook(horizon=2)
    for hours in (0, 3):
        book.record_view(
            NODES[0].node_id,
            CONTENTS[0],
            b"x",
            watch_seconds=1,
            bytes_out=1,
            completed=False,
            now=T0 + hours * METRIC_WINDOW_SEC,
        )
    assert [book.window(CONTENTS[0], W0 + h) is not None for h in (0, 3)] == [False, True]
    assert book.apply(_one_record(NODES[1]), now=LATER) is False
    assert len(book) == 1


def test_window_id_is_the_floor_of_time_over_the_window():
    assert window_id_of(0.0) == 0
    assert window_id_of(3599.999) == 0
    assert window_id_of(3600.0) == 1
    assert window_id_of(T0) == int(T0) // 3600
    assert window_id_of(T0, 60) == int(T0) // 60
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(InvalidInput):
            window_id_of(bad)


def test_local_recording_refuses_bad_input():
    book = MetricBook()
    kwargs = {"watch_seconds": 1, "bytes_out": 1, "completed": False, "now": T0}
    with pytest.raises(InvalidInput):
        book.record_view(NODES[0].node_id, "not-hex", b"x", **kwargs)
    with pytest.raises(InvalidInput):
        book.record_view(NODES[0].node_id, CONTENTS[0], b"", **kwargs)
    with pytest.raises(InvalidInput):
        book.record_view(NODES[0].node_id, CONTENTS[0], b"x", **{**kwargs, "watch_seconds": -1})
    with pytest.raises(InvalidInput):
        book.retract_view(NODES[0].node_id, CONTENTS[0], W0, now=T0)
    assert len(book) == 0


def test_the_window_length_is_a_setting_of_the_book():
    node = NodeIdentity.from_seed(b"\x01" * 32)
    windows = []
    for book in (MetricBook(window_sec=60), MetricBook()):
        book.record_view(
            node.node_id, "cd" * 32, b"salt", watch_seconds=1, bytes_out=1, completed=True,
            now=600.0,
        )  # fmt: skip
        windows.append([r.window_id for r in book.export(node)])
    assert windows == [[10], [0]]
