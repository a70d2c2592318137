"""Hostile dataset files and records: bounded before parsing, refused with a clear message.

Before the fix, deeply nested JSON ended in a RecursionError (a raw traceback from
``qfzz datasets import``), and a NUL in a title ended in a 500 on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from qfzz.api import create_api
from qfzz.app import build_station, command_line
from qfzz.catalog.dataset_file import (
    MAX_JSON_DEPTH,
    check_text,
    json_depth_exceeds,
    read_dataset_file,
)
from qfzz.errors import InvalidDataset
from qfzz.settings import Settings
from qfzz.store import open_store

DEEP = "[" * 100_000 + "]" * 100_000
TRACKS = [
    {"title": f"T{i}", "artist": f"A{i % 5}", "genre": "folk", "duration": 180} for i in range(20)
]


@pytest.mark.parametrize(
    "content",
    [
        DEEP,
        '{"tracks": ' + DEEP + "}",
        '[{"title": "A", "artist": ' + "[" * 50_000 + "]" * 50_000 + "}]",
        "[" * 100_000,  # not even well formed: still no recursion
        '{"tracks": [{"title": "A", "artist": "B", "x": [[1]]}]}',
    ],
    ids=["list", "tracks", "value", "unclosed", "one-level-too-deep"],
)
def test_deeply_nested_json_is_refused_before_parsing(tmp_path: Path, content: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(content)
    with pytest.raises(InvalidDataset, match="nested more than 4 levels deep"):
        read_dataset_file(path)


def test_as_deep_as_a_dataset_goes_is_fine(tmp_path: Path) -> None:
    doc = {"tracks": [{"title": "A [1] {2}", "artist": '"[[[[[[', "tags": ["a", "b"]}]}
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    assert read_dataset_file(tmp_path / "ok.json")[0]["tags"] == ["a", "b"]


@given(st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c, max_size=3)))
def test_the_depth_check_agrees_with_the_parsed_depth(value: object) -> None:
    def depth(v: object) -> int:
        return 1 + max(map(depth, v), default=0) if isinstance(v, list) else 0

    assert json_depth_exceeds(json.dumps(value), MAX_JSON_DEPTH) == (depth(value) > 4)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(TRACKS))
    with pytest.raises(InvalidDataset, match="larger than 100 bytes"):
        read_dataset_file(path, max_bytes=100)
    assert read_dataset_file(path, max_bytes=path.stat().st_size) == TRACKS


def test_a_fifo_named_like_a_dataset_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "set.json")
    outcome: Future[object] = Future()

    def read() -> None:
        try:
            outcome.set_result(read_dataset_file(tmp_path / "set.json"))
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=read, daemon=True).start()
    with pytest.raises(InvalidDataset, match="a FIFO, not a regular file"):
        outcome.result(60)  # a hang guard, not a timing


@pytest.mark.parametrize(
    ("record", "where"),
    [
        ({"title": "A\x00B", "artist": "X"}, "record 1, field 'title' contains U+0000"),
        ({"title": "A", "artist": "\x1b[31mX"}, "record 1, field 'artist' contains U+001B"),
        (
            {"title": "A", "artist": "X", "note": ["ok", "\ud800"]},
            "field 'note'[1] contains U+D800",
        ),
        ({"title": "A", "artist": "X", "bad\x7f": 1}, "the field name 'bad\\x7f' contains U+007F"),
    ],
)
def test_control_characters_are_named_by_record_and_field(record, where) -> None:
    with pytest.raises(InvalidDataset, match=re.escape(where)):
        check_text("record 1", record)


def test_line_breaks_and_tabs_are_text() -> None:
    check_text("record 0", {"album": "multi\nline\r\nwith\ttabs", "title": "Ünïcode ✓"})


# --- the CLI and the API --------------------------------------------------------------

cli = command_line()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (DEEP, "nested more than 4 levels deep"),
        (json.dumps([{**TRACKS[0], "title": "A\x00B"}]), "record 1, field 'title' contains U+0000"),
    ],
    ids=["deep", "nul"],
)
def test_qfzz_datasets_import_says_what_is_wrong_and_exits_non_zero(tmp_path, content, message):
    path = tmp_path / "set.json"
    path.write_text(content)
    data = tmp_path / "data"
    result = CliRunner().invoke(
        cli, ["datasets", "import", str(path), "--license", "CC0", "--data-dir", str(data)]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    store = open_store(Settings(data_dir=data).resolved_database_url)
    try:
        assert store.datasets.count() == 0
    finally:
        store.close()


@pytest.fixture
def admin(store, tmp_path, clock):
    station = build_station(
        Settings(data_dir=tmp_path / "d", demo_library=False), store=store, clock=clock
    )
    station.start()
    registration = station.register_listener("boss", {}, password="pw-1234")
    station.accounts.make_admin("boss")
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        client.headers["Authorization"] = f"Bearer {registration.token}"
        yield client, station
    station.close()


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [("d", "title", "A\x00B"), ("d", "album", "\x07"), ("d\x00", None, None)],
)
def test_api_refuses_control_characters_with_422_and_stores_nothing(admin, name, field, value):
    client, station = admin
    tracks = [dict(t) for t in TRACKS]
    if field is not None:
        tracks[3][field] = value
    answer = client.post(
        "/api/v1/datasets", json={"name": name, "license": "CC-BY-4.0", "tracks": tracks}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    # The API's wire types refuse control characters first (the importer would too, for
    # the CLI and background jobs): either way the answer names the record and field.
    assert body["error"] in ("invalid_request", "invalid_dataset"), body
    assert "control characters" in body["detail"] or "U+00" in body["detail"]
    assert ("tracks.3." in body["detail"] or "record 4" in body["detail"]) == (field is not None)
    assert station.parts.store.datasets.count() == 0 and station.health()["tracks"] == 0
    ok = client.post(
        "/api/v1/datasets", json={"name": "d", "license": "CC-BY-4.0", "tracks": TRACKS}
    )
    assert ok.status_code == 201, ok.text
