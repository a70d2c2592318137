"""The overlay's failure detector and dissemination at 1,000 nodes, in virtual time.

Runs the real ``qfzz.network._swim`` code for N nodes over the in-memory lossy network
(seeded RNG, uniform per-message delay) and prints, against issue 14's targets:

* dissemination: gossip rounds (200 ms each) until 99.99% of the other live nodes know
  a join and a leave, with 10% loss (target ≤ 8);
* detection: time until every live node marks a crashed node dead, p50/p99 over several
  crashes, with 10% loss (target p99 ≤ 20 s with the default timings);
* calm: false positives (a live node declared dead, counted once per node and
  incarnation) per 10,000 node-hours with 5% loss while 5% of the nodes stall for 5 s
  at a time (target ≤ 1), and when none is seen, the 95% upper bound on the rate that
  zero in that many node-hours allows (rule of three);
* CPU time (this process, simulator included) per node per second of simulated time;
* estimate: the N estimate's relative error |est − N|/N on the honest nodes while 10% of
  the nodes lie (claim 10⁹ and send a forged sketch), with the real signed handshake and
  ``n_estimate`` (target p99 ≤ 5%), beside the design's naive ``max(N_local, reports)``
  computed from the same reports, per round; see ``estimate_rounds`` for the model. A
  node is captured (its estimate ~10⁶) only when about half of its reports are liars'
  (``capture_odds``): the cap leaves out the sketches that add the most and those far
  above the median peer's view. ``--liar-claims split`` runs liars that also make low
  claims — which defeated an earlier cap that trimmed by claim (720 of 900 nodes
  captured); now it changes nothing.
* placement: where content lives (``qfzz.network.place``) at N nodes with 10,000 items, R=3,
  ASNs from 50 and IP first octets from 100: the share of items with ≥ R holders meeting
  diversity (target 100%), the share with fewer than R and with none, and the copies one
  join or leave adds as a multiple of R/N (target ≤ 1.2), for the design's prefix rule,
  the issue's fix (prefix members, extended by rendezvous rank to R) and plain rendezvous
  with a diversity pick (``place``'s rule); also what one step of the prefix length p
  moves (the estimate crossing R·2^(p+½)), and so the cost per join over a doubling of N.
* replication (issue 15): the time from a node crash to full re-replication (target ≤ 2
  detection periods), p50/p99 over several crashes of the SWIM simulation at 10% loss,
  beside the detection period (every live node marks the crash dead, p99) of the same
  runs. Each content the crashed node held is followed as ``Replicas`` handles it: its
  leader after the crash (``place`` over the others) acts a tick after *its own* view
  marks the crash dead, reassigns the slot, and the new holder fetches; the blob transfer
  is modelled (``Transfer``: 5 MB at 10 MB/s plus a 100 ms round trip), not simulated.
  Beside it, the design's rule (reassign after 3 missed 60 s heartbeats, phases uniform).
  Then leader changes per hour of churn: 10% of the nodes leaving and 10% joining per
  hour at seeded random times, every item's placement leader (and holders) recounted
  after each event, against what random ids predict (``churn_run``), and the copies
  fetched when leases move as ``Replicas._lead`` moves them (``lead_leases``: a
  departed holder is replaced, a new leader grants every placed holder, and once the
  placed holders hold the blob the surplus slots are vacated — leases settle back to R).

The SWIM sections install the starting cluster as already converged (every node knows
every other), which is what a cluster looks like after its joins have settled; joins are
measured separately. The estimate section is not a SWIM run: it starts every node with
a partial view and runs synchronous handshake rounds (no loss, no delay), because the
question there is what the estimate does with liars, not with packets.

    python3 run.py bench overlay [--n 1000 --loss 0.1 --seed 1 --fp-duration 600]
    python3 run.py bench overlay --only estimate [--est-rounds 12 --liar-claims split]
    python3 run.py bench overlay --only placement [--n 1000 --items 10000 --churn 20]
    python3 run.py bench overlay --only replication [--rep-items 2000 --crashes 10
        --blob-mb 5 --bandwidth-mb 10 --rtt 0.1 --churn-hours 2 --churn-leave 0.1]
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from qfzz.network import (
    DEFAULT_TRIM,
    DHT_HEARTBEAT_INTERVAL,
    DHT_HEARTBEAT_MISS_THRESHOLD,
    DHT_MIN_ASN,
    DHT_MIN_IP_OCTETS,
    DHT_REPLICATION_TARGET,
    MAX_REPLICAS,
    Candidate,
    MemberRecord,
    NodeIdentity,
    NodeInfo,
    NodeSketch,
    NonceWindow,
    PeerReport,
    Placement,
    Population,
    Rule,
    Simulation,
    build_answer,
    build_handshake,
    n_estimate,
    place,
    prefix_only,
    rendezvous_order,
    rendezvous_score,
    replication_prefix,
    verify_answer,
    verify_handshake,
)
from qfzz.network import SwimState as State
from qfzz.overlay import TICK_SOON


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (no interpolation: p99 of 900 values is the 9th worst)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def until_known(sim: Simulation, node_id: str, state: State, share: float, limit: float) -> float:
    """Runs the simulation until ``share`` of the other live nodes see ``node_id`` in
    ``state``; returns the elapsed virtual time (``inf`` if ``limit`` passes first)."""
    start = sim.now
    need = math.ceil(share * len([n for n in sim.live() if n != node_id]))
    while sim.now - start < limit:
        sim.run(0.05)
        if len(sim.knowers(node_id, (state,))) >= need:
            return sim.now - start
    return math.inf


def dissemination(args: argparse.Namespace) -> None:
    sim = Simulation(seed=args.seed, loss=args.loss, record=False)
    ids = sim.bootstrap(args.n)
    sim.run(3.0)
    gossip = sim.config.gossip_interval
    rounds: list[tuple[str, float, float]] = []
    for trial in range(args.trials):
        via = ids[sim.rng.randrange(len(ids))]
        joiner = f"j{trial}"
        sim.join(joiner, via)
        t99 = until_known(sim, joiner, State.ALIVE, 0.99, 30.0)
        t = t99 + until_known(sim, joiner, State.ALIVE, 0.9999, 30.0)
        rounds.append(("join", t99 / gossip, t / gossip))
        sim.run(2.0)
        leaver = ids[sim.rng.randrange(len(ids))]
        while sim.nodes[leaver].leaving:
            leaver = ids[sim.rng.randrange(len(ids))]
        sim.nodes[leaver].leave()
        t99 = until_known(sim, leaver, State.LEFT, 0.99, 30.0)
        t = t99 + until_known(sim, leaver, State.LEFT, 0.9999, 30.0)
        rounds.append(("leave", t99 / gossip, t / gossip))
        sim.run(2.0)
    for kind, r99, r9999 in rounds:
        print(f"  {kind:5}  99%: {r99:5.1f} rounds   99.99%: {r9999:5.1f} rounds")
    worst = max(r for _, _, r in rounds)
    print(
        f"dissemination: worst {worst:.1f} gossip rounds to 99.99% (target ≤ 8) at "
        f"{args.loss:.0%} loss"
    )


def detection(args: argparse.Namespace) -> None:
    sim = Simulation(seed=args.seed + 1, loss=args.loss, record=False)
    ids = sim.bootstrap(args.n)
    sim.run(3.0)
    victims = sim.rng.sample(ids, args.crashes)
    crashed_at: dict[str, float] = {}
    for victim in victims:
        sim.crash(victim)
        crashed_at[victim] = sim.now
        sim.run(args.crash_spacing)
    deadline = sim.now + 45.0
    while sim.now < deadline and not all(
        len(sim.knowers(v, (State.DEAD,))) == len(sim.live()) for v in victims
    ):
        sim.run(1.0)
    everyone: list[float] = []
    pairs: list[float] = []
    undetected = 0
    for victim in victims:
        seen = sim.first_seen.get((victim, State.DEAD), {})
        live = [n for n in sim.live() if n != victim]
        times = [seen[n] - crashed_at[victim] for n in live if n in seen]
        pairs.extend(times)
        if len(times) < len(live):
            undetected += 1
        else:
            everyone.append(max(times))
    if not everyone:
        everyone = [math.inf]
    print(
        f"detection: {args.crashes} crashes, {args.loss:.0%} loss; every live node marks "
        f"dead after p50 {statistics.median(everyone):.1f} s, "
        f"p99 {percentile(everyone, 99):.1f} s (target ≤ 20 s); "
        f"per observer p50 {statistics.median(pairs):.1f} s, p99 {percentile(pairs, 99):.1f} s; "
        f"not seen by all within 45 s of the last crash: {undetected}"
    )


def calm(args: argparse.Namespace) -> None:
    sim = Simulation(seed=args.seed + 2, loss=args.fp_loss, record=False)
    ids = sim.bootstrap(args.n)
    flaky = sim.rng.sample(ids, max(1, round(args.fp_stalled * args.n)))
    stalls = 0

    def stall_cycle(node_id: str) -> None:
        nonlocal stalls
        stalls += 1
        sim.stall(node_id, args.stall)
        sim.loop.at(
            sim.now + args.stall + sim.rng.uniform(5.0, 30.0), None, lambda: stall_cycle(node_id)
        )

    for node_id in flaky:
        sim.loop.at(sim.rng.uniform(0.0, 30.0), None, functools.partial(stall_cycle, node_id))
    cpu = time.process_time()
    sim.run(args.fp_duration)
    cpu = time.process_time() - cpu
    false_dead = {key for key, seen in sim.first_seen.items() if key[1] is State.DEAD and seen}
    believers = sum(len(sim.first_seen.get(key, {})) for key in false_dead)
    suspected = len({key[0] for key in sim.first_seen if key[1] is State.SUSPECT})
    node_hours = args.n * args.fp_duration / 3600
    rate = len(false_dead) / node_hours * 10_000
    awareness = [node.awareness for node in sim.nodes.values()]
    print(
        f"calm: {args.fp_duration:.0f} s simulated, {node_hours:.0f} node-hours, "
        f"{args.fp_loss:.0%} loss, {len(flaky)} nodes stalling {args.stall:.0f} s at a time "
        f"({stalls} stalls); nodes ever suspected: {suspected}; live nodes declared dead: "
        f"{len(false_dead)} (believed by {believers} observers) = {rate:.1f} per 10,000 "
        f"node-hours (target ≤ 1); max awareness at the end {max(awareness)}"
    )
    if not false_dead:
        # Rule of three: with 0 events in H node-hours, a Poisson rate above 3/H would have
        # shown at least one event with 95% probability, so 3/H is the 95% upper bound.
        bound = 3 / node_hours * 10_000
        verdict = (
            "under the target of 1: zero at this duration shows the target is met"
            if bound <= 1
            else "not under the target of 1: zero at this duration does not show the target "
            f"is met (that takes ≥ {30_000 / args.n * 3600:.0f} s of simulated time at "
            f"N={args.n}; run longer with --fp-duration)"
        )
        print(
            f"  zero observed in {node_hours:.0f} node-hours: the 95% upper bound of the rate "
            f"(rule of three, 3/H) is {bound:.1f} per 10,000 node-hours, {verdict}"
        )
    print(
        f"cpu: {cpu / (args.n * args.fp_duration) * 1e6:.1f} µs of CPU per node per "
        f"simulated second ({sim.loop.events_run} events, {sim.network.sent} messages, "
        f"{cpu:.1f} s total)"
    )


# -- the N estimate with liars ---------------------------------------------------------------

LIAR_CLAIM = 10**9
FORGED_IDS = 1_000_000
ROUND_SECONDS = 10.0
"""Virtual time between rounds: well inside the handshake's ±60 s skew window, so every
timestamp check runs and passes, and nonces stay in each answerer's window for 12 rounds."""


