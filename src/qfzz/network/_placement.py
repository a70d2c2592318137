"""Which nodes hold a piece of content: rendezvous placement with a diversity pick.

The design makes the nodes sharing the first ``p = max(0, round(log2(N_estimate / R)))``
bits of NodeID and ContentID responsible. That gives R nodes only on average: on 1,000
seeded nodes (``bench/overlay.py --only placement``) 27% of items have fewer than R=3 and
2% none, and when ``p`` steps (the estimate crossing R·2^(p+½)) every item loses or gains
half its holders. The issue's fix — prefix members first, extended by rendezvous rank until
R — gives every item R diverse holders, but still moves 1.28 of its 3 copies per item at a
step: 1.49·R/N per join over a doubling of N, and two nodes whose estimates straddle a step
disagree on 43% of the holders.

So ``place`` ranks *every* candidate by rendezvous score (highest random weight, lowest
digest first; ``rendezvous_score``) and takes R from the top, with no prefix and no
estimate in the rule: one join or leave moves 1.05 / 0.91·R/N of the copies (20 of each
at N=1,000, 10,000 items), a step of the estimate moves nothing, and nodes agree on a
placement as long as they agree on the member list. ``p`` survives as the design's name
(``Placement.prefix_bits``) and as ``rule="prefix"`` and ``prefix_only`` for comparison.

Lease holders must span ≥ ``DHT_MIN_ASN`` ASNs and ≥ ``DHT_MIN_IP_OCTETS`` IP first octets
(only known values count). The holders are the first R-set in rendezvous order that meets
both (``_pick``): rank decides except where diversity must override it, and diversity is
met whenever some R candidates meet it; otherwise a greedy best effort, ``diverse=False``.
The leader is the smallest NodeID among the *holders* (not the whole responsible set): it
keeps the lease, so it must hold the content, and it is the same on every node that places
over the same members.

Cost: one blake3 per (item, node) — 10,000 items over 1,000 nodes take ~4 s of CPU, nearly
all of it the 10⁷ hashes (~0.3 µs each, the floor in Python); the rest of the order is
sorted only as deep as the pick looks (6 at most there).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from blake3 import blake3

from qfzz.network._records import MAX_ASN_CHARS, MalformedRecord, _node_id, _str

DHT_REPLICATION_TARGET = 3
DHT_MIN_ASN = 3
DHT_MIN_IP_OCTETS = 3
MAX_CANDIDATES = 100_000
"""More members than any federation this code is meant for; a bigger list is refused."""

Rule = Literal["rendezvous", "prefix"]
RULES: tuple[Rule, ...] = ("rendezvous", "prefix")

_ID_BITS = 256
_HEAD = 8
"""How much of the rendezvous order is sorted before anyone looks (R plus diversity's
usual detours fit); deeper looks double it."""
_FULL_SORT = 64
"""Beyond this depth the whole order is sorted at once (cheaper than finding each index)."""


def replication_prefix(n_estimate: float, r_target: int) -> int:
    """The design's prefix length ``p = max(0, round(log2(N_estimate / R_target)))``: with p
    bits shared, ``N / 2**p`` ≈ R nodes match a content id on average (between R/√2 and
    R·√2). An estimate below 1 (no network yet) gives 0."""
    if r_target < 1:
        raise ValueError("r_target must be at least 1")
    if not math.isfinite(n_estimate):
        raise ValueError("n_estimate must be finite")
    if n_estimate < 1:
        return 0
    return min(_ID_BITS, max(0, round(math.log2(n_estimate / r_target))))


def rendezvous_score(content_id: str, node_id: str) -> bytes:
    """``blake3(bytes.fromhex(content_id) || bytes.fromhex(node_id))``: the 32-byte digest of
    the 64 raw bytes (the two ids' binary forms, content first; not their hex text). A lower
    score ranks first; bytes compare as big-endian unsigned numbers."""
    return blake3(
        bytes.fromhex(_node_id(content_id, "content_id"))
        + bytes.fromhex(_node_id(node_id, "node_id"))
    ).digest()


def shares_prefix(content_id: str, node_id: str, bits: int) -> bool:
    """Whether the first ``bits`` bits of the two ids are equal."""
    if bits <= 0:
        return True
    shift = _ID_BITS - bits
    return int(content_id, 16) >> shift == int(node_id, 16) >> shift


@dataclass(frozen=True)
class Candidate:
    """A live member that may hold content, with what diversity knows of it: its ASN and the
    first octet of its IP address, each ``None`` when unknown."""

    node_id: str
    asn: str | None = None
    ip_octet: int | None = None

    def __post_init__(self) -> None:
        _node_id(self.node_id, "node_id")
        if self.asn is not None:
            _str(self.asn, "asn", MAX_ASN_CHARS)
        if self.ip_octet is not None and (
            isinstance(self.ip_octet, bool)
            or not isinstance(self.ip_octet, int)
            or not 0 <= self.ip_octet <= 255
        ):
            raise MalformedRecord("ip_octet must be an integer from 0 to 255")


@dataclass(frozen=True)
class Population:
    """Candidates prepared once for many placements: sorted by node id (so the nodes sharing
    a prefix with a content id are one contiguous run) with their ids in binary."""

    candidates: tuple[Candidate, ...]
    node_ids: tuple[str, ...]
    raw_ids: tuple[bytes, ...]

    @classmethod
    def of(cls, candidates: Iterable[Candidate]) -> Population:
        ordered = sorted(candidates, key=lambda c: c.node_id)
        if len(ordered) > MAX_CANDIDATES:
            raise MalformedRecord(f"more than {MAX_CANDIDATES} candidates", "too_many_items")
        for before, after in itertools.pairwise(ordered):
            if before.node_id == after.node_id:
                raise MalformedRecord(f"node {before.node_id} is listed twice", "duplicate")
        ids = tuple(c.node_id for c in ordered)
        return cls(tuple(ordered), ids, tuple(bytes.fromhex(i) for i in ids))

    def __len__(self) -> int:
        return len(self.candidates)

    def prefix_run(self, content_id: str, bits: int) -> range:
        """The indices of the candidates whose first ``bits`` bits are the content id's."""
        if bits <= 0:
            return range(len(self.candidates))
        shift = _ID_BITS - bits
        stem = int(content_id, 16) >> shift
        low = format(stem << shift, "064x")
        high = format(((stem + 1) << shift) - 1, "064x")
        ids = self.node_ids
        return range(bisect.bisect_left(ids, low), bisect.bisect_right(ids, high))

    def scores(self, content_id: str) -> list[bytes]:
        """Every candidate's rendezvous score for ``content_id`` (see ``rendezvous_score``),
        aligned with ``candidates``: one blake3 call per node, the placement's main cost."""
        # The hasher fed the content id, copied per node: the same digest as hashing the 64
        # bytes afresh (a test checks), a sixth cheaper.
        keyed = blake3(bytes.fromhex(_node_id(content_id, "content_id")))
        return [keyed.copy().update(raw).digest() for raw in self.raw_ids]


@dataclass(frozen=True)
class Placement:
    """Where one content id lives.

    ``responsible``: the nodes the rule makes answerable for the content, in its order:
    the top ``min(R, N)`` by rendezvous score (``rule="prefix"``: the prefix members, then
    the best others until R). ``holders``: the ``min(R, N)`` lease holders, in rendezvous
    order (the responsible ones unless diversity had to reach past them).
    ``leader``: the smallest node id among the holders (``None`` with no candidates).
    ``diverse``: whether the holders meet both diversity minimums. ``depth``: how far down
    the rendezvous order the pick had to look (R when diversity cost nothing).
    """

    content_id: str
    prefix_bits: int
    responsible: tuple[str, ...]
    holders: tuple[str, ...]
    leader: str | None
    diverse: bool
    depth: int


def place(
    content_id: str,
    candidates: Iterable[Candidate] | Population,
    *,
    r_target: int = DHT_REPLICATION_TARGET,
    n_estimate: float | None = None,
    min_asn: int = DHT_MIN_ASN,
    min_ip_octets: int = DHT_MIN_IP_OCTETS,
    rule: Rule = "rendezvous",
) -> Placement:
    """Places one content id over the candidates (see the module docstring for the rule)."""
    content_id = _node_id(content_id, "content_id")
    population = candidates if isinstance(candidates, Population) else Population.of(candidates)
    if r_target < 1 or min_asn < 0 or min_ip_octets < 0:
        raise ValueError("r_target must be at least 1 and the diversity minimums at least 0")
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    n = len(population)
    bits = replication_prefix(n if n_estimate is None else n_estimate, r_target)
    if n == 0:
        return Placement(content_id, bits, (), (), None, min_asn <= 0 and min_ip_octets <= 0, 0)
    scores = population.scores(content_id)
    members: list[int] = []
    if rule == "prefix":
        members = sorted(population.prefix_run(content_id, bits), key=scores.__getitem__)
    order = _Order(scores, population.candidates, first=members)
    responsible_count = max(len(members), min(r_target, n))
    picked, _ = _pick(order, population.candidates, min(r_target, n), min_asn, min_ip_octets)
    responsible = [population.candidates[order[i]].node_id for i in range(responsible_count)]
    holders = tuple(population.candidates[i].node_id for i in picked)
    asns = {population.candidates[i].asn for i in picked} - {None}
    octets = {population.candidates[i].ip_octet for i in picked} - {None}
    return Placement(
        content_id=content_id,
        prefix_bits=bits,
        responsible=tuple(responsible),
        holders=holders,
        leader=min(holders),
        diverse=len(asns) >= min_asn and len(octets) >= min_ip_octets,
        depth=order.reached,
    )


def rendezvous_order(
    content_id: str, candidates: Iterable[Candidate] | Population, depth: int
) -> tuple[Candidate, ...]:
    """The first ``depth`` candidates by rendezvous score, best first: whom to ask for the
    content, and (in a simulation) a small stand-in population whose placement is the same
    as the whole one's as long as ``Placement.depth`` stays within it."""
    population = candidates if isinstance(candidates, Population) else Population.of(candidates)
    order = _Order(population.scores(content_id), population.candidates)
    return tuple(population.candidates[order[i]] for i in range(min(depth, len(population))))


def prefix_only(
    content_id: str,
    candidates: Iterable[Candidate] | Population,
    *,
    r_target: int = DHT_REPLICATION_TARGET,
    n_estimate: float | None = None,
    min_asn: int = DHT_MIN_ASN,
    min_ip_octets: int = DHT_MIN_IP_OCTETS,
) -> Placement:
    """The design's rule as written, for comparison: every node sharing the first p bits
    holds the content, however many or few that is; no rendezvous, no diversity pick."""
    content_id = _node_id(content_id, "content_id")
    population = candidates if isinstance(candidates, Population) else Population.of(candidates)
    n = len(population)
    bits = replication_prefix(n if n_estimate is None else n_estimate, r_target)
    members = [population.candidates[i] for i in population.prefix_run(content_id, bits)]
    ids = tuple(c.node_id for c in members)
    asns = {c.asn for c in members} - {None}
    octets = {c.ip_octet for c in members} - {None}
    return Placement(
        content_id=content_id,
        prefix_bits=bits,
        responsible=ids,
        holders=ids,
        leader=min(ids) if ids else None,
        diverse=len(asns) >= min_asn and len(octets) >= min_ip_octets,
        depth=len(ids),
    )


class _Order:
    """The candidates' indices in rendezvous order (lowest score first), ``first`` ahead of
    the rest, sorted only as deep as someone looks: most placements need the top R or so of
    N, and a full sort of 1,000 digests costs a third as much again as hashing them."""

    def __init__(
        self, scores: list[bytes], candidates: Sequence[Candidate], first: Sequence[int] = ()
    ) -> None:
        self._scores = scores
        self._candidates = candidates
        self.reached = 0
        """How many positions anyone has asked for."""
        self._first = list(first)
        self._head: list[int] = list(first)
        self._complete = False
        self._grow(len(self._first) + _HEAD)

    def _grow(self, want: int) -> None:
        if self._complete or want <= len(self._head):
            return
        scores, skip = self._scores, set(self._first)
        need = want - len(self._first)
        if need + len(skip) > _FULL_SORT:
            rest = sorted(range(len(scores)), key=scores.__getitem__)
            self._complete = True
        else:
            # Scores are distinct (distinct ids hash apart), so each one names its index.
            rest = [scores.index(s) for s in heapq.nsmallest(need + len(skip), scores)]
            self._complete = need + len(skip) >= len(scores)
        self._head = self._first + [i for i in rest if i not in skip][:need]

    def __len__(self) -> int:
        return len(self._scores)

    def __getitem__(self, position: int) -> int:
        if position >= len(self._head):
            self._grow(max(2 * len(self._head), position + 1))
        self.reached = max(self.reached, position + 1)
        return self._head[position]

    def candidate(self, position: int) -> Candidate:
        return self._candidates[self[position]]


def _pick(
    order: _Order, candidates: Sequence[Candidate], count: int, min_asn: int, min_octets: int
) -> tuple[list[int], int]:
    """The ``count`` holders: of all the sets that meet diversity, the one first in
    rendezvous order (walking the order, a candidate is taken when the set can still be
    completed from the candidates after it — ``_completable``), so diversity overrides rank
    only as far as it must, and is met whenever the population allows it.

    A known ASN or IP first octet not yet held counts towards diversity; ``None`` never
    does (an unknown value may equal a held one). When the population cannot meet
    diversity, ``_best_effort`` picks greedily instead. Returns the picked indices and how
    far down the order anything was looked at (the placement depends on nothing deeper)."""
    n = len(order)
    if count == 0:
        return [], 0
    if not _completable(order, 0, set(), set(), count, min_asn, min_octets):
        return _best_effort(order, candidates, count, min_asn, min_octets), n
    picked: list[int] = []
    asns: set[str] = set()
    octets: set[int] = set()
    position = 0
    while len(picked) < count:
        c = candidates[order[position]]
        with_asns = asns | {c.asn} if c.asn is not None else asns
        with_octets = octets | {c.ip_octet} if c.ip_octet is not None else octets
        slots = count - len(picked) - 1
        if _completable(order, position + 1, with_asns, with_octets, slots, min_asn, min_octets):
            picked.append(order[position])
            asns, octets = with_asns, with_octets
        position += 1
    return picked, order.reached


def _completable(
    order: _Order,
    start: int,
    asns: set[str],
    octets: set[int],
    slots: int,
    min_asn: int,
    min_octets: int,
) -> bool:
    """Whether ``slots`` more candidates from ``start`` on in ``order`` can bring the held
    ``asns`` and ``octets`` to the minimums.

    With a ASNs and o octets still missing, k candidates that each bring a new ASN *and* a
    new octet (pairwise distinct in both: a matching between new ASNs and new octets) save
    k slots, so the fewest that close both gaps are ``a + o − min(M, a, o)``, M the largest
    such matching — provided a new ASNs and o new octets exist at all. The walk stops as
    soon as what it has seen proves it, which for a diverse population is within a few."""
    need_asn = max(0, min_asn - len(asns))
    need_octets = max(0, min_octets - len(octets))
    if need_asn > slots or need_octets > slots:
        return False
    n = len(order)
    if n - start < slots:
        return False
    if need_asn == 0 and need_octets == 0:
        return True
    new_asns: set[str] = set()
    new_octets: set[int] = set()
    matching = _Matching(min(need_asn, need_octets))
    for position in range(start, n):
        c = order.candidate(position)
        fresh_asn = c.asn is not None and c.asn not in asns
        fresh_octet = c.ip_octet is not None and c.ip_octet not in octets
        if fresh_asn:
            new_asns.add(cast(str, c.asn))
        if fresh_octet:
            new_octets.add(cast(int, c.ip_octet))
        if fresh_asn and fresh_octet:
            matching.add(cast(str, c.asn), cast(int, c.ip_octet))
        if (
            len(new_asns) >= need_asn
            and len(new_octets) >= need_octets
            and need_asn + need_octets - matching.size <= slots
        ):
            return True
    return False


class _Matching:
    """A maximum matching between ASNs and octets, grown one edge at a time (Kuhn's
    augmenting paths), up to ``cap`` pairs — the most the completion test can use."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self._edges: dict[str, set[int]] = {}
        self._owner: dict[int, str] = {}

    def add(self, asn: str, octet: int) -> None:
        edges = self._edges.setdefault(asn, set())
        if octet in edges:
            return
        edges.add(octet)
        if self.size >= self.cap:
            return
        matched = set(self._owner.values())
        for free in [a for a in self._edges if a not in matched]:
            if self._augment(free, set()):
                self.size += 1
                return

    def _augment(self, asn: str, seen: set[int]) -> bool:
        for octet in self._edges[asn]:
            if octet in seen:
                continue
            seen.add(octet)
            owner = self._owner.get(octet)
            if owner is None or self._augment(owner, seen):
                self._owner[octet] = asn
                return True
        return False


def _best_effort(
    order: _Order, candidates: Sequence[Candidate], count: int, min_asn: int, min_octets: int
) -> list[int]:
    """When the population cannot meet diversity: each slot takes the first candidate that
    closes the most open gaps (then simply the next in order). Greedy, not optimal — the
    placement says ``diverse=False`` either way."""
    picked: list[int] = []
    taken: set[int] = set()
    asns: set[str] = set()
    octets: set[int] = set()
    for _ in range(count):
        need_asn, need_octets = len(asns) < min_asn, len(octets) < min_octets
        best, best_gain = -1, -1
        for position in range(len(order)):
            index = order[position]
            if index in taken:
                continue
            c = candidates[index]
            gain = (need_asn and c.asn is not None and c.asn not in asns) + (
                need_octets and c.ip_octet is not None and c.ip_octet not in octets
            )
            if gain > best_gain:
                best, best_gain = index, gain
            if gain == need_asn + need_octets:
                break
        picked.append(best)
        taken.add(best)
        c = candidates[best]
        if c.asn is not None:
            asns.add(c.asn)
        if c.ip_octet is not None:
            octets.add(c.ip_octet)
    return picked
