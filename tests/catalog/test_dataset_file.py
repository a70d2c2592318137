"""Reading dataset files into raw records, and converting accepted records to TrackMeta."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qfzz.catalog.dataset_file import is_present, read_dataset_file, records_to_meta
from qfzz.catalog.licenses import parse_license
from qfzz.catalog.quality import score_dataset
from qfzz.errors import InvalidDataset
from qfzz.models import TrackMeta


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- JSON ---


def test_json_list(tmp_path: Path) -> None:
    data = [{"title": "A", "artist": "X", "energy": 0.0}, {"Title ": "B", "artist": "Y"}]
    records = read_dataset_file(write(tmp_path, "d.json", json.dumps(data)))
    assert records == [
        {"title": "A", "artist": "X", "energy": 0.0},
        {"title": "B", "artist": "Y"},  # keys are stripped and lower-cased
    ]


def test_json_object_with_tracks(tmp_path: Path) -> None:
    doc = {"name": "set", "license": "CC0", "tracks": [{"title": "A", "artist": "X"}]}
    assert read_dataset_file(write(tmp_path, "d.JSON", json.dumps(doc))) == [
        {"title": "A", "artist": "X"}
    ]


def test_json_empty_list_is_an_empty_dataset(tmp_path: Path) -> None:
    assert read_dataset_file(write(tmp_path, "d.json", "[]")) == []


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json", '[\n  {"title": "A",}\n]')
    with pytest.raises(InvalidDataset, match=r"invalid JSON at line 2, column 17"):
        read_dataset_file(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"title": "A"}', "expected a JSON list"),
        ('{"tracks": {"title": "A"}}', "expected a JSON list"),
        ('"tracks"', "got str"),
        ('[{"title": "A"}, 3]', "record 2 is a int"),
        ('[{"title": "A", "Title": "B"}]', "record 1 has field 'title' more than once"),
        ('[{" ": "A"}]', "empty name"),
    ],
)
def test_json_wrong_shape(tmp_path: Path, content: str, match: str) -> None:
    with pytest.raises(InvalidDataset, match=match):
        read_dataset_file(write(tmp_path, "d.json", content))


# --- CSV ---


def test_csv_with_bom_and_empty_cells(tmp_path: Path) -> None:
    content = "\ufefftitle,Artist,genre,energy,duration\r\nA,X,,0.0,200\r\nB,Y,rock,,\r\n"
    records = read_dataset_file(write(tmp_path, "d.csv", content))
    assert records == [
        {"title": "A", "artist": "X", "genre": "", "energy": "0.0", "duration": "200"},
        {"title": "B", "artist": "Y", "genre": "rock", "energy": "", "duration": ""},
    ]


def test_csv_empty_cell_counts_as_missing_in_the_score(tmp_path: Path) -> None:
    content = "title,artist,genre,duration,energy\nA,X,,200,0.0\n"
    records = read_dataset_file(write(tmp_path, "d.csv", content))
    # required: title, artist, duration (genre cell empty) = 3/4; optional: energy "0.0" = 1/5
    # 0.7 * 0.75 + 0.3 * 0.2 = 0.525 + 0.06 = 0.585
    assert score_dataset(records, parse_license("CC0")).components["metadata"] == 0.585


def test_csv_quoted_fields_and_short_rows(tmp_path: Path) -> None:
    content = 'title,artist,album\n"Hello, World","X ""Y""","multi\nline"\nB,Z\n\n'
    records = read_dataset_file(write(tmp_path, "d.csv", content))
    assert records == [
        {"title": "Hello, World", "artist": 'X "Y"', "album": "multi\nline"},
        {"title": "B", "artist": "Z", "album": None},  # a short row: missing, not an error
    ]


def test_csv_header_only_is_an_empty_dataset(tmp_path: Path) -> None:
    assert read_dataset_file(write(tmp_path, "d.csv", "title,artist\n")) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "empty CSV"),
        ("\ufeff", "empty CSV"),
        ("\n\n", "empty CSV"),
        ("title,artist\nA,X,extra\n", "line 2 has 3 cells but the header has 2 columns"),
        ("title,Title\nA,B\n", "more than once"),
        ("title,,artist\nA,,X\n", "empty name"),
        ('title,artist\n"A,X\n', "malformed CSV"),
    ],
)
def test_csv_malformed(tmp_path: Path, content: str, match: str) -> None:
    with pytest.raises(InvalidDataset, match=match):
        read_dataset_file(write(tmp_path, "d.csv", content))


