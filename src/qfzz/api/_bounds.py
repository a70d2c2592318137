"""Bounded wire types: every string, list, map and number the API accepts has a limit.

Limits are checked by pydantic while it parses, before anything reaches the station, so a
hostile body costs at most its (already bounded) size: a list longer than its limit fails
at its first excess item with one error, not one error per item. Text never carries NUL
or other control characters (PostgreSQL refuses NUL in text, and they have no place in
names); integers fit the databases' signed 64-bit columns; floats are finite.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field, PlainValidator, StrictInt

#: The largest id any table holds (a signed 64-bit column).
MAX_ID = 2**63 - 1
#: Longest free text in a field (a title, a comment).
MAX_TEXT = 2000
#: Largest page offset a listing accepts (deeper pages are not a use case, only a cost).
MAX_OFFSET = 1_000_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(value: str) -> str:
    """Free text: tabs and line breaks are fine, other control characters are not."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def one_line(value: str) -> str:
    """Names and ids: no control characters at all."""
    if _ANY_CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _optional_one_line(value: str | None) -> str | None:
    return None if value is None else one_line(value)


#: A user id as sent: only its length is bounded here. The station owns the rule
#: (``qfzz.models.normalise_user_id``: NFC, surrounding spaces and line breaks dropped, no
#: control characters inside, at most 64 characters), so ``"admin\n"`` is ``admin``.
UserId = Annotated[str, Field(min_length=1, max_length=256)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
ShortName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(one_line)]
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(printable)]
Id = Annotated[StrictInt, Field(ge=0, le=MAX_ID)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]


def _scalar(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -MAX_ID - 1 <= value <= MAX_ID:
            return value
        raise ValueError("whole numbers must fit in 64 bits")
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise ValueError("numbers must be finite")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"text is limited to {MAX_TEXT} characters")
        return printable(value)
    raise ValueError("must be text, a number, true, false or null (no lists or objects)")


#: A JSON scalar inside a flat record (a dataset track, a device field): one clear error
#: for anything else, instead of one per member of a union.
Scalar = Annotated[
    str | int | float | bool | None,
    PlainValidator(_scalar, json_schema_input_type=str | int | float | bool | None),
]

# -- path and query parameters --------------------------------------------------------

IdPath = Annotated[int, Path(ge=0, le=MAX_ID)]
UserPath = Annotated[str, Path(min_length=1, max_length=256), AfterValidator(one_line)]
NamePath = Annotated[str, Path(min_length=1, max_length=200), AfterValidator(one_line)]
KeyPath = Annotated[str, Path(min_length=1, max_length=512), AfterValidator(one_line)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
DeviceQuery = Annotated[str | None, Query(max_length=128), AfterValidator(_optional_one_line)]
SearchText = Annotated[str | None, Query(max_length=200), AfterValidator(_optional_one_line)]
