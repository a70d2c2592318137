"""The fallback order: the design's warmup and smoothed rate, Thompson sampling, grouping by
origin, and a side database that fails without failing an item."""

from __future__ import annotations

import logging
import random
from collections import Counter

import pytest

from qfzz.resolver import (
    InMemoryStats,
    Smoothed,
    SourceStats,
    Thompson,
    fallback_order,
    record_attempt,
)
from qfzz.store import ResolverStatsRepository

CONFIGURED = ["local", "peers", "b", "jamendo", "archive"]
DAY = 24 * 3600.0


def _stats(attempts: int, successes: int, *, seconds: float = 1.0, at: float = 0.0) -> SourceStats:
    return SourceStats(
        attempts=attempts,
        successes=successes,
        last_attempt_at=at,
        last_success_at=at if successes else None,
        decayed_successes=float(successes),
        decayed_failures=float(attempts - successes),
        mean_seconds=seconds,
        updated_at=at,
    )


def _record(repo, origin: str, candidate: str, successes: int, failures: int, **kw) -> None:
    """``successes`` and ``failures`` evenly interleaved (as a steady success rate gives)."""
    seconds = kw.get("seconds", 1.0)
    now = kw.get("now", 0.0)
    n = successes + failures
    for i in range(n):
        success = (i + 1) * successes // n > i * successes // n
        repo.record(origin, candidate, success=success, seconds=seconds, now=now)


# --- smoothed: the design's rule -------------------------------------------------------------


def test_warmup_keeps_the_configured_order_until_1000_attempts():
    """999 attempts in all for the origin: the configured order, though the last configured
    source is clearly the best; the 1000th attempt switches to the ranked order."""
    ranking = Smoothed()
    stats = {"local": _stats(500, 10), "archive": _stats(499, 490)}
    assert ranking.order(CONFIGURED, stats, 0.0) == CONFIGURED
    stats["archive"] = _stats(500, 491)  # the 1000th attempt
    assert ranking.order(CONFIGURED, stats, 0.0)[0] == "archive"


def test_warmup_counts_the_origins_attempts_in_the_repository():
    repo = InMemoryStats()
    _record(repo, "qq", "archive", 600, 0)
    _record(repo, "qq", "local", 0, 399)
    assert fallback_order(Smoothed(), repo, "qq", CONFIGURED, 0.0) == CONFIGURED
    _record(repo, "qq", "local", 0, 1)
    assert fallback_order(Smoothed(), repo, "qq", CONFIGURED, 0.0)[0] == "archive"


def test_after_warmup_the_order_follows_the_smoothed_rate_with_ties_in_configured_order():
    stats = {
        "local": _stats(400, 100),  # 101/402 ≈ 0.25
        "peers": _stats(200, 100),  # 101/202 = 0.5
        "b": _stats(300, 270),  # 271/302 ≈ 0.90
        "jamendo": _stats(100, 49),  # 50/102 ≈ 0.49
        # archive: never tried, 1/2 — ties with peers, which is configured first
    }
    assert Smoothed().order(CONFIGURED, stats, 0.0) == ["b", "peers", "archive", "jamendo", "local"]


def test_rerank_after_warmup_as_outcomes_arrive():
    repo = InMemoryStats()
    _record(repo, "qq", "local", 450, 50)  # 0.90
    _record(repo, "qq", "b", 400, 100)  # 0.80
    assert fallback_order(Smoothed(), repo, "qq", CONFIGURED, 0.0)[:2] == ["local", "b"]
    _record(repo, "qq", "local", 0, 100)  # local's rate falls to 451/602 ≈ 0.75
    assert fallback_order(Smoothed(), repo, "qq", CONFIGURED, 0.0)[:2] == ["b", "local"]


def test_top_two_first():
    """The two best sources are tried first, whatever their configured places."""
    assert Smoothed.TOP_FIRST == 2
    stats = {
        "local": _stats(300, 30),
        "peers": _stats(300, 60),
        "b": _stats(100, 50),
        "jamendo": _stats(200, 180),
        "archive": _stats(100, 95),
    }
    order = Smoothed().order(CONFIGURED, stats, 0.0)
    assert order[:2] == ["archive", "jamendo"]


