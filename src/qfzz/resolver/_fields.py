"""Reading fields out of untrusted JSON: every value's type is checked, never assumed.

Each reader answers the value or None (absent, null, or of a type that cannot mean it);
the sources decide which fields an item cannot do without.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_TEXT = 1000  # longer "titles" are garbage, not metadata
_SUFFIX = re.compile(r"[a-z0-9]{1,8}")


def dig(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` ("data.items", "artist.name"); "" is the document
    itself; None when any step is missing or not an object."""
    value = document
    for step in path.split(".") if path else ():
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def text(value: Any) -> str | None:
    """A non-blank string (stripped), or None."""
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        return value.strip()
    return None


def ident(value: Any) -> str | None:
    """An identifier: a non-blank string, or an integer (some servers send numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(value)


def credit(value: Any) -> str | None:
    """An artist credit: a string, or a list of strings (joined with ", ")."""
    if isinstance(value, list):
        names = [n for n in (text(v) for v in value) if n is not None]
        return ", ".join(names) if names and len(names) == len(value) else None
    return text(value)


def seconds(value: Any, scale: float = 1.0) -> float | None:
    """A duration in seconds: a finite positive number or numeric string, times ``scale``
    (0.001 for milliseconds); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and 0 < value * scale < 10**6:
        return float(value) * scale
    return None


def suffix(value: Any) -> str | None:
    """A file name extension with its dot (".flac"), from "flac" or ".FLAC"; None when it
    is not a short alphanumeric word (a path or anything else never reaches a file name)."""
    found = text(value)
    if found is None:
        return None
    found = found.lower().removeprefix(".")
    return f".{found}" if _SUFFIX.fullmatch(found) else None
