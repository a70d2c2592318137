"""String ↔ small-integer codes, so the scoring index holds numbers, not strings."""

from __future__ import annotations

import sys


class Vocabulary:
    """Assigns codes in first-seen order; code 0 is reserved for "unknown"."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {"": 0}
        self.keys: list[str] = [""]
        self.display: list[str] = [""]

    def __len__(self) -> int:
        return len(self.display)

    def code(self, key: str, display: str | None = None) -> int:
        found = self._codes.get(key)
        if found is None:
            found = len(self.display)
            self._codes[key] = found
            self.keys.append(key)
            self.display.append(display if display is not None else key)
        return found

    def copy(self) -> Vocabulary:
        """An independent copy: a new index snapshot adds codes to it, never to the old."""
        twin = Vocabulary()
        twin._codes = dict(self._codes)
        twin.keys = list(self.keys)
        twin.display = list(self.display)
        return twin

    def get(self, key: str) -> int | None:
        return self._codes.get(key)

    def nbytes(self) -> int:
        """Approximate memory held, for the bytes-per-track budget."""
        return (
            sys.getsizeof(self._codes)
            + sys.getsizeof(self.display)
            + sys.getsizeof(self.keys)
            + sum(sys.getsizeof(k) for k in self._codes)
            + sum(sys.getsizeof(d) for d in self.display)
        )
