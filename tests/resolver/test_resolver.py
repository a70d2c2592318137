"""The resolver's pipeline over mock sources holding real audio: the original source first,
fallbacks in the learned order, every fetched file verified, nothing half-done left."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from qfzz.resolver import (
    InMemoryStats,
    MockSource,
    MockTrack,
    Resolved,
    Resolver,
    Smoothed,
    Unresolved,
    Verifier,
    Wanted,
)
from qfzz.testing import FakeClock, write_tone


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("songs")
    made = {}
    for name, freq, seconds in (("dawn", 330, 6.0), ("dusk", 550, 6.0), ("short", 440, 2.0)):
        path = root / f"{name}.mp3"
        write_tone(path, freq, seconds, 0.3)
        made[name] = path.read_bytes()
    return made


def _dawn(songs: dict[str, bytes], **kwargs: object) -> MockTrack:
    return MockTrack("Dawn Chorus", "The Larks", 6.0, songs["dawn"], **kwargs)  # type: ignore[arg-type]


WANTED = Wanted(1, "Dawn Chorus", "The Larks", duration=6.0, origin="b", origin_ref="7")


def _resolver(tmp_path: Path, sources, stats=None, **kwargs) -> Resolver:
    return Resolver(
        sources,
        stats=stats if stats is not None else InMemoryStats(),
        ranking=Smoothed(warmup=1000),
        verifier=Verifier(fingerprints=False),
        out_dir=tmp_path / "resolved",
        clock=FakeClock(),
        **kwargs,
    )


def _leftovers(tmp_path: Path) -> list[str]:
    folder = tmp_path / "resolved"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_match_at_the_origin_wins_at_once_and_teaches_nothing(tmp_path, songs):
    origin = MockSource("b", [_dawn(songs)])
    fallback = MockSource("local", [_dawn(songs)])
    stats = InMemoryStats()
    outcome = _resolver(tmp_path, [fallback, origin], stats).resolve(WANTED)
    assert isinstance(outcome, Resolved) and outcome.source == "b"
    assert outcome.path.read_bytes() == songs["dawn"]
    assert fallback.calls == []  # never asked
    assert stats.stats("b") == {}  # only fallback attempts are recorded
    assert _leftovers(tmp_path) == ["1.mp3"]


def test_fallbacks_follow_the_configured_order_and_each_attempt_is_recorded(tmp_path, songs):
    origin = MockSource("b", [_dawn(songs)], fail=True)
    empty = MockSource("first", [])
    broken = MockSource("second", [_dawn(songs)], fail=["download"])
    good = MockSource("third", [_dawn(songs)])
    never = MockSource("fourth", [_dawn(songs)])
    stats = InMemoryStats()
    outcome = _resolver(tmp_path, [empty, broken, origin, good, never], stats).resolve(WANTED)
    assert isinstance(outcome, Resolved) and outcome.source == "third"
    assert [(a.source, a.ok, a.fallback) for a in outcome.attempts] == [
        ("b", False, False),
        ("first", False, True),
        ("second", False, True),
        ("third", True, True),
    ]
    assert never.calls == []  # the first acceptable result stops the search
    recorded = stats.stats("b")
    assert {name: (s.attempts, s.successes) for name, s in recorded.items()} == {
        "first": (1, 0),
        "second": (1, 0),
        "third": (1, 1),
    }
    assert _leftovers(tmp_path) == ["1.mp3"]  # the failed download left no .part


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("garbage", "does not decode"),
        ("short", "lasts 2.0 s"),
    ],
)
def test_a_wrong_file_is_never_resolved_and_the_next_source_is_tried(tmp_path, songs, bad, why):
    if bad == "garbage":
        liar = MockSource("liar", [_dawn(songs)], garbage=True)
    else:  # right names, another recording
        liar = MockSource("liar", [MockTrack("Dawn Chorus", "The Larks", 6.0, songs["short"])])
    good = MockSource("good", [_dawn(songs)])
    outcome = _resolver(tmp_path, [liar, good]).resolve(WANTED)
    assert isinstance(outcome, Resolved) and outcome.source == "good"
    assert outcome.attempts[0].source == "liar" and why in outcome.attempts[0].reason
    assert _leftovers(tmp_path) == ["1.mp3"]


def test_nothing_found_anywhere_is_unresolved_with_every_reason(tmp_path, songs):
    other = MockSource("other", [MockTrack("Something Else", "Nobody", 6.0, songs["dusk"])])
    down = MockSource("down", [], fail=True)
    outcome = _resolver(tmp_path, [other, down]).resolve(WANTED)
    assert isinstance(outcome, Unresolved)
    assert "other:" in outcome.reason and "down: failed" in outcome.reason
    assert _leftovers(tmp_path) == []


def test_an_acceptable_match_at_the_origin_waits_for_the_fallbacks(tmp_path, songs):
    # unknown duration at the origin: acceptable, never high confidence
    origin = MockSource("b", [MockTrack("Dawn Chorus", "The Larks", None, songs["dawn"])])
    fallback = MockSource("other", [], fail=True)
    outcome = _resolver(tmp_path, [fallback, origin]).resolve(WANTED)
    assert isinstance(outcome, Resolved) and outcome.source == "b"
    assert [a.source for a in outcome.attempts] == ["b", "other", "b"]


def test_a_failing_statistics_database_never_fails_an_item(tmp_path, songs, caplog):
    class Broken:
        def stats(self, origin):
            raise OSError("disk gone")

        def record(self, *args, **kwargs):
            raise OSError("disk gone")

    outcome = _resolver(tmp_path, [MockSource("only", [_dawn(songs)])], Broken()).resolve(WANTED)
    assert isinstance(outcome, Resolved)
    assert "disk gone" in caplog.text


def test_many_tracks_through_the_two_pools_each_finish_once(tmp_path, songs):
    titles = [f"Song {n}" for n in range(40)]
    holder = MockSource(
        "holder",
        [
            MockTrack(t, "Band", 6.0, songs["dawn" if n % 2 else "dusk"])
            for n, t in enumerate(titles)
        ],
    )
    flaky = MockSource(
        "flaky", [MockTrack(t, "Band", 6.0, songs["dusk"]) for t in titles], garbage=True
    )
    wanted = [Wanted(n + 1, t, "Band", 6.0, origin="somewhere") for n, t in enumerate(titles)]
    wanted.append(Wanted(999, "Missing", "Nobody", 6.0))
    seen: list[int] = []
    lock = threading.Lock()

    def done(outcome) -> None:
        with lock:
            seen.append(outcome.wanted.track_id)

    resolver = _resolver(
        tmp_path, [flaky, holder], resolving_workers=3, fetching_workers=2, ready_capacity=2
    )
    resolved, unresolved = resolver.resolve_all(iter(wanted), done)
    assert (resolved, unresolved) == (40, 1)
    assert sorted(seen) == sorted(w.track_id for w in wanted)  # each exactly once
    assert _leftovers(tmp_path) == sorted(f"{n}.mp3" for n in range(1, 41))


def test_a_stop_admits_no_more_tracks(tmp_path, songs):
    stop = threading.Event()
    stop.set()
    resolver = _resolver(tmp_path, [MockSource("holder", [_dawn(songs)])])
    assert resolver.resolve_all([WANTED] * 5, lambda outcome: None, stop=stop) == (0, 0)


def test_leftovers_of_a_crashed_run_are_removed(tmp_path, songs):
    folder = tmp_path / "resolved"
    folder.mkdir()
    (folder / ".5.abcd.part.mp3").write_bytes(b"half")
    (folder / "4.mp3").write_bytes(songs["dawn"])
    assert _resolver(tmp_path, []).remove_leftovers() == 1
    assert _leftovers(tmp_path) == ["4.mp3"]


def test_a_source_that_times_out_is_a_failed_attempt_with_its_time(tmp_path, songs):
    clock = FakeClock()
    slow = MockSource("slow", [_dawn(songs)], latency=30.0, timeout=10.0, sleep=clock.advance)
    good = MockSource("good", [_dawn(songs)])
    stats = InMemoryStats()
    resolver = Resolver(
        [slow, good],
        stats=stats,
        ranking=Smoothed(),
        verifier=Verifier(fingerprints=False),
        out_dir=tmp_path / "resolved",
        clock=clock,
    )
    outcome = resolver.resolve(Wanted(1, "Dawn Chorus", "The Larks", duration=6.0))
    assert isinstance(outcome, Resolved) and outcome.source == "good"
    first = outcome.attempts[0]
    assert (first.source, first.ok, first.seconds) == ("slow", False, 10.0)
    recorded = stats.stats("unknown")["slow"]
    assert (recorded.attempts, recorded.successes, recorded.mean_seconds) == (1, 0, 10.0)
