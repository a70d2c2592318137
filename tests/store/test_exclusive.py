"""Station-wide locks on the shared database: a library scan or a schema upgrade runs in
one process at a time (PostgreSQL advisory locks; SQLite is one process's)."""

from __future__ import annotations

from sqlalchemy import text

from qfzz.store import Database, open_store


def _taken_elsewhere(store, name: str) -> bool:
    """Whether another connection finds the lock ``name`` held (it tries, never waits)."""
    key = store.db.lock_key(name)
    with store.db.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        if got:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return not got


def test_a_block_holds_its_named_lock_against_every_other_connection(postgres_url):
    store = open_store(postgres_url)
    try:
        assert not _taken_elsewhere(store, "library scan")
        with store.db.exclusive("library scan"):
            assert _taken_elsewhere(store, "library scan")
            assert not _taken_elsewhere(store, "schema upgrade")  # another name is free
            # another station's schema on the same server has its own locks
            other = Database(postgres_url.replace("search_path%3D", "search_path%3Dx"))
            assert other.lock_key("library scan") != store.db.lock_key("library scan")
            other.dispose()
        assert not _taken_elsewhere(store, "library scan")  # released on leaving
        try:
            with store.db.exclusive("library scan"):
                raise RuntimeError("the scan failed")
        except RuntimeError:
            pass
        assert not _taken_elsewhere(store, "library scan")  # and on an error
    finally:
        store.close()


def test_on_sqlite_the_block_simply_runs(sqlite_url):
    store = open_store(sqlite_url)
    try:
        ran = []
        with store.db.exclusive("library scan"):
            ran.append(True)
        assert ran == [True]
    finally:
        store.close()