# --- files ---


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match=r"unknown dataset file type '\.xml'"):
        read_dataset_file(write(tmp_path, "d.xml", "<tracks/>"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match="cannot read file"):
        read_dataset_file(tmp_path / "nope.json")


def test_directory_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InvalidDataset, match="cannot read file"):
        read_dataset_file(tmp_path / "dir.csv")


def test_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match="not UTF-8"):
        read_dataset_file(write(tmp_path, "d.csv", b"title\n\xff\xfe\n"))


# --- conversion ---


def test_records_to_meta_parses_strings_and_numbers() -> None:
    records: list[dict[str, object]] = [
        {
            "title": "  Song ",
            "artist": "Ann",
            "genre": "",
            "duration": "210.5",
            "year": "1999",
            "energy": "0.0",
            "tempo": 120,
            "bitrate": 320.0,
            "album": None,
            "unknown": "ignored",
        },
        {"title": 1999, "artist": "B", "year": 2001.0, "energy": 0, "mood": " calm "},
    ]
    assert records_to_meta(records) == [
        TrackMeta(title="Song", artist="Ann", duration=210.5, year=1999, energy=0.0,
                  tempo=120.0, bitrate=320),
        TrackMeta(title="1999", artist="B", year=2001, energy=0.0, mood="calm"),
    ]  # fmt: skip
    assert isinstance(records_to_meta(records)[0].year, int)


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ({"artist": "X"}, "record 2: required field 'title' is missing"),
        ({"title": "  ", "artist": "X"}, "record 2: required field 'title' is missing"),
        ({"title": "A", "artist": ""}, "record 2: required field 'artist' is missing"),
        ({"title": "A", "artist": "X", "duration": "3:30"}, "record 2: field 'duration'"),
        ({"title": "A", "artist": "X", "energy": "nan"}, "record 2: field 'energy'"),
        ({"title": "A", "artist": "X", "tempo": True}, "record 2: field 'tempo'"),
        ({"title": "A", "artist": "X", "year": "1999.5"}, "record 2: field 'year'"),
        ({"title": "A", "artist": "X", "genre": ["rock"]}, "record 2: field 'genre'"),
    ],
)
def test_records_to_meta_names_record_and_field(record: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidDataset, match=match):
        records_to_meta([{"title": "ok", "artist": "ok"}, record])


def test_records_to_meta_keeps_out_of_range_values_for_the_score_to_judge() -> None:
    [meta] = records_to_meta([{"title": "A", "artist": "X", "duration": -1, "energy": 1.5}])
    assert (meta.duration, meta.energy) == (-1.0, 1.5)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans()))
def test_numbers_are_always_present(value: object) -> None:
    assert is_present(value)


@given(st.text(alphabet=" \t\r\n"))
def test_blank_strings_are_missing(value: str) -> None:
    assert not is_present(value)
    assert not is_present(None)


@pytest.mark.parametrize(
    ("spelling", "origin"),
    [("QQ Music", "qq"), ("qqmusic", "qq"), ("NetEase Cloud Music", "netease"), ("163", "netease"),
     ("Jamendo", "jamendo"), ("my server", "my_server")],
)  # fmt: skip
def test_a_records_origin_is_normalised_and_its_reference_kept(spelling, origin):
    [meta] = records_to_meta(
        [{"title": "T", "artist": "A", "source": spelling, "source_id": " 004Z8Ihr0JIu5s "}]
    )
    assert (meta.origin, meta.origin_ref) == (origin, "004Z8Ihr0JIu5s")


def test_an_origin_that_is_too_long_or_not_text_is_refused():
    with pytest.raises(InvalidDataset, match="record 1: field 'source'"):
        records_to_meta([{"title": "T", "artist": "A", "source": "x" * 65}])
    with pytest.raises(InvalidDataset, match="record 1: field 'source'"):
        records_to_meta([{"title": "T", "artist": "A", "source": ["qq"]}])
    with pytest.raises(InvalidDataset, match="source_id"):
        records_to_meta([{"title": "T", "artist": "A", "source_id": "x" * 513}])
    [meta] = records_to_meta([{"title": "T", "artist": "A"}])
    assert (meta.origin, meta.origin_ref) == (None, None)
