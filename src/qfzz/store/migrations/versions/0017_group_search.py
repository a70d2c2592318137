"""Full-text search over the library's groups: albums (name, artist) and artists (name),
with the track search's semantics (see ``qfzz.store._search``).

SQLite: FTS5 trigram tables ``album_search`` and ``artist_search`` holding a folded copy
(``qfzz_index_text``), filled from the existing groups and kept by triggers on ``albums``
and ``artists`` (whose one writer, ``store._groups``, thus cannot forget them).

PostgreSQL: stored generated columns ``albums.search_text`` and ``artists.search_text``
(``qfzz_search_text`` of migration 0015, with the missing fields ``NULL``) and a GIN
trigram index on each, built from the existing rows.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

from qfzz.store._search import register_sqlite_functions

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

#: table → (its FTS5 table, the indexed columns)
_GROUPS = {"albums": ("album_search", ("name", "artist")), "artists": ("artist_search", ("name",))}


def _sqlite(rows: str, fts: str, fields: tuple[str, ...]) -> list[str]:
    names = ", ".join(fields)
    folded = ", ".join(f"qfzz_index_text(new.{f})" for f in fields)
    changed = " OR ".join(f"old.{f} IS NOT new.{f}" for f in ("id", *fields))
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {folded});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, tokenize='trigram')",
        f"INSERT INTO {fts}(rowid, {names}) SELECT id, "
        + ", ".join(f"qfzz_index_text({f})" for f in fields)
        + f" FROM {rows}",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {rows} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF id, {names} ON {rows} WHEN {changed}"
        f" BEGIN DELETE FROM {fts} WHERE rowid = old.id; {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {rows} BEGIN"
        f" DELETE FROM {fts} WHERE rowid = old.id; END",
    ]


def _postgres(schema: str, trgm: str) -> list[str]:
    # Schema-qualified, like 0015: an index expression runs with any search_path.
    return [
        statement
        for rows, text in (("albums", "name, artist, NULL"), ("artists", "name, NULL, NULL"))
        for statement in (
            f"ALTER TABLE {rows} ADD COLUMN search_text text GENERATED ALWAYS AS"
            f' ("{schema}".qfzz_search_text({text})) STORED',
            f"CREATE INDEX ix_{rows}_search ON {rows}"
            f' USING gin (search_text "{trgm}".gin_trgm_ops)',
        )
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        register_sqlite_functions(bind.connection.driver_connection)
        for rows, (fts, fields) in _GROUPS.items():
            for statement in _sqlite(rows, fts, fields):
                op.execute(statement)
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    trgm = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    for statement in _postgres(schema, trgm):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for fts, _fields in _GROUPS.values():
            for trigger in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {fts}_{trigger}")
            op.execute(f"DROP TABLE {fts}")
        return
    for rows in _GROUPS:
        op.execute(f"DROP INDEX ix_{rows}_search")
        op.execute(f"ALTER TABLE {rows} DROP COLUMN search_text")
