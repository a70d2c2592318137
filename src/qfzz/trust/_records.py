"""Trust records: one per ``"content_id:creator_id"``, in numpy columns behind a dict.

A lookup is one dict probe and two array reads (O(1)); scoring a batch of candidate rows
for the playlist filter is one vectorised expression.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NEUTRAL = 0.5


def trust_key(content_id: str, creator_id: str) -> str:
    return f"{content_id}:{creator_id}"


def trust_score(verifications: int, reports: int) -> float:
    total = verifications + reports
    return NEUTRAL if total == 0 else verifications / total


@dataclass(frozen=True, slots=True)
class TrustRecord:
    key: str
    verifications: int
    reports: int
    score: float
    first_update: float
    last_update: float


class TrustIndex:
    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._keys: list[str] = []
        self.verifications = np.zeros(1024, dtype=np.int32)
        self.reports = np.zeros(1024, dtype=np.int32)
        self.first_us = np.zeros(1024, dtype=np.int64)
        self.last_us = np.zeros(1024, dtype=np.int64)

    @classmethod
    def of_columns(
        cls,
        rows: dict[str, int],
        verifications: list[int],
        reports: list[int],
        first_us: list[int],
        last_us: list[int],
    ) -> TrustIndex:
        """An index built in one pass (loading a chain); ``rows`` maps each key to its row,
        in row order, and is taken over."""
        index = cls()
        size = max(1024, 1 << max(0, len(rows) - 1).bit_length())
        index._rows = rows
        index._keys = list(rows)
        for name, values, dtype in (
            ("verifications", verifications, np.int32),
            ("reports", reports, np.int32),
            ("first_us", first_us, np.int64),
            ("last_us", last_us, np.int64),
        ):
            column = np.zeros(size, dtype=dtype)
            column[: len(values)] = values
            setattr(index, name, column)
        return index

    def __len__(self) -> int:
        return len(self._keys)

    def record_keys(self) -> Iterator[str]:
        """Every record's key, in row order."""
        return iter(self._keys)

    def row(self, key: str) -> int:
        """The row of ``key``, created (neutral) on first use."""
        found = self._rows.get(key)
        if found is None:
            found = len(self._keys)
            if found == self.verifications.shape[0]:
                self._grow()
            self._rows[key] = found
            self._keys.append(key)
        return found

    def find(self, key: str) -> int:
        return self._rows.get(key, -1)

    def key_of(self, row: int) -> str:
        return self._keys[row]

    def set(self, row: int, verifications: int, reports: int, at_us: int) -> None:
        if self.first_us[row] == 0 or at_us < self.first_us[row]:
            self.first_us[row] = at_us
        self.last_us[row] = max(int(self.last_us[row]), at_us)
        self.verifications[row] = verifications
        self.reports[row] = reports

    def get(self, key: str) -> TrustRecord | None:
        row = self._rows.get(key)
        if row is None:
            return None
        v, r = int(self.verifications[row]), int(self.reports[row])
        return TrustRecord(
            key, v, r, trust_score(v, r), self.first_us[row] / 1e6, self.last_us[row] / 1e6
        )

    def score(self, key: str) -> float:
        row = self._rows.get(key)
        if row is None:
            return NEUTRAL
        return trust_score(int(self.verifications[row]), int(self.reports[row]))

    def scores(self, rows: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """Scores of many rows at once; -1 (no record) is neutral."""
        known = rows >= 0
        safe = np.where(known, rows, 0)
        v = self.verifications[safe].astype(np.float64)
        total = v + self.reports[safe]
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(total > 0, v / np.maximum(total, 1), NEUTRAL)
        return np.where(known, score, NEUTRAL)

    def trusted(
        self, rows: npt.NDArray[np.int32], threshold: float, min_voters: int
    ) -> npt.NDArray[np.bool_]:
        """Which rows may be played: a score of at least ``threshold``, judged only once
        ``min_voters`` distinct listeners voted (each listener holds one vote per key, so
        verifications + reports counts voters). Below that the item is neutral: one skip
        by the first listener to hear it must not hide it from everyone."""
        known = rows >= 0
        safe = np.where(known, rows, 0)
        v = self.verifications[safe].astype(np.float64)
        total = v + self.reports[safe]
        judged = known & (total >= min_voters)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = v / np.maximum(total, 1)
        return np.asarray(~judged | (score >= threshold))

    def _grow(self) -> None:
        size = self.verifications.shape[0] * 2
        for name in ("verifications", "reports", "first_us", "last_us"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
