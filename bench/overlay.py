"""The overlay's failure detector and dissemination at 1,000 nodes, in virtual time.

Runs the real ``qfzz.network._swim`` code for N nodes over the in-memory lossy network
(seeded RNG, uniform per-message delay) and prints, against issue 14's targets:

* dissemination: gossip rounds (200 ms each) until 99.99% of the other live nodes know
  a join and a leave, with 10% loss (target ≤ 8);
* detection: time until every live node marks a crashed node dead, p50/p99 over several
  crashes, with 10% loss (target p99 ≤ 20 s with the default timings);
* calm: false positives (a live node declared dead, counted once per node and
  incarnation) per 10,000 node-hours with 5% loss while 5% of the nodes stall for 5 s
  at a time (target ≤ 1);
* CPU time (this process, simulator included) per node per second of simulated time.

The starting cluster is installed as already converged (every node knows every other),
which is what a cluster looks like after its joins have settled; joins are measured
separately. Not measured here: the N estimate (the records/HLL part of issue 14).

    python3 run.py bench overlay [--n 1000 --loss 0.1 --seed 1 --fp-duration 600]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from qfzz.network import Simulation
from qfzz.network import SwimState as State


def percentile(values: list[float], p: float) -> float:
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
        sim.loop.at(sim.rng.uniform(0.0, 30.0), None, lambda n=node_id: stall_cycle(n))
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
        bound = 3 / node_hours * 10_000
        print(
            f"  (zero observed: the 95% upper bound at this duration is {bound:.1f} per "
            "10,000 node-hours; run longer with --fp-duration to tighten it)"
        )
    print(
        f"cpu: {cpu / (args.n * args.fp_duration) * 1e6:.1f} µs of CPU per node per "
        f"simulated second ({sim.loop.events_run} events, {sim.network.sent} messages, "
        f"{cpu:.1f} s total)"
    )


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
    parser.add_argument("--only", choices=["dissemination", "detection", "calm"])
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"overlay: N={args.n}, seed {args.seed}, delay 1–10 ms uniform, memberlist defaults")
    for name, run in (("dissemination", dissemination), ("detection", detection), ("calm", calm)):
        if args.only in (None, name):
            run(args)
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
