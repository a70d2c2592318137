from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from qfzz.app import command_line
from qfzz.settings import Settings
from qfzz.store import open_store
from qfzz.testing import SIX_GENRES, add_synthetic_tracks

cli = command_line()
runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    store = open_store(Settings(data_dir=data).resolved_database_url)
    add_synthetic_tracks(store, SIX_GENRES)
    store.close()
    return data


def qfzz(*args: str):
    return runner.invoke(cli, [str(a) for a in args])


def test_listener_playlist_interact_round_trip(data_dir):
    added = qfzz(
        "listener",
        "add",
        "ann",
        "--genre",
        "jazz",
        "--mood",
        "calm",
        "--discovery",
        "0",
        "--data-dir",
        data_dir,
    )
    assert added.exit_code == 0, added.output
    assert "token" in added.output
    shown = qfzz("playlist", "ann", "--size", "5", "--json", "--data-dir", data_dir)
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert len(body["tracks"]) == 5 and all(t["genre"] == "jazz" for t in body["tracks"])
    track = body["tracks"][0]["track_id"]
    liked = qfzz("interact", "ann", track, "rate", "--rating", "1.0", "--data-dir", data_dir)
    assert liked.exit_code == 0, liked.output
    assert "jazz 0.90" in liked.output
    table = qfzz("playlist", "ann", "--data-dir", data_dir)
    assert table.exit_code == 0 and "playlist for ann" in table.output


def test_bad_input_exits_non_zero_and_stores_nothing(data_dir):
    qfzz("listener", "add", "ann", "--data-dir", data_dir)
    for args in [
        ("interact", "ann", "1", "hug"),
        ("interact", "ann", "1", "rate", "--rating", "3"),
        ("interact", "zed", "1", "like"),
        ("playlist", "nobody"),
        ("listener", "add", "ann"),
        ("listener", "add", "bob", "--discovery", "5"),
    ]:
        result = qfzz(*args, "--data-dir", data_dir)
        assert result.exit_code != 0, (args, result.output)
    store = open_store(Settings(data_dir=data_dir).resolved_database_url)
    assert store.interactions.count() == 0
    assert store.listeners.user_ids() == ["ann"]
    store.close()


def test_dataset_import_shows_components_and_rejections(data_dir, tmp_path):
    records = [
        {
            "title": f"T{i}",
            "artist": f"A{i % 9}",
            "genre": f"g{i % 12}",
            "duration": 100 + i,
            "album": "X",
            "year": 2000,
            "mood": "calm",
            "energy": 0.0,
            "tempo": 100,
        }
        for i in range(120)
    ]
    path = tmp_path / "set.json"
    path.write_text(json.dumps(records))
    ok = qfzz("datasets", "import", path, "--license", "CC-BY-NC-4.0", "--data-dir", data_dir)
    assert ok.exit_code == 0, ok.output
    for component in ("metadata", "consistency", "size", "diversity", "license", "quality"):
        assert component in ok.output
    assert "added 120 tracks" in ok.output
    csv_path = tmp_path / "set.csv"
    csv_path.write_text("title,artist,genre,duration\nA,B,pop,100\n")
    rejected = qfzz(
        "datasets",
        "import",
        csv_path,
        "--license",
        "CC-BY-4.0",
        "--min-quality",
        "0.9",
        "--data-dir",
        data_dir,
    )
    assert rejected.exit_code == 1 and "quality" in rejected.output
    bad_license = qfzz(
        "datasets", "import", csv_path, "--license", "WTFPL-ish", "--data-dir", data_dir
    )
    assert bad_license.exit_code == 1
    missing = qfzz(
        "datasets", "import", tmp_path / "none.json", "--license", "CC0", "--data-dir", data_dir
    )
    assert missing.exit_code == 1
    listing = qfzz("datasets", "list", "--data-dir", data_dir)
    assert listing.output.count("set") == 1


