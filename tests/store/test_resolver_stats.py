"""The resolver's side database: its own file, the design's table, atomic upserts."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError

from qfzz.models import SourceStats, record_source_attempt
from qfzz.store import RESOLVER_STATS_FILE, ResolverStatsRepository

DAY = 24 * 3600.0
DESIGN_COLUMNS = [
    "origin_source",
    "candidate_source",
    "attempt_count",
    "resolve_success_count",
    "last_attempt_at",
    "last_success_at",
    "created_at",
    "updated_at",
]
THOMPSON_COLUMNS = ["decayed_successes", "decayed_failures", "mean_seconds"]


def _schema(path: Path) -> tuple[list[tuple[str, int]], list[tuple[str, list[str]]]]:
    """(column, primary-key position) in table order, and (index, its columns)."""
    with sqlite3.connect(path) as conn:
        columns = [
            (row[1], row[5]) for row in conn.execute("PRAGMA table_info(resolver_source_stats)")
        ]
        indexes = [
            (row[1], [c[2] for c in conn.execute(f"PRAGMA index_info('{row[1]}')")])
            for row in conn.execute("PRAGMA index_list(resolver_source_stats)")
        ]
    return columns, indexes


def test_the_file_and_table_appear_at_first_use_at_the_configured_path(tmp_path):
    path = tmp_path / "not-yet" / "stats.db"
    repo = ResolverStatsRepository(path)
    assert not path.exists() and not path.parent.exists()  # nothing at construction
    assert repo.stats("qq") == {}
    assert path.is_file()
    columns, indexes = _schema(path)
    assert [name for name, _ in columns] == DESIGN_COLUMNS + THOMPSON_COLUMNS
    assert [name for name, pk in columns if pk] == ["origin_source", "candidate_source"]
    assert {tuple(cols) for _, cols in indexes} >= {("origin_source",)}
    with sqlite3.connect(path) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert tables == {"resolver_source_stats"}  # its own file: nothing of the main schema
    repo.close()


def test_default_file_name_in_the_data_directory(tmp_path):
    repo = ResolverStatsRepository.in_data_dir(tmp_path)
    repo.record("qq", "local", success=True, seconds=0.1, now=1.0)
    assert (tmp_path / "resolver_stats.db").is_file()
    assert RESOLVER_STATS_FILE == "resolver_stats.db"
    repo.close()


def test_attempts_update_counts_times_and_means(tmp_path):
    repo = ResolverStatsRepository(tmp_path / "s.db")
    repo.record("qq", "b", success=False, seconds=2.0, now=100.0)
    repo.record("qq", "b", success=True, seconds=1.0, now=110.0)
    repo.record("qq", "b", success=False, seconds=3.0, now=120.0)
    got = repo.stats("qq")["b"]
    assert (got.attempts, got.successes) == (3, 1)
    assert (got.last_attempt_at, got.last_success_at, got.updated_at) == (120.0, 110.0, 120.0)
    assert got.decayed_successes == pytest.approx(1.0, rel=1e-4)  # 10-20 s of a 7-day half-life
    assert got.decayed_failures == pytest.approx(2.0, rel=1e-4)
    assert got.mean_seconds == pytest.approx(2.0, rel=1e-3)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        created = conn.execute("SELECT created_at FROM resolver_source_stats").fetchone()[0]
    assert created == 100.0  # set once, by the insert
    repo.close()


def test_sql_update_rule_is_the_models_rule(tmp_path):
    """The upsert computes in SQL what record_source_attempt computes in Python: decay
    over a half-life, the evidence cap, the weighted duration mean."""
    repo = ResolverStatsRepository(tmp_path / "s.db", half_life_seconds=DAY, max_evidence=10)
    expected: SourceStats | None = None
    outcomes = [True] * 14 + [False, True, False, False]
    for n, success in enumerate(outcomes):
        now = 1000.0 + n * 0.3 * DAY
        seconds = 0.5 + (n % 4)
        repo.record("qq", "b", success=success, seconds=seconds, now=now)
        expected = record_source_attempt(
            expected,
            success=success,
            seconds=seconds,
            now=now,
            half_life_seconds=DAY,
            max_evidence=10,
        )
    got = repo.stats("qq")["b"]
    assert expected is not None
    assert (got.attempts, got.successes, got.updated_at) == (
        expected.attempts,
        expected.successes,
        expected.updated_at,
    )
    assert got.decayed_successes == pytest.approx(expected.decayed_successes)
    assert got.decayed_failures == pytest.approx(expected.decayed_failures)
    assert got.mean_seconds == pytest.approx(expected.mean_seconds)
    assert got.decayed_successes + got.decayed_failures <= 10 + 1e-9
    repo.close()


def test_counts_halve_over_a_half_life(tmp_path):
    repo = ResolverStatsRepository(tmp_path / "s.db", half_life_seconds=DAY)
    repo.record("qq", "b", success=True, seconds=1.0, now=0.0)
    repo.record("qq", "b", success=False, seconds=1.0, now=DAY)
    got = repo.stats("qq")["b"]
    assert got.decayed_successes == pytest.approx(0.5)
    assert got.decayed_failures == pytest.approx(1.0)
    assert (got.attempts, got.successes) == (2, 1)  # the design's counts never decay
    repo.close()


def test_origins_are_kept_apart(tmp_path):
    repo = ResolverStatsRepository(tmp_path / "s.db")
    repo.record("qq", "b", success=True, seconds=1.0, now=1.0)
    repo.record("netease", "b", success=False, seconds=1.0, now=1.0)
    repo.record("netease", "local", success=False, seconds=1.0, now=1.0)
    assert set(repo.stats("qq")) == {"b"}
    assert repo.stats("qq")["b"].successes == 1
    assert set(repo.stats("netease")) == {"b", "local"}
    assert repo.stats("netease")["b"].successes == 0
    assert repo.stats("kugou") == {}
    repo.close()


def test_a_restart_keeps_the_statistics(tmp_path):
    path = tmp_path / "s.db"
    first = ResolverStatsRepository(path)
    for n in range(5):
        first.record("qq", "b", success=n != 2, seconds=1.0, now=float(n))
    before = first.stats("qq")
    first.close()
    second = ResolverStatsRepository(path)
    assert second.stats("qq") == before
    assert (before["b"].attempts, before["b"].successes) == (5, 4)
    second.close()


def test_concurrent_writers_lose_no_attempt(tmp_path):
    """Threads on one repository and a second repository on the same file (as another
    process would open it) all count."""
    path = tmp_path / "s.db"
    repos = [ResolverStatsRepository(path), ResolverStatsRepository(path)]
    per_thread = 40

    def work(n: int) -> None:
        repo = repos[n % 2]
        for i in range(per_thread):
            repo.record("qq", "b", success=i % 2 == 0, seconds=1.0, now=float(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = repos[0].stats("qq")["b"]
    assert (got.attempts, got.successes) == (6 * per_thread, 6 * per_thread // 2)
    for repo in repos:
        repo.close()


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_a_bad_duration_is_refused_and_nothing_stored(tmp_path, seconds):
    repo = ResolverStatsRepository(tmp_path / "s.db")
    with pytest.raises(ValueError, match="duration"):
        repo.record("qq", "b", success=True, seconds=seconds, now=1.0)
    assert repo.stats("qq") == {}
    repo.close()


@pytest.mark.parametrize(("origin", "candidate"), [("", "b"), ("qq", ""), ("qq", "x" * 65)])
def test_a_bad_source_name_is_refused_and_nothing_stored(tmp_path, origin, candidate):
    repo = ResolverStatsRepository(tmp_path / "s.db")
    with pytest.raises(ValueError, match="source name"):
        repo.record(origin, candidate, success=True, seconds=1.0, now=1.0)
    assert repo.stats(origin) == {}
    repo.close()


def test_a_corrupt_file_fails_loudly(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database, just text " * 200)
    repo = ResolverStatsRepository(path)
    with pytest.raises(DatabaseError):
        repo.stats("qq")
    with pytest.raises(DatabaseError):
        repo.record("qq", "b", success=True, seconds=1.0, now=1.0)


def test_a_path_that_cannot_be_a_file_fails_and_is_retried(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    repo = ResolverStatsRepository(blocker / "s.db")
    with pytest.raises(OSError):
        repo.stats("qq")
    blocker.unlink()  # the operator fixes it: the next use succeeds
    repo.record("qq", "b", success=True, seconds=1.0, now=1.0)
    assert repo.stats("qq")["b"].attempts == 1
    repo.close()
