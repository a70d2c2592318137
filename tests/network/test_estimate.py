"""The population estimate: an HLL of node ids (mergeable, bounded on the wire), and
``n_estimate`` that liars and unreachable peers cannot inflate (the design's max() can)."""

from __future__ import annotations

import random

import pytest
from datasketches import hll_sketch

from qfzz.network import (
    MAX_SKETCH_BYTES,
    InvalidSketch,
    NodeSketch,
    PeerReport,
    n_estimate,
)

N = 1_000


def _ids(rng, n):
    return [rng.randbytes(32).hex() for _ in range(n)]


def _everyone(node):
    return True


def test_the_sketch_counts_distinct_ids_and_merges_as_a_union():
    rng = random.Random(1)
    ids = _ids(rng, N)
    a, b = NodeSketch.of(ids[:600]), NodeSketch.of(ids[400:])
    assert a.estimate() == pytest.approx(600, rel=0.05)
    assert NodeSketch.of(ids + ids).estimate() == NodeSketch.of(ids).estimate()  # distinct
    union = a.merged(b)
    assert union.estimate() == pytest.approx(N, rel=0.05)
    assert union.estimate() == pytest.approx(NodeSketch.of(ids).estimate(), rel=0.01)
    assert a.estimate() == pytest.approx(600, rel=0.05)  # merged() left a alone
    assert union.upper_bound(2) >= union.upper_bound(1) >= union.upper_bound(0) == union.estimate()


def test_the_sketch_round_trips_in_bounded_bytes():
    rng = random.Random(2)
    full = NodeSketch.of(_ids(rng, 50_000))
    raw = full.to_bytes()
    assert len(raw) <= MAX_SKETCH_BYTES
    assert NodeSketch.from_bytes(raw).estimate() == full.estimate()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * (MAX_SKETCH_BYTES + 1),
        b"garbage bytes that are no sketch",
        bytes(hll_sketch(8).serialize_compact()),  # another configuration
    ],
)
def test_bad_sketch_bytes_are_refused(raw):
    with pytest.raises(InvalidSketch):
        NodeSketch.from_bytes(raw)


def _population(seed):
    """A 1,000-node network: a local node that has seen 30 %, 90 honest peers with partial
    or complete views reporting their own sketches, and 10 % liars claiming 10⁹ with a
    forged sketch of 200,000 made-up ids."""
    rng = random.Random(seed)
    ids = _ids(rng, N)
    local = NodeSketch.of(rng.sample(ids, 300))
    reports = []
    for i in range(90):
        seen = NodeSketch.of(rng.sample(ids, rng.randint(700, N)))
        reports.append(PeerReport(f"honest{i}", round(seen.estimate()), seen))
    forged = NodeSketch.of(_ids(rng, 200_000))
    reports += [PeerReport(f"liar{i}", 10**9, forged) for i in range(10)]
    rng.shuffle(reports)
    return local, reports


@pytest.mark.parametrize("seed", range(11, 41))
def test_ten_percent_of_liars_move_the_estimate_at_most_five_percent(seed):
    local, reports = _population(seed)
    naive = max(round(local.estimate()), *(r.n_local for r in reports))
    assert naive == 10**9  # the design's max(): one liar wins
    estimate = n_estimate(local, reports, reachable=_everyone)
    assert abs(estimate - N) / N <= 0.05


def test_a_single_liar_is_capped_by_the_merged_sketch_even_without_trimming():
    rng = random.Random(3)
    ids = _ids(rng, N)
    local = NodeSketch.of(ids)
    liar = PeerReport("liar", 10**9, None)
    assert n_estimate(local, [liar], reachable=_everyone, trim=0.0) == round(local.estimate())
    capped = n_estimate(local, [liar], reachable=_everyone, trim=0.0, cap_std_devs=2)
    assert capped == round(local.upper_bound(2))
    assert capped <= N * 1.05


def test_reports_from_peers_that_are_not_sufficiently_reachable_do_not_count():
    rng = random.Random(4)
    ids = _ids(rng, N)
    local = NodeSketch.of(ids[:500])
    island = NodeSketch.of(_ids(rng, 5_000))
    reports = [PeerReport(f"sybil{i}", 5_000, island) for i in range(20)]
    reports.append(PeerReport("honest", N, NodeSketch.of(ids)))
    reachable = {"honest"}
    estimate = n_estimate(local, reports, reachable=reachable.__contains__, trim=0.0)
    assert estimate == pytest.approx(N, rel=0.05)
    assert n_estimate(local, reports[:-1], reachable=reachable.__contains__) == round(
        local.estimate()
    )


def test_honest_reports_still_raise_a_partial_local_view():
    # The point of max(): a node that has seen few peers learns the size from others.
    rng = random.Random(5)
    ids = _ids(rng, N)
    local = NodeSketch.of(ids[:100])
    reports = [PeerReport(f"p{i}", N, NodeSketch.of(ids)) for i in range(10)]
    assert n_estimate(local, reports, reachable=_everyone) == pytest.approx(N, rel=0.05)
    assert n_estimate(local, [], reachable=_everyone) == pytest.approx(100, rel=0.05)


@pytest.mark.parametrize("seed", range(41, 51))
def test_liars_that_claim_low_to_keep_their_forged_sketch_in_gain_nothing(seed):
    """The split attack: each liar claims 10⁹ to some peers and little to others, so that
    trimming by claim keeps its forged sketch in the cap's merge. The cap leaves out the
    sketches that would add the most, whatever their senders claim."""
    local, reports = _population(seed)
    split = [
        PeerReport(r.node_id, 5 if i % 2 else r.n_local, r.sketch) if r.n_local == 10**9 else r
        for i, r in enumerate(reports)
    ]
    assert any(r.n_local == 5 for r in split) and any(r.n_local == 10**9 for r in split)
    estimate = n_estimate(local, split, reachable=_everyone)
    assert abs(estimate - N) / N <= 0.05


def test_one_high_and_one_low_forged_claim_are_both_left_out():
    rng = random.Random(6)
    ids = _ids(rng, N)
    local = NodeSketch.of(ids)
    forged = NodeSketch.of(_ids(rng, 200_000))
    honest = [PeerReport(f"h{i}", N, NodeSketch.of(ids)) for i in range(8)]
    liars = [PeerReport("high", 10**9, forged), PeerReport("low", 3, forged)]
    assert n_estimate(local, honest + liars, reachable=_everyone) == pytest.approx(N, rel=0.05)


def test_a_node_whose_peers_are_mostly_liars_short_of_half_is_not_captured():
    """More liars than the trim (40 % of the reports): their forged sketches are far out
    of line with the median peer's view and are left out all the same."""
    rng = random.Random(7)
    ids = _ids(rng, N)
    local = NodeSketch.of(rng.sample(ids, 300))
    honest = []
    for i in range(30):
        seen = NodeSketch.of(rng.sample(ids, rng.randint(700, N)))
        honest.append(PeerReport(f"honest{i}", round(seen.estimate()), seen))
    forged = NodeSketch.of(_ids(rng, 200_000))
    liars = [PeerReport(f"liar{i}", 10**9 if i % 2 else 7, forged) for i in range(20)]
    estimate = n_estimate(local, honest + liars, reachable=_everyone)
    assert abs(estimate - N) / N <= 0.05
