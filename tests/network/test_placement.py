"""Where content lives: the prefix formula, the rendezvous score's exact bytes, and the laws
of ``place`` — any candidate order gives the same placement, every item gets min(R, N)
holders, diversity is met whenever some R candidates could meet it (and then the holders
are the first such set in rendezvous order), the leader is the smallest holder, and one
join or leave moves about R/N of the holder copies."""

from __future__ import annotations

import itertools
import random

import pytest
from blake3 import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.network import (
    Candidate,
    MalformedRecord,
    Placement,
    Population,
    place,
    prefix_only,
    rendezvous_order,
    rendezvous_score,
    replication_prefix,
    shares_prefix,
)

ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
candidates = st.lists(
    st.builds(
        Candidate,
        node_id=ids,
        asn=st.none() | st.sampled_from(["AS1", "AS2", "AS3", "AS4", "AS5"]),
        ip_octet=st.none() | st.integers(0, 5),
    ),
    max_size=10,
    unique_by=lambda c: c.node_id,
)


def _meets(group: tuple[Candidate, ...], min_asn: int = 3, min_octets: int = 3) -> bool:
    asns = {c.asn for c in group if c.asn is not None}
    octets = {c.ip_octet for c in group if c.ip_octet is not None}
    return len(asns) >= min_asn and len(octets) >= min_octets


def _by_score(content_id: str, population: list[Candidate]) -> list[Candidate]:
    return sorted(population, key=lambda c: rendezvous_score(content_id, c.node_id))


def _seeded(n: int, seed: int, asns: int = 50, octets: int = 100) -> list[Candidate]:
    rng = random.Random(seed)
    return [
        Candidate(rng.randbytes(32).hex(), f"AS{rng.randrange(asns)}", rng.randrange(octets))
        for _ in range(n)
    ]


# -- the formulas ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "r", "p"),
    [
        (0, 3, 0),
        (2, 3, 0),  # log2(2/3) < 0: no prefix
        (3, 3, 0),
        (100, 3, 5),  # log2(33.3) = 5.06
        (1000, 3, 8),  # log2(333) = 8.38
        (1086, 3, 8),  # just under 3·2^8.5 = 1086.1
        (1087, 3, 9),
        (3000, 3, 10),  # log2(1000) = 9.97
        (3000, 5, 9),  # log2(600) = 9.23
    ],
)
def test_replication_prefix_follows_the_design_formula(n: int, r: int, p: int) -> None:
    assert replication_prefix(n, r) == p


def test_replication_prefix_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        replication_prefix(100, 0)
    with pytest.raises(ValueError):
        replication_prefix(float("inf"), 3)


def test_rendezvous_score_hashes_the_two_ids_raw_bytes_content_first() -> None:
    content, node = "ab" * 32, "0c" * 32
    expected = blake3(bytes.fromhex(content) + bytes.fromhex(node)).digest()
    assert rendezvous_score(content, node) == expected
    assert len(expected) == 32
    assert rendezvous_score(node, content) != expected
    with pytest.raises(MalformedRecord):
        rendezvous_score("AB" * 32, node)  # ids are lowercase hex, like node ids
    with pytest.raises(MalformedRecord):
        rendezvous_score(content, "0c" * 31)


def test_shares_prefix_compares_leading_bits() -> None:
    a = "f0" + "00" * 31
    b = "f8" + "00" * 31  # 1111 0000 vs 1111 1000: the first 4 bits agree, the 5th differs
    assert shares_prefix(a, b, 0)
    assert shares_prefix(a, b, 4)
    assert not shares_prefix(a, b, 5)


def test_candidates_and_populations_are_bounded() -> None:
    with pytest.raises(MalformedRecord):
        Candidate("xyz")
    with pytest.raises(MalformedRecord):
        Candidate("00" * 32, ip_octet=256)
    with pytest.raises(MalformedRecord):
        Candidate("00" * 32, ip_octet=True)
    with pytest.raises(MalformedRecord):
        Candidate("00" * 32, asn="A" * 33)
    with pytest.raises(MalformedRecord) as duplicate:
        Population.of([Candidate("00" * 32), Candidate("00" * 32, asn="AS1")])
    assert duplicate.value.reason == "duplicate"
    with pytest.raises(MalformedRecord):
        place("zz", [Candidate("00" * 32)])


# -- the laws --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(content_id=ids, population=candidates, seed=st.integers(), r=st.integers(1, 5))
def test_any_candidate_order_gives_the_same_placement(
    content_id: str, population: list[Candidate], seed: int, r: int
) -> None:
    shuffled = list(population)
    random.Random(seed).shuffle(shuffled)
    for rule in ("rendezvous", "prefix"):
        first = place(content_id, population, r_target=r, rule=rule)  # type: ignore[arg-type]
        assert place(content_id, shuffled, r_target=r, rule=rule) == first  # type: ignore[arg-type]
    assert prefix_only(content_id, shuffled, r_target=r) == prefix_only(
        content_id, population, r_target=r
    )


@settings(max_examples=300, deadline=None)
@given(content_id=ids, population=candidates, r=st.integers(1, 5))
def test_every_item_gets_min_r_n_distinct_holders_and_the_smallest_leads(
    content_id: str, population: list[Candidate], r: int
) -> None:
    placed = place(content_id, population, r_target=r)
    known = {c.node_id for c in population}
    assert len(placed.holders) == len(set(placed.holders)) == min(r, len(population))
    assert set(placed.holders) <= known
    assert placed.leader == (min(placed.holders) if placed.holders else None)
    # The responsible set is the top min(R, N) by rendezvous score, whatever diversity did.
    top = [c.node_id for c in _by_score(content_id, population)[: min(r, len(population))]]
    assert list(placed.responsible) == top


