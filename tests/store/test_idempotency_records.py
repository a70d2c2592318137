"""The idempotency records: committed with what they protect, a day long, pruned in bites."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from qfzz.models import IdempotencyKey, Interaction, InteractionType, QualityReport, TrackMeta
from qfzz.store import KeyTaken, ListenerRecord, StoredAnswer
from qfzz.store._group_commit import GroupCommitter
from qfzz.store.idempotency import PRUNE_PER_CLAIM, TTL
from qfzz.testing import SIX_GENRES, add_synthetic_tracks


def _key(key="k", fingerprint="f" * 64, principal="ann", route="POST /x"):
    return IdempotencyKey(principal, route, key, fingerprint)


def _listener(store, user_id):
    store.listeners.create(
        ListenerRecord(user_id, {}, 0.2, 0.5, "varied", 0.0),
        password_hash=None,
        token_digest=None,
        weights={},
    )


def _claim(store, key, answer, now):
    with store.db.write() as conn:
        return store.idempotency.claim(conn, key, answer, now=now)


def test_a_claim_is_found_with_its_answer_until_it_expires(store):
    assert _claim(store, _key(), {"n": 1.25, "ids": [1, 2]}, 100.0) is None
    found = store.idempotency.find(_key(fingerprint="other"), now=100.0 + TTL - 0.5)
    assert found == StoredAnswer(_key(), {"n": 1.25, "ids": [1, 2]}, 100.0)
    assert store.idempotency.find(_key(), now=100.0 + TTL) is None
    # scoped: another principal or route has its own key "k"
    assert store.idempotency.find(_key(principal="bob"), now=100.0) is None
    assert store.idempotency.find(_key(route="POST /y"), now=100.0) is None


def test_a_live_key_is_not_claimed_twice_and_an_expired_one_is_replaced(store):
    assert _claim(store, _key(), "first", 0.0) is None
    taken = _claim(store, _key(fingerprint="e" * 64), "second", TTL - 1)
    assert taken is not None and taken.answer == "first" and taken.key == _key()
    assert _claim(store, _key(fingerprint="e" * 64), "third", TTL) is None
    assert store.idempotency.find(_key(), now=TTL).answer == "third"
    assert store.idempotency.count() == 1


def test_a_taken_key_rolls_back_what_it_protects(store):
    report = QualityReport(0.9, {"metadata": 1.0}, "CC0", 1)
    record, ids = store.datasets.create(
        "one", report, [TrackMeta("A", "B")], ["c"], now=5.0, key=_key()
    )
    with pytest.raises(KeyTaken) as taken:
        store.datasets.create("two", report, [TrackMeta("C", "D")], ["d"], now=6.0, key=_key())
    assert store.datasets.answered(taken.value.record) == (record, ids)
    assert store.datasets.count() == 1 and store.tracks.count() == 1

    store.jobs.add("q", "job-1", "{}", now=7.0, key=_key(route="POST /jobs"))
    with pytest.raises(KeyTaken) as taken:
        store.jobs.add("q", "job-2", "{}", now=8.0, key=_key(route="POST /jobs"))
    assert store.jobs.answered(taken.value.record) == "job-1"
    assert store.jobs.counts("q", now=9.0)["ready"] == 1


def test_pruning_takes_the_oldest_expired_records_a_bounded_bite_at_a_time(store):
    for n in range(10):
        assert _claim(store, _key(f"old-{n}"), n, float(n)) is None
    assert store.idempotency.prune(now=TTL + 3.5, limit=2) == 2  # 0..3 expired: 0 and 1 go
    assert store.idempotency.find(_key("old-2"), now=TTL + 1.5) is not None
    assert store.idempotency.find(_key("old-1"), now=1.0) is None
    # every claim removes a few expired records, never the live ones
    assert _claim(store, _key("new"), "x", TTL + 100.0) is None
    assert store.idempotency.count() == 10 - 2 + 1 - PRUNE_PER_CLAIM
    assert store.idempotency.prune(now=TTL + 100.0) == 10 - 2 - PRUNE_PER_CLAIM
    assert store.idempotency.count() == 1


def test_a_taken_key_leaves_only_its_interaction_out_of_the_batch(store):
    ids = add_synthetic_tracks(store, SIX_GENRES[:3])
    for user in ("ann", "bob"):
        _listener(store, user)
    like = Interaction("ann", ids[0], InteractionType.LIKE, None, 1.0)
    [first] = store.interactions.write_batch([like], [_key()])
    assert isinstance(first, int)
    retried = Interaction("ann", ids[0], InteractionType.LIKE, None, 2.0)
    play = Interaction("bob", ids[1], InteractionType.PLAY, None, 2.0)
    twice = Interaction("bob", ids[2], InteractionType.SKIP, None, 2.0)
    result = store.interactions.write_batch(
        [retried, play, twice, twice], [_key(), None, _key("b"), _key("b")]
    )
    assert isinstance(result[0], StoredAnswer) and result[0].answer["created_at"] == 1.0
    assert isinstance(result[1], int) and isinstance(result[2], int)
    assert isinstance(result[3], StoredAnswer) and result[3].answer["type"] == "skip"
    assert [i.created_at for i in store.interactions.for_listener("ann")] == [1.0]
    assert [i.type for i in store.interactions.for_listener("bob")] == [
        InteractionType.PLAY,
        InteractionType.SKIP,
    ]


def test_the_group_commit_tells_each_caller_its_own_outcome(store):
    ids = add_synthetic_tracks(store, SIX_GENRES[:3])
    _listener(store, "ann")
    told: list[list[int]] = []
    store.interactions.listen_commits(lambda rows: told.append([i for i, _ in rows]))
    store.interactions.start()
    like = Interaction("ann", ids[0], InteractionType.LIKE, None, 1.0)
    assert store.interactions.submit([like], key=_key()).result() is None
    again = store.interactions.submit([like], key=_key()).result()
    assert again is not None and again.answer["type"] == "like"
    assert store.interactions.count() == 1 and [len(ids) for ids in told] == [1]
    with pytest.raises(ValueError):
        store.interactions.submit([like, like], key=_key("two"))


def test_a_caller_that_gave_up_waiting_does_not_stop_the_writer():
    written: list[list[int]] = []
    release = threading.Event()

    def write(items):
        release.wait(10)
        written.append(list(items))
        return [n * 10 for n in items]

    committer: GroupCommitter[int, int] = GroupCommitter(write)
    committer.start()
    try:
        blocker = committer.submit(0)  # the writer waits inside this batch
        gave_up: Future[int] = committer.submit(1)
        assert gave_up.cancel()
        release.set()
        assert blocker.result(10) == 0
        assert committer.submit(2).result(10) == 20  # the writer thread is still alive
    finally:
        committer.stop()
    assert [n for items in written for n in items] == [0, 1, 2]
