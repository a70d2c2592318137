"""Stream key rows on SQLite and PostgreSQL: one digest per listener, found by its index,
replaced on regeneration, gone with the listener."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError

from qfzz.store import ListenerRecord
from qfzz.store._schema import listeners, stream_keys


def _add(store, user_id: str) -> None:
    record = ListenerRecord(user_id, {}, 0.2, 0.5, "varied", created_at=1.0)
    store.listeners.create(record, password_hash=None, token_digest=None, weights={})


def test_a_listener_has_one_key_which_a_new_one_replaces(store):
    _add(store, "ann")
    repo = store.listeners
    assert repo.stream_key_created("ann") is None
    repo.set_stream_key("ann", "a" * 64, now=10.0)
    assert repo.stream_key_owner("a" * 64) == ("ann", "a" * 64)
    assert repo.stream_key_created("ann") == 10.0
    repo.set_stream_key("ann", "b" * 64, now=20.0)
    assert repo.stream_key_owner("a" * 64) is None  # regenerating revoked it
    assert repo.stream_key_owner("b" * 64) == ("ann", "b" * 64)
    assert repo.stream_key_created("ann") == 20.0
    assert repo.delete_stream_key("ann") is True
    assert repo.delete_stream_key("ann") is False
    assert repo.stream_key_owner("b" * 64) is None and repo.stream_key_created("ann") is None


def test_digests_are_unique_and_indexed(store):
    _add(store, "ann")
    _add(store, "bo")
    store.listeners.set_stream_key("ann", "c" * 64, now=1.0)
    with pytest.raises(IntegrityError):
        store.listeners.set_stream_key("bo", "c" * 64, now=1.0)
    assert store.listeners.stream_key_created("bo") is None  # nothing half-stored
    indexes = inspect(store.db.engine).get_indexes("stream_keys")
    assert [(i["column_names"], bool(i["unique"])) for i in indexes] == [(["digest"], True)]


def test_a_key_goes_with_its_listener(store):
    _add(store, "ann")
    store.listeners.set_stream_key("ann", "d" * 64, now=1.0)
    with store.db.write() as conn:
        conn.execute(delete(listeners).where(listeners.c.user_id == "ann"))
    assert store.listeners.stream_key_owner("d" * 64) is None
    with store.db.read() as conn:
        assert conn.execute(select(stream_keys)).all() == []


def test_a_key_needs_a_listener(store):
    with pytest.raises(IntegrityError):
        store.listeners.set_stream_key("nobody", "e" * 64, now=1.0)
