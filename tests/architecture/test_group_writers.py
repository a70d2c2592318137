"""The library's groups cannot go stale: one module writes them, one writes the tracks.

``store._groups`` keeps the albums, artists and genres tables in step with the tracks in
the transaction that changes them, called by every write method of ``store.tracks``. A
write to ``tracks`` anywhere else would skip that refresh; a write to a group table
anywhere else would be overwritten or contradict the tracks. This walks the syntax of
every module (and the benchmarks) for SQLAlchemy writes to those tables.
"""

from __future__ import annotations

import ast
from pathlib import Path

import qfzz

SRC = Path(qfzz.__file__).parent
BENCH = SRC.parent.parent / "bench"
GROUP_TABLES = {
    "albums",
    "artists",
    "album_genres",
    "genres",
    "album_plays",
    "album_ratings",
    "library_version",
}
#: Who may write what. bench/_catalog.py bulk-loads synthetic tracks and then rebuilds the
#: groups with ``store._groups.rebuild`` in the same transaction (checked below).
ALLOWED = {
    "store/tracks.py": {"tracks"},
    "store/_groups.py": GROUP_TABLES,
    "_catalog.py": {"tracks"},
}


def _written_tables(tree: ast.AST) -> set[str]:
    """Names of tables written by ``insert(t)``/``update(t)``/``delete(t)`` or
    ``t.insert()``/``t.update()``/``t.delete()``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in {"insert", "update", "delete"}
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            found.add(node.args[0].id)
        if (
            isinstance(func, ast.Attribute)
            and func.attr in {"insert", "update", "delete"}
            and isinstance(func.value, ast.Name)
        ):
            found.add(func.value.id)
    return found & (GROUP_TABLES | {"tracks"})


def test_only_the_track_repository_writes_tracks_and_only_groups_writes_groups():
    files = [*SRC.rglob("*.py"), *BENCH.glob("*.py")]
    assert len(files) > 100
    wrong = {}
    for path in files:
        name = path.relative_to(SRC).as_posix() if path.is_relative_to(SRC) else path.name
        written = _written_tables(ast.parse(path.read_text()))
        extra = written - ALLOWED.get(name, set())
        if extra:
            wrong[name] = sorted(extra)
    assert wrong == {}


def test_the_bench_catalog_rebuilds_the_groups_after_its_bulk_load():
    source = (BENCH / "_catalog.py").read_text()
    assert "_groups.rebuild(conn)" in source


def test_every_track_write_method_refreshes_the_groups():
    tree = ast.parse((SRC / "store" / "tracks.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and _written_tables(node) == {"tracks"}:
            calls = {
                n.func.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name)
                and n.func.value.id == "_groups"
            }
            # dataset records are inserted unplayable: no group holds them
            assert "refresh" in calls or node.name == "insert_metadata_tracks", node.name
