"""Engine set-up and schema upgrades for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed transaction survives the
process being killed (it is in the WAL file), and readers never block the writer. Write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout
instead of failing halfway with a stale snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError

from qfzz.errors import UnstorableValue
from qfzz.store._search import register_sqlite_functions

_MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "qfzz_write"


def head_revision() -> str:
    """The newest migration's revision: migrations are numbered files (``0017_….py`` is
    revision ``0017``), each revising the one before (tests/store checks this against
    Alembic's own view of the head)."""
    return max(p.name.split("_", 1)[0] for p in (_MIGRATIONS / "versions").glob("[0-9]*_*.py"))


class Database:
    """A connection factory with a read and a write transaction helper."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _refused_values(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with _refused_values(), self.engine.connect() as raw:
            conn = raw.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Run the block while no other process sharing this database runs a block of the
        same ``name`` (a library scan, a schema upgrade): on PostgreSQL a session advisory
        lock, which the others wait for and which ends with the connection if the holder
        dies; on SQLite nothing (one writer at a time is its own rule, and a station on
        SQLite is one process)."""
        if self.is_sqlite:
            yield
            return
        key = self.lock_key(name)
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()

    def lock_key(self, name: str) -> int:
        """The advisory lock ``exclusive(name)`` takes: of this database and schema only
        (advisory locks are server-wide; other stations may share the server)."""
        digest = hashlib.blake2b(f"{self.fingerprint()}:{name}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), signed=True)

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent). A database already
        there is left alone without importing Alembic (a tenth of a second of every
        start-up); two processes starting at once upgrade one after the other."""
        if self.revision() == head_revision():
            return
        from alembic import command
        from alembic.config import Config

        with self.exclusive("schema upgrade"):
            if self.revision() == head_revision():  # the other process did it meanwhile
                return
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")

    def fingerprint(self) -> str:
        """A digest naming this database (its URL without the password): what a copy of
        its data kept elsewhere is checked against."""
        where = make_url(self.url).render_as_string(hide_password=True)
        return hashlib.sha256(where.encode()).hexdigest()

    def revision(self) -> str | None:
        """The schema's Alembic revision (None: never migrated)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return None if found is None else str(found)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _refused_values() -> Iterator[None]:
    """A value the database cannot hold is the caller's input, not a server fault.

    The API bounds its input before it gets here; this is the last line: PostgreSQL's data
    exceptions (NUL in text, a number out of range, text too long for its column) and
    SQLite's refusal of integers beyond 64 bits become ``UnstorableValue`` (a 4xx),
    and the transaction is rolled back as for any error.
    """
    try:
        yield
    except DataError as exc:
        raise UnstorableValue(f"a value cannot be stored: {exc.orig or exc}") from exc
    except OverflowError as exc:
        raise UnstorableValue(f"a number is out of range: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        register_sqlite_functions(dbapi_connection)  # the search index's triggers call it

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
