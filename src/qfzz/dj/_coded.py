"""Text columns as codes into their distinct values: how catalog strings reach the index.

The store hands the catalog's artists, genres and moods over in this form (a million
tracks, a few thousand distinct strings), so the index normalises each distinct value
once, not each track's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


class Coded(Protocol):
    """``values[codes[i]]`` is row ``i``; ``values`` are distinct, in the order first
    seen (the store's ``CodedStrings`` is one)."""

    @property
    def codes(self) -> npt.NDArray[np.int32]: ...

    @property
    def values(self) -> Sequence[str | None]: ...


@dataclass(frozen=True, slots=True)
class Factorised:
    codes: npt.NDArray[np.int32]
    values: list[str | None]


class _Codes(dict[str | None, int]):
    def __missing__(self, value: str | None) -> int:
        code = self[value] = len(self)
        return code


def factorise(column: Sequence[str | None]) -> Factorised:
    """A row-by-row column as codes (for the few tracks of a rescan or a test)."""
    coder = _Codes()
    codes = np.fromiter(map(coder.__getitem__, column), np.int32, len(column))
    return Factorised(codes, list(coder))
