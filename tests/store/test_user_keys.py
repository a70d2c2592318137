"""Case-insensitive uniqueness of user ids, enforced by the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from qfzz.errors import ListenerExists
from qfzz.store import ListenerRecord, open_store
from qfzz.store._database import _MIGRATIONS


def _listener(store, user_id, now=1.0):
    store.listeners.create(
        ListenerRecord(user_id, {}, 0.2, 0.5, "varied", now),
        password_hash=None,
        token_digest=None,
        weights={},
    )


def test_two_spellings_of_one_id_cannot_both_be_stored(store):
    _listener(store, "Zoë")
    for twin in ("zoë", "ZOË", "zoe\u0308", "ｚｏë"):
        with pytest.raises(ListenerExists):
            _listener(store, twin)
    _listener(store, "田中")
    assert store.listeners.user_ids() == ["Zoë", "田中"]
    assert store.listeners.resolve("ZOË") == "Zoë"
    assert store.listeners.resolve("Zoë") == "Zoë"
    assert store.listeners.resolve("nobody") is None


def _upgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_the_migration_gives_existing_listeners_their_keys(store_url):
    _upgrade(store_url, "0007")
    engine = create_engine(store_url)
    rows = [  # ids the old rules let in: a case twin and a trailing newline
        ("admin\n", 1.0),
        ("Alice", 2.0),
        ("alice", 3.0),
        ("admin", 4.0),
        ("bob", 5.0),
    ]
    with engine.begin() as conn:
        for user_id, created in rows:
            conn.execute(
                text(
                    "insert into listeners (user_id, preferences, discovery_factor,"
                    " energy_level, tempo_preference, profile_interactions, created_at, role)"
                    " values (:u, '{}', 0.2, 0.5, 'varied', 0, :c, 'listener')"
                ),
                {"u": user_id, "c": created},
            )
    engine.dispose()
    store = open_store(store_url)  # upgrades to the newest revision
    try:
        with store.db.read() as conn:
            keys = dict(conn.execute(text("select user_id, user_key from listeners")).all())
        # the earliest holder of a spelling keeps it; an id that does not normalise to
        # itself gets no key (it can no longer be typed) and nothing can take its place
        assert keys == {
            "admin\n": None,
            "Alice": "alice",
            "alice": None,
            "admin": "admin",
            "bob": "bob",
        }
        assert store.listeners.resolve("ALICE") == "Alice"
        assert store.listeners.resolve("alice") == "alice"  # the exact id wins
        assert store.listeners.resolve("admin") == "admin"
        with pytest.raises(ListenerExists):
            _listener(store, "BOB")
    finally:
        store.close()