def test_continuation_past_the_top_two_is_in_ranked_order_and_complete():
    """When the top two fail, the rest follow by rate (not in configured order), and no
    configured source is dropped."""
    stats = {
        "local": _stats(300, 30),  # 0.10
        "peers": _stats(300, 60),  # 0.20
        "b": _stats(100, 50),  # 0.50
        "jamendo": _stats(200, 180),
        "archive": _stats(100, 95),
    }
    order = Smoothed().order(CONFIGURED, stats, 0.0)
    assert order[2:] == ["b", "peers", "local"]
    assert sorted(order) == sorted(CONFIGURED)


def test_repeated_configured_names_are_tried_once():
    assert Smoothed().order(["b", "local", "b"], {}, 0.0) == ["b", "local"]


def test_grouping_one_origins_ranking_never_affects_anothers(tmp_path):
    repo = ResolverStatsRepository(tmp_path / "resolver_stats.db")
    _record(repo, "qq", "archive", 900, 0)
    _record(repo, "qq", "local", 0, 300)
    _record(repo, "netease", "local", 10, 0)
    assert fallback_order(Smoothed(), repo, "qq", CONFIGURED, 0.0)[0] == "archive"
    assert fallback_order(Smoothed(), repo, "netease", CONFIGURED, 0.0) == CONFIGURED  # warmup
    warm = Smoothed(warmup=0)
    assert fallback_order(warm, repo, "netease", CONFIGURED, 0.0)[0] == "local"
    assert fallback_order(warm, repo, "kugou", CONFIGURED, 0.0) == CONFIGURED  # nothing known
    repo.close()


def test_restart_keeps_the_learned_order(tmp_path):
    path = tmp_path / "resolver_stats.db"
    first = ResolverStatsRepository(path)
    _record(first, "qq", "jamendo", 700, 20)
    _record(first, "qq", "local", 30, 300)
    learned = fallback_order(Smoothed(), first, "qq", CONFIGURED, 0.0)
    first.close()
    assert learned[0] == "jamendo"
    second = ResolverStatsRepository(path)
    assert fallback_order(Smoothed(), second, "qq", CONFIGURED, 0.0) == learned
    second.close()


# --- a failing side database ----------------------------------------------------------------