@dataclass
class EstimateNode:
    """One node of the estimate run: its identity, what it has verified, what it was told.

    ``known`` holds the signed alive records this node has verified (its own, its starting
    view, every answerer's, every caller's and every record listed in an answer's
    ``known_public_nodes``); ``sketch`` is the HLL of exactly those ids, so ``N_local`` is
    what the node has seen for itself. Peers' sketches are never merged into it: a node
    cannot tell an honest sketch from a forged one, and a forged sketch merged once would
    stay in the union for good and travel on in every answer. They are kept, with each
    peer's claim, as that peer's latest ``PeerReport``, and merged afresh by ``n_estimate``
    every time it runs (after dropping the highest ``trim`` share of claims), which is
    where the design puts that merge.
    """

    identity: NodeIdentity
    record: MemberRecord
    liar: bool
    known: dict[str, MemberRecord] = field(default_factory=dict)
    others: list[MemberRecord] = field(default_factory=list)
    sketch: NodeSketch = field(default_factory=NodeSketch)
    reports: dict[str, PeerReport] = field(default_factory=dict)
    nonces: NonceWindow = field(default_factory=NonceWindow)
    estimate: int = 1

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    def learn(self, record: MemberRecord) -> None:
        """Count a verified record's node in the local view (once)."""
        if record.node_id not in self.known:
            self.known[record.node_id] = record
            self.sketch.add(record.node_id)
            if record.node_id != self.node_id:
                self.others.append(record)


