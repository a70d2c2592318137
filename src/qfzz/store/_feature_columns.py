"""The live catalog's feature columns, and their form in an ``.npz``.

The same arrays travel twice: from the second reader of a big catalog to the server
(``store._column_part``), and to the data directory and back between runs
(``station._index_columns``). Both use this one layout: numbers as arrays, each text
column as int32 codes with its distinct values as JSON (``allow_pickle`` stays off).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qfzz.store._columns import CodedStrings

_TEXT = ("artist", "genre", "mood")
_NUMBERS = ("track_id", "energy", "tempo", "playable")


@dataclass(frozen=True, slots=True)
class FeatureColumns:
    """The live catalog as columns, in track id order, for the DJ's scoring index: numpy
    arrays and coded text (``read_columns``), no object per track. An unknown energy or
    tempo is NaN."""

    track_id: npt.NDArray[np.int64]
    artist: CodedStrings
    genre: CodedStrings
    mood: CodedStrings
    energy: npt.NDArray[np.float64]
    tempo: npt.NDArray[np.float64]
    playable: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.track_id.shape[0])


def as_arrays(columns: FeatureColumns) -> dict[str, Any]:
    """The columns as named arrays for ``np.savez``."""
    strings = {name: getattr(columns, name).values for name in _TEXT}
    return {
        "strings": np.frombuffer(json.dumps(strings).encode(), dtype=np.uint8),
        **{f"{name}_codes": getattr(columns, name).codes for name in _TEXT},
        **{name: getattr(columns, name) for name in _NUMBERS},
    }


def from_arrays(arrays: Mapping[str, npt.NDArray[np.generic]]) -> FeatureColumns:
    """``as_arrays`` read back (``np.load``'s file, or any mapping of those names); a
    missing name raises ``KeyError``, text that is not the JSON written ``ValueError``.
    Arrays already of their dtype are not copied."""
    strings = json.loads(arrays["strings"].tobytes())
    text = {
        name: CodedStrings(arrays[f"{name}_codes"].astype(np.int32, copy=False), strings[name])
        for name in _TEXT
    }
    return FeatureColumns(
        track_id=arrays["track_id"].astype(np.int64, copy=False),
        artist=text["artist"],
        genre=text["genre"],
        mood=text["mood"],
        energy=arrays["energy"].astype(np.float64, copy=False),
        tempo=arrays["tempo"].astype(np.float64, copy=False),
        playable=arrays["playable"].astype(np.bool_, copy=False),
    )


def joined(first: FeatureColumns, second: FeatureColumns) -> FeatureColumns:
    """``first``'s tracks then ``second``'s, their text codes put into one numbering."""
    return FeatureColumns(
        track_id=np.concatenate([first.track_id, second.track_id]),
        artist=_joined_text(first.artist, second.artist),
        genre=_joined_text(first.genre, second.genre),
        mood=_joined_text(first.mood, second.mood),
        energy=np.concatenate([first.energy, second.energy]),
        tempo=np.concatenate([first.tempo, second.tempo]),
        playable=np.concatenate([first.playable, second.playable]),
    )


def _joined_text(first: CodedStrings, second: CodedStrings) -> CodedStrings:
    codes = {value: code for code, value in enumerate(first.values)}
    values = list(first.values)
    for value in second.values:
        if value not in codes:
            codes[value] = len(values)
            values.append(value)
    renumbered = np.array([codes[value] for value in second.values], dtype=np.int32)
    return CodedStrings(
        np.concatenate([first.codes, renumbered[second.codes]]).astype(np.int32, copy=False),
        values,
    )
