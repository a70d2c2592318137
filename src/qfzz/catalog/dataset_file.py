"""Read a catalog dataset file into raw records, and turn accepted records into TrackMeta.

Two steps on purpose. :func:`read_dataset_file` only checks the *shape* of the file and
returns raw records (values exactly as the file holds them: CSV cells are strings, JSON
values keep their JSON types), so a dataset with a few bad values can still be scored and
the operator sees why it scored low. :func:`records_to_meta` runs only for a dataset that
passed its licence and quality checks; it parses and validates every value and names the
first record and field it cannot use.

In both steps keys are stripped and lower-cased (``"Title "`` and ``"title"`` are the same
field), and a value is *missing* when it is ``None`` or a string that is empty after
stripping (an empty CSV cell). ``0`` and ``0.0`` are present values.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from qfzz.errors import InvalidDataset
from qfzz.models import TrackMeta

__all__ = ["is_present", "read_dataset_file", "records_to_meta"]

SUFFIXES = (".json", ".csv")


def is_present(value: object) -> bool:
    """True unless the value is None or a blank string; 0 and 0.0 are present."""
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())


def read_dataset_file(path: Path) -> list[dict[str, object]]:
    """Parse a ``.json`` or ``.csv`` dataset into raw records, or raise InvalidDataset.

    JSON: a list of objects, or an object whose ``"tracks"`` is one. CSV: a header row,
    then one row per track; a UTF-8 byte-order mark is tolerated. A header-only CSV or an
    empty JSON list gives an empty dataset (which then scores 0 for size).
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidDataset(
            f"{path}: unknown dataset file type {suffix or '(none)'!r}; expected .json or .csv"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidDataset(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDataset(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if suffix == ".json":
        return _read_json(path, text)
    return _read_csv(path, text)


def _normalise_keys(path: Path, where: str, record: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in record.items():
        name = key.strip().lower()
        if not name:
            raise InvalidDataset(f"{path}: {where} has a field with an empty name")
        if name in out:
            raise InvalidDataset(f"{path}: {where} has field {name!r} more than once")
        out[name] = value
    return out


def _read_json(path: Path, text: str) -> list[dict[str, object]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDataset(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if isinstance(doc, dict) and "tracks" in doc:
        doc = doc["tracks"]
    if not isinstance(doc, list):
        raise InvalidDataset(
            f"{path}: expected a JSON list of track objects or an object with a "
            f"'tracks' list, got {type(doc).__name__}"
        )
    records: list[dict[str, object]] = []
    for index, item in enumerate(doc):
        if not isinstance(item, dict):
            raise InvalidDataset(
                f"{path}: record {index} is a {type(item).__name__}, expected an object"
            )
        records.append(_normalise_keys(path, f"record {index}", item))
    return records


def _read_csv(path: Path, text: str) -> list[dict[str, object]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise InvalidDataset(f"{path}: empty CSV (no header row)")
        names = list(_normalise_keys(path, "the header row", {h: None for h in header}))
        if len(names) != len(header):
            raise InvalidDataset(f"{path}: the header row repeats a column name")
        records: list[dict[str, object]] = []
        for row in reader:
            if not row:
                continue  # a blank line is not a track
            if len(row) > len(names):
                raise InvalidDataset(
                    f"{path}: line {reader.line_num} has {len(row)} cells "
                    f"but the header has {len(names)} columns"
                )
            cells: list[object] = [*row, *([None] * (len(names) - len(row)))]
            records.append(dict(zip(names, cells, strict=True)))
    except csv.Error as exc:
        raise InvalidDataset(f"{path}: malformed CSV at line {reader.line_num}: {exc}") from exc
    return records


_TEXT_FIELDS = ("album", "genre", "mood", "musicbrainz_id", "format")
_INT_FIELDS = ("year", "bitrate")
_FLOAT_FIELDS = ("energy", "tempo", "duration")


def _text(index: int, field: str, value: object) -> str | None:
    if not is_present(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InvalidDataset(f"record {index}: field {field!r} must be text, got {value!r}")


def _float(index: int, field: str, value: object) -> float | None:
    if not is_present(value):
        return None
    number: float | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
    except (ValueError, OverflowError):
        number = None
    if number is None or not math.isfinite(number):
        raise InvalidDataset(f"record {index}: field {field!r} is not a number: {value!r}")
    return number


def _int(index: int, field: str, value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _float(index, field, value)
    if number is None:
        return None
    if not number.is_integer():
        raise InvalidDataset(f"record {index}: field {field!r} is not a whole number: {value!r}")
    return int(number)


def records_to_meta(records: Sequence[Mapping[str, object]]) -> list[TrackMeta]:
    """Convert raw records to TrackMeta, or raise InvalidDataset naming record and field.

    Strings are stripped; numbers may be given as numbers or strings (``"3.5"``); year
    and bitrate must be whole (``"1999"`` or ``1999.0``); duration, energy and tempo become
    floats. Ranges are not enforced here: a negative duration or an energy of 1.5 is what
    the consistency score penalises. Fields QFZZ does not know are ignored.
    """
    metas: list[TrackMeta] = []
    for index, raw in enumerate(records):
        record = {str(k).strip().lower(): v for k, v in raw.items()}
        title = _text(index, "title", record.get("title"))
        artist = _text(index, "artist", record.get("artist"))
        if title is None or artist is None:
            missing = "title" if title is None else "artist"
            raise InvalidDataset(f"record {index}: required field {missing!r} is missing")
        text = {f: _text(index, f, record.get(f)) for f in _TEXT_FIELDS}
        ints = {f: _int(index, f, record.get(f)) for f in _INT_FIELDS}
        floats = {f: _float(index, f, record.get(f)) for f in _FLOAT_FIELDS}
        metas.append(
            TrackMeta(
                title=title,
                artist=artist,
                album=text["album"],
                genre=text["genre"],
                mood=text["mood"],
                musicbrainz_id=text["musicbrainz_id"],
                format=text["format"],
                year=ints["year"],
                bitrate=ints["bitrate"],
                energy=floats["energy"],
                tempo=floats["tempo"],
                duration=floats["duration"],
            )
        )
    return metas