@dataclass(frozen=True)
class EstimateRound:
    """The honest nodes' figures after one round (relative errors, N_true = all nodes).

    ``ceiling`` is the error of the union of the node's own sketch and every honest
    reporter's: the best any rule could make of the honest sketches it holds by this
    round, so ``errors`` within it are the gossip's lag, and beyond it the liars' doing.
    ``captured`` counts honest nodes whose estimate a forged sketch carried past 2·N.
    """

    round: int
    reports: float
    local: float
    errors: list[float]
    naive: list[float]
    ceiling: list[float]

    def over(self, limit: float) -> int:
        return sum(e > limit for e in self.errors)

    @property
    def captured(self) -> int:
        return self.over(1.0)


def _everyone_reachable(node_id: str) -> bool:
    """The worst case for the island filter: every peer, liars included, has its receipts."""
    return True


def _handshake(
    caller: EstimateNode,
    peer: EstimateNode,
    *,
    now: float,
    rng: random.Random,
    listed: int,
    forged: bytes,
    claims: str,
) -> None:
    """One real exchange: a signed request, verified by the peer; a signed answer built by
    ``build_answer`` carrying the peer's claim and sketch, verified by the caller with
    ``verify_answer`` (every listed record's signature included); then the caller learns
    the listed records and keeps the answer as the peer's latest report.

    A liar claims 10⁹ (``claims="high"``). With ``claims="split"`` it claims 10⁹ to the
    callers whose id sorts above its own and its unremarkable starting local estimate to
    the rest, so to those it is not among the highest claims: the attack on a cap that
    trims by claim, run only on request."""
    raw = build_handshake(caller.identity, caller.record, now=now, nonce=rng.randbytes(16).hex())
    request = verify_handshake(raw, nonces=peer.nonces, now=now)
    peer.learn(request.member)
    drawn = rng.sample(peer.others, min(listed + 1, len(peer.others)))
    known = tuple([r for r in drawn if r.node_id != caller.node_id][:listed])
    if peer.liar:
        claim = LIAR_CLAIM if claims == "high" or peer.node_id < caller.node_id else peer.estimate
        sketch = forged
    else:
        claim, sketch = peer.estimate, peer.sketch.to_bytes()
    body = build_answer(
        peer.identity,
        peer.record,
        request,
        known_public_nodes=known,
        n_estimate=claim,
        now=now,
        sketch=sketch,
    )
    answer = verify_answer(body, request_nonce=request.nonce, now=now, expected_node=peer.node_id)
    caller.learn(answer.member)
    for record in answer.known_public_nodes:
        caller.learn(record)
    caller.reports[peer.node_id] = PeerReport(
        peer.node_id,
        answer.n_estimate,
        None if answer.sketch is None else NodeSketch.from_bytes(answer.sketch),
    )


def estimate_rounds(
    n: int,
    *,
    seed: int,
    rounds: int,
    peers: int,
    view: int,
    listed: int,
    liars: float,
    claims: str = "high",
) -> Iterable[EstimateRound]:
    """Run ``rounds`` synchronous rounds of handshakes among ``n`` nodes; yield each round.

    Every node starts knowing itself and ``view`` random others (signed records, as from a
    bootstrap list), so its local estimate starts far below ``n``. In each round every node
    handshakes ``peers`` peers from its view, those it holds no report from first (a node
    that wants its estimate to rest on many peers spreads its handshakes); an answer lists
    ``listed`` random records of the answerer's view (a real answer may list up to 128; few
    here because ``verify_answer`` checks each one's signature, ~85 µs apiece, and the
    estimate rests on the merged sketches rather than on each node seeing everyone, so small
    lists only make views, and so the honest union, grow more slowly). After the round,
    every honest node recomputes ``n_estimate(local sketch, latest report per peer)``, the
    claim it sends in the next round's answers. A ``liars`` share of the nodes claim 10⁹ and
    send the sketch of a million made-up ids (``claims``: see ``_handshake``); otherwise
    they behave (they handshake and list real records), and the island filter counts them
    (worst case: they have their receipts). Minting identities to list is a sybil attack,
    which the receipts filter, and is not run here.
    """
    rng = random.Random(seed)
    identities = [NodeIdentity.from_seed(rng.randbytes(32)) for _ in range(n)]
    lying = set(rng.sample(range(n), round(liars * n)))
    nodes = [
        EstimateNode(
            identity,
            MemberRecord.signed(
                identity,
                NodeInfo.of(identity, f"node{i}.example.net"),
                "alive",
                incarnation=0,
                logical_counter=1,
                timestamp=0.0,
            ),
            liar=i in lying,
        )
        for i, identity in enumerate(identities)
    ]
    for i, node in enumerate(nodes):
        node.learn(node.record)
        for j in rng.sample([j for j in range(n) if j != i], min(view, n - 1)):
            node.learn(nodes[j].record)
        node.estimate = round(node.sketch.estimate())
    by_id = {node.node_id: node for node in nodes}
    forged = NodeSketch.of(f"made-up-{k}" for k in range(FORGED_IDS)).to_bytes()
    honest = [node for node in nodes if not node.liar]
    for r in range(1, rounds + 1):
        now = r * ROUND_SECONDS
        order = list(nodes)
        rng.shuffle(order)
        for caller in order:
            candidates = [i for i in caller.known if i != caller.node_id]
            fresh = [i for i in candidates if i not in caller.reports]
            chosen = rng.sample(fresh, min(peers, len(fresh)))
            if len(chosen) < peers:
                rest = [i for i in candidates if i not in chosen]
                chosen += rng.sample(rest, min(peers - len(chosen), len(rest)))
            for peer_id in chosen:
                _handshake(
                    caller,
                    by_id[peer_id],
                    now=now,
                    rng=rng,
                    listed=listed,
                    forged=forged,
                    claims=claims,
                )
        errors: list[float] = []
        naive: list[float] = []
        ceiling: list[float] = []
        for node in honest:
            reports = list(node.reports.values())
            node.estimate = n_estimate(node.sketch, reports, reachable=_everyone_reachable)
            simple = max(round(node.sketch.estimate()), *(rep.n_local for rep in reports))
            truthful = [rep.sketch for rep in reports if rep.sketch and not by_id[rep.node_id].liar]
            reference = node.sketch.merged(*truthful).estimate()
            errors.append(abs(node.estimate - n) / n)
            naive.append(abs(simple - n) / n)
            ceiling.append(abs(reference - n) / n)
        yield EstimateRound(
            r,
            statistics.median(len(node.reports) for node in honest),
            statistics.median(node.sketch.estimate() for node in honest),
            errors,
            naive,
            ceiling,
        )


def _error(value: float) -> str:
    """A relative error as a percentage (in scientific notation once beyond 1,000%)."""
    return f"{value:.1%}" if value < 10 else f"{value * 100:.1e}%"


