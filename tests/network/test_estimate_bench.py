"""The overlay bench's estimate section, small: the real handshake and ``n_estimate`` with
10% liars keep honest nodes within 5% of N once they hold enough reports, while the
design's ``max(N_local, reports)`` on the same reports is off by the liars' 10⁹."""

from __future__ import annotations

import statistics


def test_ten_percent_liars_leave_honest_estimates_within_five_percent(overlay_bench):
    overlay = overlay_bench
    n = 150
    rounds = list(
        overlay.estimate_rounds(n, seed=4, rounds=10, peers=4, view=20, listed=2, liars=0.1)
    )
    first, last = rounds[0], rounds[-1]
    assert first.local < n / 2  # the nodes start from partial views
    assert statistics.median(first.errors) > 0.05
    assert len(last.errors) == n - 15  # honest nodes only
    assert last.reports >= 30
    assert overlay.percentile(last.errors, 99) <= 0.05
    assert last.captured == 0
    # The naive rule on the same reports: one liar's 10⁹ wins at every honest node that
    # holds a liar's report (at N=150 a few hold none).
    assert sum(e > 1_000 for e in last.naive) >= 0.9 * len(last.naive)