def test_scan_command_reports_unreadable_files(data_dir, tmp_path):
    # A long path with brackets: printed whole, neither wrapped nor taken for Rich markup.
    folder = tmp_path / ("music-[live]-" * 8)
    folder.mkdir()
    (folder / "bad.flac").write_bytes(b"nope")
    result = qfzz("scan", folder, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "1 unreadable" in result.output
    assert str(folder / "bad.flac") in result.output
    missing = qfzz("scan", tmp_path / "missing", "--data-dir", data_dir)
    assert missing.exit_code == 1


def test_an_unreadable_file_is_reported_once(data_dir, tmp_path):
    """The real command, its log included: the scanner's warning is not said again."""
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "bad.flac").write_bytes(b"nope")
    done = subprocess.run(
        [sys.executable, "-m", "qfzz", "scan", str(folder), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count(str(folder / "bad.flac")) == 1


def test_listener_stream_key_makes_and_revokes_a_key(data_dir):
    assert qfzz("listener", "add", "Ann", "--data-dir", data_dir).exit_code == 0
    made = qfzz(
        "listener",
        "stream-key",
        "ann",
        "--base-url",
        "https://radio.example/",
        "--data-dir",
        data_dir,
    )
    assert made.exit_code == 0, made.output
    key = made.output.split("(shown once): ")[1].split()[0]
    assert f"shared playlist: https://radio.example/stream/main.m3u?key={key}" in made.output
    assert (
        f"personal stream: https://radio.example/api/v1/listeners/Ann/stream?key={key}"
        in made.output
    )
    store = open_store(Settings(data_dir=data_dir).resolved_database_url)
    try:
        assert store.listeners.stream_key_created("Ann") is not None
        revoked = qfzz("listener", "stream-key", "ann", "--revoke", "--data-dir", data_dir)
        assert revoked.exit_code == 0 and "stream key of Ann revoked" in revoked.output
        assert store.listeners.stream_key_created("Ann") is None
    finally:
        store.close()
    missing = qfzz("listener", "stream-key", "zed", "--data-dir", data_dir)
    assert missing.exit_code == 1 and "no listener 'zed'" in missing.output


def test_resolve_finds_dataset_tracks_in_the_stations_own_folders(tmp_path):
    from qfzz.testing import write_tone_library

    data = tmp_path / "fresh"
    library = write_tone_library(tmp_path / "music", tracks=3, seconds=4.0)
    assert qfzz("scan", library, "--data-dir", data).exit_code == 0
    records = [
        {"title": f"Tone {n}", "artist": f"Artist {n % 3}", "duration": 4.0, "source": "QQ Music"}
        for n in range(3)
    ] + [{"title": "Nowhere", "artist": "Nobody", "duration": 4.0, "source": "netease"}]
    path = tmp_path / "set.json"
    path.write_text(json.dumps(records))
    imported = qfzz("datasets", "import", path, "--license", "CC0-1.0", "--data-dir", data)
    assert imported.exit_code == 0, imported.output

    other = qfzz("resolve", "--origin", "spotify", "--data-dir", data)
    assert other.exit_code == 0 and "0 of 0 resolved" in other.output
    done = qfzz("resolve", "--limit", "10", "--data-dir", data)
    assert done.exit_code == 0, done.output
    assert "3 of 4 resolved (3 from local)" in done.output
    assert "Nobody – Nowhere" in done.output  # the one not found, and why
    again = qfzz("resolve", "--data-dir", data)
    assert "0 of 1 resolved" in again.output  # the resolved ones are not asked for again
    refused = qfzz("resolve", "--limit", "0", "--data-dir", data)
    assert refused.exit_code != 0
    # the side database of the resolver's statistics: fallbacks of origin qq were recorded
    assert (data / "resolver_stats.db").is_file()


def test_a_playlist_larger_than_the_station_allows_says_it_was_capped(data_dir):
    assert qfzz("listener", "add", "ann", "--data-dir", data_dir).exit_code == 0
    capped = qfzz("playlist", "ann", "--size", "500", "--data-dir", data_dir)
    assert capped.exit_code == 0, capped.output
    assert "500 tracks asked for: this station makes at most 20" in capped.output
    asked = qfzz("playlist", "ann", "--size", "5", "--data-dir", data_dir)
    assert "at most" not in asked.output