def capture_odds(reports: int, liars: float, trim: float = DEFAULT_TRIM) -> float:
    """The chance that a node's ``reports`` random reports hold so many liars' that their
    forged sketches are not left out of the cap: more than the trimmed share *and* at least
    half (then the median peer's view is a forged one, and the outlier rule keeps them).
    Binomial; it depends on the reports held, not on N."""
    needed = max(math.ceil(trim * reports) + 1, (reports + 1) // 2)
    return sum(
        math.comb(reports, k) * liars**k * (1 - liars) ** (reports - k)
        for k in range(needed, reports + 1)
    )


def estimate(args: argparse.Namespace) -> None:
    cpu = time.process_time()
    claims = "claim 10⁹" if args.liar_claims == "high" else "split claims: 10⁹ or low"
    print(
        f"estimate: N={args.n}, {args.liars:.0%} liars ({claims}, forged sketch "
        f"of {FORGED_IDS:,} ids, counted as reachable), start view {args.est_view} + self, "
        f"{args.est_peers} handshakes per node per round, {args.est_listed} records listed "
        "per answer; honest nodes' error |est − N|/N, n_estimate vs naive max(N_local, reports)"
    )
    last: EstimateRound | None = None
    for result in estimate_rounds(
        args.n,
        seed=args.seed + 3,
        rounds=args.est_rounds,
        peers=args.est_peers,
        view=args.est_view,
        listed=args.est_listed,
        liars=args.liars,
        claims=args.liar_claims,
    ):
        last = result
        e, v = result.errors, result.naive
        print(
            f"  round {result.round:2}  reports {result.reports:3.0f}  N_local {result.local:5.0f}"
            f"  n_estimate p50 {_error(statistics.median(e)):>6}"
            f" p99 {_error(percentile(e, 99)):>8}"
            f" max {_error(max(e)):>8} (>5%: {result.over(0.05):3}, >2·N: {result.captured:2})"
            f"  honest union p99 {_error(percentile(result.ceiling, 99)):>5}"
            f"  naive p50 {_error(statistics.median(v))} p99 {_error(percentile(v, 99))}"
        )
    cpu = time.process_time() - cpu
    if last is None:
        return
    p99 = percentile(last.errors, 99)
    odds = (
        f"binomial odds of capture at {last.reports:.0f} reports: "
        f"{capture_odds(round(last.reports), args.liars):.1e}"
    )
    print(
        f"estimate: N-estimate error with {args.liars:.0%} liars after {last.round} rounds "
        f"({last.reports:.0f} reports per node): p99 {_error(p99)} (target ≤ 5%: "
        f"{'met' if p99 <= 0.05 else 'NOT met'}), p50 {_error(statistics.median(last.errors))}, "
        f"max {_error(max(last.errors))}; {last.over(0.05)} of {len(last.errors)} honest nodes "
        f"over 5%, {last.captured} of them captured by a forged sketch ({odds}); "
        "naive max(N_local, reports) "
        f"p99 {_error(percentile(last.naive, 99))}; {cpu:.1f} s of CPU"
    )


# -- placement -------------------------------------------------------------------------------

PLACEMENT_RULES = ("prefix only", "prefix + rendezvous", "rendezvous")
"""The design's rule as written; the issue's fix (prefix members first, extended by
rendezvous rank to R); plain rendezvous over every member (``place``'s default)."""
PLACEMENT_DEPTH = 24
"""How much of each item's rendezvous order over all nodes is kept: a placement over these
(and the item's prefix members) is the placement over everyone as long as its ``depth``
stays within the ones present; a deeper one is recomputed over everyone (and counted)."""


@dataclass
class RuleFigures:
    """One rule's placements over the starting nodes, and the holder copies each event
    adds (must be transferred) and drops, summed over the items."""

    placements: list[Placement] = field(default_factory=list)
    added: dict[int, int] = field(default_factory=dict)
    dropped: dict[int, int] = field(default_factory=dict)

    def share(self, test: Callable[[Placement], bool]) -> float:
        return sum(map(test, self.placements)) / len(self.placements)


@dataclass
class PlacementRun:
    n: int
    items: int
    r: int
    prefix_bits: int
    step_estimate: int
    events: list[tuple[str, frozenset[str], int]]
    everyone: Population
    rules: dict[str, RuleFigures]
    recomputed: int

    def moved(self, rule: str, kind: str) -> float:
        """Copies added per event of ``kind`` over all items, as a multiple of R/N·items
        (what an ideal rule moves on one join or leave)."""
        fig = self.rules[rule]
        numbers = [i for i, (k, _, _) in enumerate(self.events) if k == kind]
        added = statistics.mean(fig.added.get(i, 0) for i in numbers)
        return added / (self.r / self.n * self.items)

    def worst(self, rule: str, kind: str) -> float:
        """The most copies one event of ``kind`` added, as a multiple of R/N·items."""
        fig = self.rules[rule]
        numbers = [i for i, (k, _, _) in enumerate(self.events) if k == kind]
        return max(fig.added.get(i, 0) for i in numbers) / (self.r / self.n * self.items)

    def per_item(self, rule: str, kind: str, dropped: bool = False) -> float:
        fig = self.rules[rule]
        counts = fig.dropped if dropped else fig.added
        numbers = [i for i, (k, _, _) in enumerate(self.events) if k == kind]
        return statistics.mean(counts.get(i, 0) for i in numbers) / self.items


def _place_by(
    rule: str, content_id: str, population: Population, estimate: int, r: int
) -> Placement:
    if rule == "prefix only":
        return prefix_only(content_id, population, r_target=r, n_estimate=estimate)
    kind: Rule = "prefix" if rule == "prefix + rendezvous" else "rendezvous"
    return place(content_id, population, r_target=r, n_estimate=estimate, rule=kind)


def placement_run(
    n: int,
    items: int,
    *,
    seed: int,
    r: int = 3,
    asns: int = 50,
    octets: int = 100,
    churn: int = 20,
) -> PlacementRun:
    """Places ``items`` random content ids over ``n`` seeded nodes by each rule, then again
    after each of ``churn`` single joins and ``churn`` single leaves, and with the estimate
    just past the next prefix step (same nodes), counting the holder copies that change.

    Every item's rendezvous order over all nodes (joiners included) is computed once; an
    event recomputes an item only when the event's node is among its first
    ``PLACEMENT_DEPTH`` or its prefix members, or the prefix length changes — otherwise the
    placement's inputs are the same, and so is the placement."""
    rng = random.Random(seed)

    def candidate() -> Candidate:
        return Candidate(
            rng.randbytes(32).hex(), asn=f"AS{rng.randrange(asns)}", ip_octet=rng.randrange(octets)
        )

    nodes = [candidate() for _ in range(n)]
    joiners = [candidate() for _ in range(churn)]
    leavers = rng.sample(nodes, churn)
    content = [rng.randbytes(32).hex() for _ in range(items)]
    everyone = Population.of(nodes + joiners)
    start = frozenset(c.node_id for c in nodes)
    p0 = replication_prefix(n, r)
    step = math.ceil(r * 2 ** (p0 + 0.5))  # the estimate at which p becomes p0 + 1
    events: list[tuple[str, frozenset[str], int]] = [("base", start, n)]
    events += [("join", start | {j.node_id}, n + 1) for j in joiners]
    events += [("leave", start - {x.node_id}, n - 1) for x in leavers]
    events.append(("step", start, step))
    bits = [replication_prefix(e, r) for _, _, e in events]
    deltas = [present ^ start for _, present, _ in events]
    p_min = min(bits)
    whole: dict[int, Population] = {}
    figures = {rule: RuleFigures() for rule in PLACEMENT_RULES}
    recomputed = 0
    for content_id in content:
        top = rendezvous_order(content_id, everyone, PLACEMENT_DEPTH)
        in_top = {c.node_id for c in top}
        members = [
            everyone.candidates[i]
            for i in everyone.prefix_run(content_id, p_min)
            if everyone.node_ids[i] not in in_top
        ]
        relevant = in_top | {c.node_id for c in members}
        base: dict[str, Placement] = {}
        for number, (_, present, estimate) in enumerate(events):
            if number and not deltas[number] & relevant and bits[number] == p0:
                continue  # the same inputs: the same placement, nothing moves
            subset = [c for c in top if c.node_id in present]
            small = Population.of(subset + [c for c in members if c.node_id in present])
            for rule, fig in figures.items():
                placed = _place_by(rule, content_id, small, estimate, r)
                if rule != "prefix only" and placed.depth >= len(subset):
                    recomputed += 1
                    if number not in whole:
                        whole[number] = Population.of(
                            c for c in everyone.candidates if c.node_id in present
                        )
                    placed = _place_by(rule, content_id, whole[number], estimate, r)
                if not number:
                    base[rule] = placed
                    fig.placements.append(placed)
                    continue
                before, after = set(base[rule].holders), set(placed.holders)
                fig.added[number] = fig.added.get(number, 0) + len(after - before)
                fig.dropped[number] = fig.dropped.get(number, 0) + len(before - after)
    return PlacementRun(n, items, r, p0, step, events, everyone, figures, recomputed)


def placement(args: argparse.Namespace) -> None:
    cpu = time.process_time()
    run = placement_run(
        args.n,
        args.items,
        seed=args.seed + 5,
        r=args.replicas,
        asns=args.asns,
        octets=args.octets,
        churn=args.churn,
    )
    cpu = time.process_time() - cpu
    r, p = run.r, run.prefix_bits
    print(
        f"placement: N={run.n}, {run.items:,} items, R={r}, ASNs from {args.asns}, IP first "
        f"octets from {args.octets}; diversity ≥ {DHT_MIN_ASN} ASNs and ≥ {DHT_MIN_IP_OCTETS} "
        f"octets; p={p}; moves averaged over {args.churn} joins and {args.churn} leaves, "
        f"copies added as a multiple of R/N per item; p step: estimate {run.n} → "
        f"{run.step_estimate} (p {p} → {p + 1}), same nodes"
    )
    for rule in PLACEMENT_RULES:
        fig = run.rules[rule]
        good = fig.share(lambda x: len(x.holders) >= r and x.diverse)
        added, dropped = run.per_item(rule, "step"), run.per_item(rule, "step", dropped=True)
        lost = run.per_item(rule, "leave", dropped=True) / (r / run.n)
        print(
            f"  {rule:20}  ≥R & diverse {good:6.1%}"
            f"  <R {fig.share(lambda x: len(x.holders) < r):5.1%}"
            f"  none {fig.share(lambda x: not x.holders):4.1%}"
            f"  join {run.moved(rule, 'join'):4.2f}·R/N"
            f"  leave {run.moved(rule, 'leave'):4.2f}·R/N (lost {lost:4.2f}·R/N)"
            f"  p step: +{added:.2f} −{dropped:.2f} copies per item"
            f"  per join over a doubling {run.moved(rule, 'join') + added / r:4.2f}·R/N"
        )
    mean = max(run.moved("rendezvous", "join"), run.moved("rendezvous", "leave"))
    worst = max(run.worst("rendezvous", "join"), run.worst("rendezvous", "leave"))
    diverse = run.rules["rendezvous"].share(lambda x: len(x.holders) >= r and x.diverse)
    print(
        f"placement: rendezvous with diversity: {diverse:.1%} of items with ≥ {r} diverse "
        f"holders (target 100%: {'met' if diverse == 1 else 'NOT met'}), one join or leave "
        f"moves {mean:.2f}·R/N on average (target ≤ 1.2: {'met' if mean <= 1.2 else 'NOT met'}),"
        f" the worst single one {worst:.2f}·R/N; "
        f"{run.recomputed} placements looked past depth {PLACEMENT_DEPTH} and were recomputed "
        f"over everyone; {cpu:.1f} s of CPU"
    )


# -- re-replication after a crash, and leader changes under churn ----------------------------


@dataclass(frozen=True)
class Transfer:
    """The blob transfer, modelled (the simulation carries no blobs): one round trip to ask,
    then ``size / bandwidth``. The defaults are a 5 MB track over a 10 MB/s path with a
    100 ms WAN round trip; the simulation's own 1–10 ms delay is a LAN's, too short for
    the fetch between federated nodes."""

    size: float = 5e6
    bandwidth: float = 10e6
    rtt: float = 0.1

    def fetch(self) -> float:
        return self.rtt + self.size / self.bandwidth


@dataclass(frozen=True)
class ContentMove:
    """One content the crashed node held: its leader after the crash, when that leader's
    view marked the crash dead (seconds after it), and when the new holder has the blob."""

    content_id: str
    leader: str
    leader_dead: float
    new_holder: str
    done: float


def rereplicate(
    old: Placement,
    new: Placement,
    victim: str,
    dead_after: Callable[[str], float],
    transfer: Transfer,
    tick: float = TICK_SOON,
) -> ContentMove:
    """What ``Replicas`` does for one content of a crashed holder, as a chain of delays.

    ``new`` is the placement over the live nodes without ``victim``: what the leader's view
    gives once it marks the victim dead (``NodeView`` leaves DEAD members out), so its
    leader is ``new.leader``. That node acts ``tick`` after its own SWIM view marks the
    victim dead (``_on_change`` → ``_tick_soon``). A leader that held no copy before (the
    victim led, and the new smallest holder is a newcomer) has no records yet: a surviving
    holder hands them over once *its* view marks the victim dead (its tick, one way), and
    the leader acts a tick after both. ``_lead`` then reassigns the dead slot to the first
    placed holder without a lease — the leader itself when it is the newcomer (it fetches
    in the same tick), else a node that gets the record one way later and fetches a tick
    after (a lease for a blob it lacks). ``dead_after`` maps a node to the seconds after the
    crash at which it marks the victim dead (``inf``: never, within the run)."""
    leader = new.leader
    assert leader is not None
    start = dead_after(leader)
    if leader not in old.holders:
        handed = min(dead_after(h) for h in old.holders if h != victim) + tick + transfer.rtt / 2
        start = max(start, handed)
        new_holder = leader
    else:
        new_holder = next(h for h in new.holders if h not in old.holders)
    filled = start + tick
    if new_holder != leader:
        filled += transfer.rtt / 2 + tick
    return ContentMove(
        new.content_id, leader, dead_after(leader), new_holder, filled + transfer.fetch()
    )


@dataclass
class CrashFigures:
    """One crash: when every live node marked it dead, and its contents' re-replication by
    SWIM's verdict (``moves``) and by the design's 3 missed heartbeats (``design``)."""

    victim: str
    detection: float
    moves: list[ContentMove]
    design: list[ContentMove]

    @property
    def rereplication(self) -> float:
        return max(m.done for m in self.moves)

    @property
    def design_rereplication(self) -> float:
        return max(m.done for m in self.design)


def _candidates(rng: random.Random, count: int, asns: int, octets: int) -> list[Candidate]:
    return [
        Candidate(
            rng.randbytes(32).hex(), asn=f"AS{rng.randrange(asns)}", ip_octet=rng.randrange(octets)
        )
        for _ in range(count)
    ]


def _design_dead_after(rng: random.Random, interval: float, misses: int) -> Callable[[str], float]:
    """The design's rule: a node learns of the crash at its first heartbeat check at least
    ``misses × interval`` after the victim's last heartbeat. The victim beat ``U`` before the
    crash and each node checks at its own phase ``W`` after that limit (both uniform over
    an interval), so it learns ``misses × interval − U + W`` after the crash: 120–240 s."""
    last = rng.uniform(0.0, interval)
    phases: dict[str, float] = {}

    def dead_after(node_id: str) -> float:
        if node_id not in phases:
            phases[node_id] = rng.uniform(0.0, interval)
        return misses * interval - last + phases[node_id]

    return dead_after


def rereplication_run(
    n: int,
    items: int,
    *,
    seed: int,
    loss: float,
    crashes: int,
    spacing: float = 1.0,
    r: int = DHT_REPLICATION_TARGET,
    asns: int = 50,
    octets: int = 100,
    transfer: Transfer | None = None,
    limit: float = 45.0,
) -> list[CrashFigures]:
    """Crashes ``crashes`` nodes of an N-node SWIM simulation (``spacing`` apart, as the
    detection section does) and times each crashed node's contents back to R copies.

    The simulation's nodes get seeded NodeIDs, ASNs and IP first octets, and ``items``
    random contents are placed over all of them. The victims are drawn so that no victim
    is within the placement depth of another's contents: each crash's new placements are
    then the ones over everyone but that victim, whatever the others' state."""
    transfer = transfer or Transfer()
    sim = Simulation(seed=seed, loss=loss, record=False)
    names = sim.bootstrap(n)
    sim.run(3.0)
    rng = random.Random(seed)
    nodes = _candidates(rng, n, asns, octets)
    name_of = {c.node_id: name for c, name in zip(nodes, names, strict=True)}
    everyone = Population.of(nodes)
    content = [rng.randbytes(32).hex() for _ in range(items)]
    before = {c: place(c, everyone, r_target=r) for c in content}
    held: dict[str, list[str]] = {}
    for c, placed in before.items():
        for holder in placed.holders:
            held.setdefault(holder, []).append(c)
    victims: list[tuple[str, dict[str, Placement]]] = []
    touched: set[str] = set()
    for candidate in rng.sample(nodes, len(nodes)):
        v = candidate.node_id
        if len(victims) == crashes:
            break
        if v in touched or v not in held:
            continue
        rest = Population.of(c for c in nodes if c.node_id != v)
        after = {c: place(c, rest, r_target=r) for c in held[v]}
        reach = {
            x.node_id
            for c, placed in after.items()
            for x in rendezvous_order(c, everyone, placed.depth + 1)
        }
        if reach & {w for w, _ in victims}:
            continue
        victims.append((v, after))
        touched |= reach
    crashed_at: dict[str, float] = {}
    for v, _ in victims:
        sim.crash(name_of[v])
        crashed_at[v] = sim.now
        sim.run(spacing)
    deadline = sim.now + limit
    while sim.now < deadline and not all(
        len(sim.knowers(name_of[v], (State.DEAD,))) == len(sim.live()) for v, _ in victims
    ):
        sim.run(1.0)
    design_rng = random.Random(seed + 1)
    figures: list[CrashFigures] = []
    for v, after in victims:
        seen = sim.first_seen.get((name_of[v], State.DEAD), {})
        live = [x for x in sim.live() if x != name_of[v]]
        times = [seen[x] - crashed_at[v] for x in live if x in seen]
        detection = max(times) if len(times) == len(live) else math.inf

        def swim_dead(
            node_id: str, seen: dict[str, float] = seen, at: float = crashed_at[v]
        ) -> float:
            t = seen.get(name_of[node_id])
            return math.inf if t is None else t - at

        design_dead = _design_dead_after(
            design_rng, DHT_HEARTBEAT_INTERVAL, DHT_HEARTBEAT_MISS_THRESHOLD
        )
        moves = [rereplicate(before[c], after[c], v, swim_dead, transfer) for c in held[v]]
        design = [rereplicate(before[c], after[c], v, design_dead, transfer) for c in held[v]]
        figures.append(CrashFigures(v, detection, moves, design))
    return figures


def replication(args: argparse.Namespace) -> None:
    cpu = time.process_time()
    transfer = Transfer(args.blob_mb * 1e6, args.bandwidth_mb * 1e6, args.rtt)
    figures = rereplication_run(
        args.n,
        args.rep_items,
        seed=args.seed + 6,
        loss=args.loss,
        crashes=args.crashes,
        spacing=args.crash_spacing,
        r=args.replicas,
        asns=args.asns,
        octets=args.octets,
        transfer=transfer,
    )
    print(
        f"replication: N={args.n}, {args.rep_items:,} items, R={args.replicas}, "
        f"{len(figures)} crashes {args.crash_spacing:.0f} s apart, {args.loss:.0%} loss; SWIM "
        f"simulated, the transfer MODELLED (not simulated): {args.blob_mb:g} MB at "
        f"{args.bandwidth_mb:g} MB/s + {args.rtt * 1000:.0f} ms round trip = "
        f"{transfer.fetch():.2f} s, one way {args.rtt * 500:.0f} ms per record push, "
        f"{TICK_SOON * 1000:.0f} ms to each replica tick; design: reassign after "
        f"{DHT_HEARTBEAT_MISS_THRESHOLD} missed heartbeats of {DHT_HEARTBEAT_INTERVAL:.0f} s, "
        "uniform phases"
    )
    for crash in figures:
        last = max(crash.moves, key=lambda m: m.done)
        led = sum(m.new_holder == m.leader for m in crash.moves)
        print(
            f"  crash: {len(crash.moves)} items ({led} with a newcomer leader), every live node "
            f"marks dead {crash.detection:5.1f} s, last item's leader {last.leader_dead:5.1f} s "
            f"→ R copies again {crash.rereplication:5.1f} s; design's rule "
            f"{crash.design_rereplication:6.1f} s"
        )
    done = [c.rereplication for c in figures]
    detected = [c.detection for c in figures]
    design = [c.design_rereplication for c in figures]
    period = percentile(detected, 99)
    p99 = percentile(done, 99)
    ratio = p99 / period
    cpu_first = time.process_time() - cpu
    print(
        f"replication: time from a crash to full re-replication p50 "
        f"{statistics.median(done):.1f} s, p99 {p99:.1f} s; detection period (every live node "
        f"marks the crash dead) p50 {statistics.median(detected):.1f} s, p99 {period:.1f} s; "
        f"p99 ratio {ratio:.2f} detection periods (target ≤ 2: "
        f"{'met' if ratio <= 2 else 'NOT met'}); the design's 3 missed heartbeats: p50 "
        f"{statistics.median(design):.0f} s, p99 {percentile(design, 99):.0f} s "
        f"({percentile(design, 99) / period:.1f} detection periods); {cpu_first:.1f} s of CPU"
    )
    cpu = time.process_time()
    run = churn_run(
        args.n,
        args.rep_items,
        seed=args.seed + 7,
        r=args.replicas,
        asns=args.asns,
        octets=args.octets,
        hours=args.churn_hours,
        leave_rate=args.churn_leave,
        join_rate=args.churn_join,
    )
    cpu = time.process_time() - cpu
    hours = args.churn_hours
    events = len(run.events)
    r = args.replicas
    print(
        f"churn: N={args.n}, {run.items:,} items, R={r}; {args.churn_leave:.0%} of the nodes "
        f"leave and {args.churn_join:.0%} join per hour ({events / hours:.0f} events/h, "
        f"seeded random times, one every {hours * 3600 / events:.0f} s on average) for "
        f"{hours:g} h; leaders and holders by place(); {run.recomputed:,} placements recomputed"
    )
    for kind in ("join", "leave"):
        count = sum(1 for e in run.events if e.kind == kind)
        print(
            f"  {kind}s {count / hours:4.0f}/h: leader changes {run.leaders[kind] / hours:6.1f}/h "
            f"(expected {run.expected_leaders[kind] / hours:6.1f}), holder copies added "
            f"{run.added[kind] / hours:6.1f}/h (expected {run.expected_added[kind] / hours:6.1f})"
        )
    leaders = sum(run.leaders.values()) / hours
    added = sum(run.added.values()) / hours
    fetched = sum(run.fetched.values()) / hours
    counts = [len(x) for x in run.leases.values()]
    print(
        f"churn: leader changes per hour of churn {leaders:.1f} ({leaders / run.items:.3f} per "
        f"item per hour; {run.items_with_change:,} of {run.items:,} items changed leader at "
        f"least once), against {sum(run.expected_leaders.values()) / hours:.1f} expected for "
        f"random ids (each event: items × R/N enter or lose that holder, and 2/(R+1) of those "
        f"change the smallest holder); holder copies added per hour {added:.1f} "
        f"({added / run.items:.3f} per item), against "
        f"{sum(run.expected_added.values()) / hours:.1f} (items × R/N per event); "
        f"{cpu:.1f} s of CPU"
    )
    print(
        f"churn: copies fetched as Replicas._lead moves leases (a departed holder's slot "
        f"refilled, a new leader's take_over granting every placed holder, surplus slots "
        f"vacated once the placed holders hold the blob): {fetched:.1f}/h "
        f"(joins {run.fetched['join'] / hours:.1f}, "
        f"leaves {run.fetched['leave'] / hours:.1f}); leases per item after {hours:g} h: mean "
        f"{statistics.mean(counts):.2f}, max {max(counts)} (R={r}), "
        f"{sum(c > r for c in counts):,} items over R"
    )


@dataclass(frozen=True)
class ChurnEvent:
    time: float
    kind: str
    node: Candidate


@dataclass
class ChurnRun:
    items: int
    events: list[ChurnEvent]
    placements: dict[str, Placement]
    final: Population
    leaders: dict[str, int]
    added: dict[str, int]
    expected_leaders: dict[str, float]
    expected_added: dict[str, float]
    items_with_change: int
    recomputed: int
    leases: dict[str, set[str]]
    fetched: dict[str, int]


def lead_leases(
    leases: set[str],
    leader_changed: bool,
    placed: Placement,
    gone: str | None,
    order: Callable[[], list[str]],
    r: int,
) -> set[str]:
    """The lease holders after one membership event, as ``Replicas._lead`` sets them: a
    new leader's ``take_over`` grants every placed holder without a lease a slot (keeping
    the old leases); a departed holder's slot goes to the first placed holder, then the
    first node in rendezvous ``order``, without a lease, only as far as R needs
    (``reassign_dead``); fewer than R leases are topped up with the placed holders. A
    live holder is never moved while it is placed; once every placed holder holds the blob
    (here: at once, the fetch being modelled as done), the surplus slots are vacated
    (``Replicas._trim``), so leases settle back to the placed R."""
    leases = set(leases)
    if leader_changed:
        leases |= set([h for h in placed.holders if h not in leases][: MAX_REPLICAS - len(leases)])
    if gone is not None and gone in leases:
        live = len(leases) - 1
        spare = [x for x in dict.fromkeys((*placed.holders, *order())) if x not in leases]
        leases = (leases - {gone}) | set(spare[: max(0, r - live)])
    if len(leases) < r:
        leases |= set(placed.holders)
    if set(placed.holders) <= leases and len(leases) > r:
        leases = set(placed.holders)  # _trim: surplus slots vacated, no copy fetched
    return leases


def churn_run(
    n: int,
    items: int,
    *,
    seed: int,
    r: int = DHT_REPLICATION_TARGET,
    asns: int = 50,
    octets: int = 100,
    hours: float = 1.0,
    leave_rate: float = 0.1,
    join_rate: float = 0.1,
) -> ChurnRun:
    """Places ``items`` contents over ``n`` nodes, then applies each hour
    ``leave_rate × n`` leaves of random present nodes and ``join_rate × n`` joins of new
    ones at seeded random times, and counts the placement leaders and holders that change.

    Incremental, and exact: a placement depends only on the first ``Placement.depth``
    candidates of the item's rendezvous order, so an item is placed again only when a
    leaver is among them or a joiner's score ranks within them (below the score at
    ``depth``); otherwise the event leaves its placement as it was."""
    rng = random.Random(seed)
    present = {c.node_id: c for c in _candidates(rng, n, asns, octets)}
    content = [rng.randbytes(32).hex() for _ in range(items)]
    events: list[ChurnEvent] = []
    whole = math.ceil(hours)
    for hour in range(whole):
        span = min(1.0, hours - hour) * 3600
        times = [hour * 3600 + rng.uniform(0.0, span) for _ in range(round(leave_rate * n))]
        kinds = ["leave"] * len(times)
        joins = [hour * 3600 + rng.uniform(0.0, span) for _ in range(round(join_rate * n))]
        times += joins
        kinds += ["join"] * len(joins)
        for at, kind in sorted(zip(times, kinds, strict=True)):
            events.append(ChurnEvent(at, kind, _candidates(rng, 1, asns, octets)[0]))
    population = Population.of(present.values())
    placements: dict[str, Placement] = {}
    leases: dict[str, set[str]] = {}
    reach: dict[str, set[str]] = {}
    bound: dict[str, bytes | None] = {}

    def settle(c: str) -> Placement:
        placed = place(c, population, r_target=r)
        top = rendezvous_order(c, population, placed.depth)
        placements[c] = placed
        reach[c] = {x.node_id for x in top}
        # a placement that looked at everyone depends on everyone: any joiner may change it
        last = rendezvous_score(c, top[-1].node_id) if top else None
        bound[c] = None if placed.depth >= len(population) else last
        return placed

    for c in content:
        leases[c] = set(settle(c).holders)
    leaders = {"join": 0, "leave": 0}
    added = {"join": 0, "leave": 0}
    expected_leaders = {"join": 0.0, "leave": 0.0}
    expected_added = {"join": 0.0, "leave": 0.0}
    fetched = {"join": 0, "leave": 0}
    changed: set[str] = set()
    recomputed = 0
    for number, event in enumerate(events):
        if event.kind == "leave":
            gone = rng.choice(sorted(present))
            events[number] = ChurnEvent(event.time, "leave", present.pop(gone))
            touched = [c for c in content if gone in reach[c] or gone in leases[c]]
        else:
            gone = None
            present[event.node.node_id] = event.node
            touched = [
                c
                for c in content
                if (limit := bound[c]) is None or rendezvous_score(c, event.node.node_id) < limit
            ]
        population = Population.of(present.values())
        size = len(population)
        expected_added[event.kind] += items * r / size
        expected_leaders[event.kind] += items * r / size * 2 / (r + 1)
        for c in touched:
            old = placements[c]
            new = settle(c) if gone is None or gone in reach[c] else old
            recomputed += new is not old
            added[event.kind] += len(set(new.holders) - set(old.holders))
            if new.leader != old.leader:
                leaders[event.kind] += 1
                changed.add(c)
            held = lead_leases(
                leases[c],
                new.leader != old.leader,
                new,
                gone,
                functools.partial(_order_ids, c, population),
                r,
            )
            fetched[event.kind] += len(held - leases[c])
            leases[c] = held
    return ChurnRun(
        items,
        events,
        placements,
        population,
        leaders,
        added,
        expected_leaders,
        expected_added,
        len(changed),
        recomputed,
        leases,
        fetched,
    )


def _order_ids(content_id: str, population: Population) -> list[str]:
    """The order ``_lead`` draws spare holders from (its first 32 by rendezvous score)."""
    return [c.node_id for c in rendezvous_order(content_id, population, 32)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--loss", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trials", type=int, default=2, help="joins and leaves measured")
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--crash-spacing", type=float, default=1.0)
    parser.add_argument("--fp-loss", type=float, default=0.05)
    parser.add_argument("--fp-stalled", type=float, default=0.05)
    parser.add_argument("--stall", type=float, default=5.0)
    parser.add_argument("--fp-duration", type=float, default=120.0)
    parser.add_argument("--liars", type=float, default=0.10, help="share of lying nodes")
    parser.add_argument(
        "--liar-claims",
        choices=["high", "split"],
        default="high",
        help="liars claim 10⁹ (high) or 10⁹ to half their callers, a low N to the rest",
    )
    parser.add_argument("--est-rounds", type=int, default=12)
    parser.add_argument("--est-peers", type=int, default=4, help="handshakes per node per round")
    parser.add_argument("--est-view", type=int, default=60, help="others each node starts with")
    parser.add_argument("--est-listed", type=int, default=2, help="known nodes per answer")
    parser.add_argument("--items", type=int, default=10_000, help="content items placed")
    parser.add_argument("--replicas", type=int, default=DHT_REPLICATION_TARGET)
    parser.add_argument("--asns", type=int, default=50, help="ASNs the nodes are drawn from")
    parser.add_argument("--octets", type=int, default=100, help="IP first octets drawn from")
    parser.add_argument("--churn", type=int, default=20, help="joins and leaves placed after")
    parser.add_argument("--rep-items", type=int, default=2_000, help="items for replication")
    parser.add_argument("--blob-mb", type=float, default=5.0, help="modelled blob size, MB")
    parser.add_argument("--bandwidth-mb", type=float, default=10.0, help="modelled MB/s")
    parser.add_argument("--rtt", type=float, default=0.1, help="modelled round trip, s")
    parser.add_argument("--churn-hours", type=float, default=2.0)
    parser.add_argument("--churn-leave", type=float, default=0.10, help="share leaving per h")
    parser.add_argument("--churn-join", type=float, default=0.10, help="share joining per h")
    parser.add_argument(
        "--only",
        choices=["dissemination", "detection", "calm", "estimate", "placement", "replication"],
        default=None,
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"overlay: N={args.n}, seed {args.seed}, delay 1–10 ms uniform, memberlist defaults")
    sections = (
        ("dissemination", dissemination),
        ("detection", detection),
        ("calm", calm),
        ("estimate", estimate),
        ("placement", placement),
        ("replication", replication),
    )
    for name, run in sections:
        if args.only in (None, name):
            run(args)
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
