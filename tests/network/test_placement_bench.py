"""The overlay bench's placement section, small: its shortcut (placing each item over the
head of its rendezvous order, recomputing only the items an event touches) counts the same
moved copies as placing every item over every node again, and its figures show the
design's prefix rule short of R where rendezvous is not."""

from __future__ import annotations

from qfzz.network import Population, place, prefix_only


def test_the_bench_shortcut_counts_what_a_full_recomputation_counts(overlay_bench):
    overlay = overlay_bench
    run = overlay.placement_run(120, 600, seed=5, asns=6, octets=8, churn=2)
    content = [p.content_id for p in run.rules["rendezvous"].placements]
    # Rebuild each event's population from the bench's own event list and recount.
    pool = {}
    for rule in ("prefix + rendezvous", "rendezvous"):
        kind = "prefix" if rule == "prefix + rendezvous" else "rendezvous"
        fig = run.rules[rule]
        for number, (_, present, estimate) in enumerate(run.events):
            if number not in pool:
                pool[number] = Population.of(
                    c for c in run.everyone.candidates if c.node_id in present
                )
            after = [place(c, pool[number], n_estimate=estimate, rule=kind) for c in content]
            if number == 0:
                assert after == fig.placements
                continue
            added = sum(
                len(set(a.holders) - set(b.holders))
                for a, b in zip(after, fig.placements, strict=True)
            )
            assert fig.added.get(number, 0) == added
    design = run.rules["prefix only"].placements
    assert design == [prefix_only(c, pool[0], n_estimate=run.n) for c in content]
    assert any(len(p.holders) < 3 for p in design)
    assert all(len(p.holders) == 3 for p in run.rules["rendezvous"].placements)