def test_a_corrupt_side_database_falls_back_to_the_configured_order(tmp_path, caplog):
    path = tmp_path / "resolver_stats.db"
    path.write_bytes(b"garbage, not SQLite " * 500)
    repo = ResolverStatsRepository(path)
    with caplog.at_level(logging.WARNING, logger="qfzz.resolver"):
        order = fallback_order(Smoothed(warmup=0), repo, "qq", ["b", "b", "local"], 0.0)
        record_attempt(repo, "qq", "b", True, 1.0, 0.0)  # swallowed, logged
    assert order == ["b", "local"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "configured order" in warnings[0].getMessage()
    assert "not recorded" in warnings[1].getMessage()


def test_an_unusable_path_falls_back_to_the_configured_order(tmp_path, caplog):
    (tmp_path / "data").write_text("a file where the data folder should be")
    repo = ResolverStatsRepository(tmp_path / "data" / "resolver_stats.db")
    with caplog.at_level(logging.WARNING, logger="qfzz.resolver"):
        assert fallback_order(Thompson(random.Random(1)), repo, "qq", CONFIGURED, 0.0) == CONFIGURED
    assert any("unavailable" in r.getMessage() for r in caplog.records)


def test_any_repository_exception_falls_back():
    class Broken:
        def stats(self, origin: str) -> dict[str, SourceStats]:
            raise RuntimeError("disk on fire")

        def record(self, origin, candidate, *, success, seconds, now):
            raise MemoryError("out of memory")

    assert fallback_order(Smoothed(0), Broken(), "qq", CONFIGURED, 0.0) == CONFIGURED
    record_attempt(Broken(), "qq", "b", False, 1.0, 0.0)  # does not raise


# --- thompson -------------------------------------------------------------------------------


def _thompson_orders(seed: int, stats: dict[str, SourceStats], n: int = 30) -> list[list[str]]:
    ranking = Thompson(random.Random(seed), half_life_seconds=DAY)
    return [ranking.order(CONFIGURED, stats, 0.0) for _ in range(n)]


def test_thompson_is_deterministic_given_the_rng():
    stats = {"local": _stats(10, 5), "b": _stats(10, 6), "jamendo": _stats(3, 2)}
    assert _thompson_orders(7, stats) == _thompson_orders(7, stats)
    assert _thompson_orders(7, stats) != _thompson_orders(8, stats)  # it does sample
    for order in _thompson_orders(7, stats):
        assert sorted(order) == sorted(CONFIGURED)


def test_thompson_explores_sources_never_tried():
    stats = {"local": _stats(50, 35, seconds=3.0), "b": _stats(50, 30, seconds=3.0)}
    firsts = Counter(order[0] for order in _thompson_orders(3, stats, n=400))
    assert firsts["archive"] > 0 and firsts["peers"] > 0 and firsts["jamendo"] > 0
    assert firsts["local"] > firsts["archive"]  # but the known good one leads


def test_thompson_prefers_the_faster_source_at_equal_success():
    stats = {
        "local": _stats(100, 10, seconds=1.0),
        "peers": _stats(100, 10, seconds=1.0),
        "b": _stats(100, 80, seconds=4.0),
        "jamendo": _stats(100, 80, seconds=1.0),
        "archive": _stats(100, 10, seconds=1.0),
    }
    firsts = Counter(order[0] for order in _thompson_orders(5, stats, n=200))
    assert firsts["jamendo"] >= 190


def test_thompson_forgets_a_provider_that_breaks():
    """b served 300 tracks (90 %); then it breaks. The evidence cap lets its failures
    outweigh its past within tens of attempts; the smoothed rate still ranks it first."""
    repo = InMemoryStats(half_life_seconds=7 * DAY)
    _record(repo, "qq", "b", 300, 30, now=0.0)
    _record(repo, "qq", "jamendo", 140, 60, now=0.0)
    ranking = Thompson(random.Random(11), half_life_seconds=7 * DAY)
    firsts = Counter(ranking.order(CONFIGURED, repo.stats("qq"), 0.0)[0] for _ in range(100))
    assert firsts["b"] >= 95
    _record(repo, "qq", "b", 0, 60, now=3600.0)  # the break
    stats = repo.stats("qq")
    firsts = Counter(ranking.order(CONFIGURED, stats, 3600.0)[0] for _ in range(100))
    assert firsts["b"] <= 5
    assert Smoothed(warmup=0).order(CONFIGURED, stats, 3600.0)[0] == "b"  # never forgets


def test_thompson_discounts_old_evidence_by_its_half_life():
    """A provider that failed a month ago is no longer judged by it: after many
    half-lives its posterior is back near the prior, and it is tried again."""
    broken_long_ago = {
        "b": _stats(100, 0, seconds=1.0, at=0.0),
        "local": _stats(100, 40, seconds=1.0, at=0.0),
    }
    ranking = Thompson(random.Random(2), half_life_seconds=DAY)
    soon = Counter(ranking.order(["b", "local"], broken_long_ago, DAY)[0] for _ in range(200))
    later = Counter(ranking.order(["b", "local"], broken_long_ago, 30 * DAY)[0] for _ in range(200))
    assert soon["b"] == 0
    assert 60 <= later["b"] <= 140  # both about Beta(1, 1) again: a coin toss
    assert broken_long_ago["b"].discount(30 * DAY, DAY) == pytest.approx(0.5**30)


def test_rankings_refuse_nonsense_settings():
    with pytest.raises(ValueError):
        Smoothed(warmup=-1)
    with pytest.raises(ValueError):
        Thompson(random.Random(1), half_life_seconds=0)
    with pytest.raises(ValueError):
        InMemoryStats(max_evidence=0)
