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

A file is bounded before it is parsed: only a regular file is read (a FIFO would block),
at most :data:`MAX_DATASET_BYTES`, and JSON nested deeper than :data:`MAX_JSON_DEPTH`
levels is refused before ``json.loads`` recurses into it (a dataset is a list of flat
records). :func:`check_text` refuses text no store can hold or no terminal should print:
control characters other than tab and line breaks (PostgreSQL refuses NUL outright), and
lone surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from qfzz.audio import NotRegularFile, open_regular
from qfzz.errors import InvalidDataset
from qfzz.models import TrackMeta

__all__ = [
    "MAX_DATASET_BYTES",
    "MAX_JSON_DEPTH",
    "check_text",
    "is_present",
    "json_depth_exceeds",
    "read_dataset_file",
    "records_to_meta",
]

SUFFIXES = (".json", ".csv")
#: The largest dataset file read (a million tracks of typical metadata fit well below).
MAX_DATASET_BYTES = 128 * 1024 * 1024
#: ``{"tracks": [{"field": [values]}]}`` is as deep as a dataset of flat records goes.
MAX_JSON_DEPTH = 4

#: A JSON string, or an unterminated one up to the end; possessive, so it runs in linear
#: time on any input (no backtracking into escaped quotes).
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\[\s\S]?[^"\\]*+)*+(?:"|\Z)')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
#: C0 controls but tab, LF and CR; DEL; C1 controls; lone surrogates.
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def is_present(value: object) -> bool:
    """True unless the value is None or a blank string; 0 and 0.0 are present."""
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())


def read_dataset_file(path: Path, *, max_bytes: int = MAX_DATASET_BYTES) -> list[dict[str, object]]:
    """Parse a ``.json`` or ``.csv`` dataset into raw records, or raise InvalidDataset.

    JSON: a list of objects, or an object whose ``"tracks"`` is one. CSV: a header row,
    then one row per track; a UTF-8 byte-order mark is tolerated. A header-only CSV or an
    empty JSON list gives an empty dataset (which then scores 0 for size). A file over
    ``max_bytes``, or JSON nested deeper than MAX_JSON_DEPTH, is refused unparsed.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidDataset(
            f"{path}: unknown dataset file type {suffix or '(none)'!r}; expected .json or .csv"
        )
    data = _read_bounded(path, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDataset(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if suffix == ".json":
        return _read_json(path, text)
    return _read_csv(path, text)


def _read_bounded(path: Path, max_bytes: int) -> bytes:
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            data = b"" if size > max_bytes else handle.read(max_bytes + 1)
    except NotRegularFile as exc:
        raise InvalidDataset(f"{path}: cannot read file: {exc.kind}, not a regular file") from exc
    except OSError as exc:
        raise InvalidDataset(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if size > max_bytes or len(data) > max_bytes:
        raise InvalidDataset(
            f"{path}: the file is larger than {max_bytes:,} bytes, the limit for a dataset file"
        )
    return data


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than ``limit`` deep.

    Decided without recursion and at C speed: strings (which may hold brackets) and
    everything else but brackets are dropped, then innermost ``[]``/``{}`` pairs are
    removed one level per pass. Malformed text is left for the parser to report.
    """
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    if re.search(r"[\[{]{" + str(limit + 1) + "}", brackets):  # opened in a row
        return True
    for _ in range(limit):
        brackets = _INNERMOST.sub("", brackets)
        if not brackets:
            return False
    return _INNERMOST.search(brackets) is not None


def check_text(where: str, value: object) -> None:
    """Raise InvalidDataset naming ``where`` when ``value`` (a string, or strings in lists
    and mappings, keys included) holds a control character or a lone surrogate."""
    stack: list[tuple[str, object]] = [(where, value)]
    while stack:
        place, item = stack.pop()
        if isinstance(item, str):
            bad = _BAD_TEXT.search(item)
            if bad is not None:
                char = ord(bad.group())
                what = "a lone surrogate, not text" if char >= 0xD800 else "a control character"
                raise InvalidDataset(f"{place} contains U+{char:04X}, {what}")
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                stack.append((f"{place}, the field name {key!r:.60}", key))
                stack.append((f"{place}, field {key!r:.60}", inner))
        elif isinstance(item, list | tuple):
            stack.extend((f"{place}[{i}]", inner) for i, inner in enumerate(item))


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
    too_deep = InvalidDataset(
        f"{path}: JSON nested more than {MAX_JSON_DEPTH} levels deep; a dataset is a list "
        "of flat track records"
    )
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise too_deep
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDataset(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:  # the depth check missed it (malformed text): never a crash
        raise too_deep from exc
    if isinstance(doc, dict) and "tracks" in doc:
        doc = doc["tracks"]
    if not isinstance(doc, list):
        raise InvalidDataset(
            f"{path}: expected a JSON list of track objects or an object with a "
            f"'tracks' list, got {type(doc).__name__}"
        )
    records: list[dict[str, object]] = []
    for index, item in enumerate(doc, start=1):  # counted as people count
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
    for index, raw in enumerate(records, start=1):  # counted as people count
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
                origin=_origin(index, record),
                origin_ref=_origin_ref(index, record),
            )
        )
    return metas


#: What datasets call the platforms they were scraped from, in their own spellings.
ORIGIN_ALIASES = {
    "qqmusic": "qq",
    "qq_music": "qq",
    "tencent": "qq",
    "163": "netease",
    "neteasecloudmusic": "netease",
    "netease_cloud_music": "netease",
    "ncm": "netease",
    "yt": "youtube",
    "youtubemusic": "youtube",
    "youtube_music": "youtube",
}
MAX_ORIGIN = 64
MAX_ORIGIN_REF = 512


def normalise_origin(value: str) -> str:
    """``"QQ Music"`` → ``"qq"``: lower case, words joined by ``_``, known aliases mapped,
    so one platform is one group in the resolver's statistics however datasets spell it."""
    words = "".join(c if c.isalnum() else " " for c in value.casefold()).split()
    joined = "_".join(words)
    return ORIGIN_ALIASES.get(joined) or ORIGIN_ALIASES.get("".join(words)) or joined


def _origin(index: int, record: Mapping[str, object]) -> str | None:
    """The record's ``source`` (or ``origin`` / ``platform``) field, normalised."""
    raw = next((record[f] for f in ("source", "origin", "platform") if f in record), None)
    text = _text(index, "source", raw)
    if not text:
        return None
    origin = normalise_origin(text)
    if not origin or len(origin) > MAX_ORIGIN:
        raise InvalidDataset(f"record {index}: field 'source' must be 1-{MAX_ORIGIN} letters")
    return origin


def _origin_ref(index: int, record: Mapping[str, object]) -> str | None:
    """The track's id or URL on its origin (``source_id``, ``source_url``, ``origin_ref``)."""
    fields = ("source_id", "source_url", "origin_ref", "origin_id")
    raw = next((record[f] for f in fields if f in record), None)
    text = _text(index, "source_id", raw)
    if text and len(text) > MAX_ORIGIN_REF:
        raise InvalidDataset(f"record {index}: field 'source_id' is over {MAX_ORIGIN_REF} chars")
    return text or None