@settings(max_examples=400, deadline=None)
@given(content_id=ids, population=candidates)
def test_diversity_is_met_whenever_some_three_candidates_meet_it(
    content_id: str, population: list[Candidate]
) -> None:
    """Brute force over every 3-set in rendezvous order: the holders are the first set that
    meets diversity (lexicographically by rank), and none is found only when none exists."""
    placed = place(content_id, population, r_target=3)
    ranked = _by_score(content_id, population)
    first = next((g for g in itertools.combinations(ranked, 3) if _meets(g)), None)
    if first is None:
        assert not placed.diverse
    else:
        assert placed.diverse
        assert placed.holders == tuple(c.node_id for c in first)
    by_id = {c.node_id: c for c in population}
    assert placed.diverse == _meets(tuple(by_id[h] for h in placed.holders))


@settings(max_examples=200, deadline=None)
@given(content_id=ids, population=candidates)
def test_without_a_diversity_rule_the_holders_are_the_rendezvous_top(
    content_id: str, population: list[Candidate]
) -> None:
    placed = place(content_id, population, min_asn=0, min_ip_octets=0)
    assert placed.diverse
    assert list(placed.holders) == [c.node_id for c in _by_score(content_id, population)[:3]]


@settings(max_examples=200, deadline=None)
@given(content_id=ids, population=candidates, low=st.integers(0, 5000), high=st.integers(0, 5000))
def test_rendezvous_holders_do_not_depend_on_the_estimate(
    content_id: str, population: list[Candidate], low: int, high: int
) -> None:
    """Two nodes whose N estimates differ (around a prefix step, say) still agree."""
    a = place(content_id, population, n_estimate=low)
    b = place(content_id, population, n_estimate=high)
    assert (a.holders, a.leader, a.responsible) == (b.holders, b.leader, b.responsible)


@settings(max_examples=200, deadline=None)
@given(content_id=ids, population=candidates, n_estimate=st.integers(0, 200))
def test_the_prefix_rules_cover_exactly_the_prefix_members(
    content_id: str, population: list[Candidate], n_estimate: int
) -> None:
    design = prefix_only(content_id, population, n_estimate=n_estimate)
    bits = replication_prefix(n_estimate, 3)
    members = {c.node_id for c in population if shares_prefix(content_id, c.node_id, bits)}
    assert set(design.holders) == members
    extended = place(content_id, population, n_estimate=n_estimate, rule="prefix")
    assert set(extended.responsible) >= members
    assert len(extended.responsible) == max(len(members), min(3, len(population)))
    assert set(extended.responsible[: len(members)]) == members  # members rank first


def test_a_placement_over_the_rendezvous_head_is_the_whole_placement() -> None:
    """What the bench relies on: a placement looked no deeper than ``depth``."""
    population = Population.of(_seeded(300, seed=7, asns=8, octets=8))
    rng = random.Random(8)
    deep = 0
    for _ in range(200):
        content_id = rng.randbytes(32).hex()
        whole = place(content_id, population)
        head = place(content_id, rendezvous_order(content_id, population, 24), n_estimate=300)
        assert whole.depth <= 300
        deep = max(deep, whole.depth)
        if whole.depth < 24:
            assert head.holders == whole.holders
    assert deep > 3  # with only 8 ASNs, diversity sometimes reaches past the top 3


def test_the_design_prefix_rule_leaves_content_short_of_r() -> None:
    """The weakness the issue names, on a seeded 1,000 nodes: about a quarter of the items
    have fewer than 3 holders under the pure prefix rule, some have none."""
    population = Population.of(_seeded(1000, seed=3))
    rng = random.Random(4)
    placed = [prefix_only(rng.randbytes(32).hex(), population) for _ in range(3000)]
    short = sum(len(p.holders) < 3 for p in placed) / len(placed)
    empty = sum(not p.holders for p in placed) / len(placed)
    assert 0.15 < short < 0.45
    assert 0.005 < empty < 0.06


def _moved(before: list[Placement], after: list[Placement]) -> int:
    """Holder copies that must be made: holders after that were not holders before."""
    return sum(len(set(b.holders) - set(a.holders)) for a, b in zip(before, after, strict=True))


def test_one_join_or_leave_moves_about_r_over_n_of_the_copies() -> None:
    n, items, r, events = 100, 1500, 3, 4
    nodes = _seeded(n + events, seed=11)
    start, joiners = nodes[:n], nodes[n:]
    rng = random.Random(12)
    content = [rng.randbytes(32).hex() for _ in range(items)]
    leavers = rng.sample(start, events)

    def placements(population: list[Candidate]) -> list[Placement]:
        prepared = Population.of(population)
        return [place(c, prepared) for c in content]

    base = placements(start)
    assert all(p.diverse and len(p.holders) == r for p in base)
    ideal = r / n * items
    joins = [_moved(base, placements([*start, j])) for j in joiners]
    leaves = [_moved(base, placements([c for c in start if c is not x])) for x in leavers]
    # A leave must replace every copy the leaver held (R/N of them on average): never 0.
    assert all(moved > 0 for moved in joins + leaves)
    assert sum(joins) / events <= 1.2 * ideal, joins
    assert sum(leaves) / events <= 1.2 * ideal, leaves
