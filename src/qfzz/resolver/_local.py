"""The station's own library folders as a source: a dataset track whose audio the station
already has under another record (another album, another spelling) needs no network.

The domain never touches the store: the station hands in ``lookup(title, artist)``, a
function over its catalog's playable tracks that answers plausible files (by title, say);
here they are matched on normalised title and artist with the duration within ±3 s
(:func:`confidence` at :data:`ACCEPTABLE` or better). A download copies the file — never a
hard link: the resolved copy is the new track's own, and must not change or vanish with
the file it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qfzz.errors import QfzzError
from qfzz.resolver._match import ACCEPTABLE, confidence
from qfzz.resolver._types import Candidate, SourceFailed, Wanted

CHUNK_BYTES = 1024 * 1024
MAX_CANDIDATES = 5


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A playable file of the station's library, as ``lookup`` answers it."""

    path: Path
    title: str
    artist: str
    duration: float | None


Lookup = Callable[[str, str], Sequence[LocalFile]]


class LocalSource:
    """Files the station already holds, found through an injected ``lookup``."""

    def __init__(self, lookup: Lookup, *, name: str = "local") -> None:
        self._lookup = lookup
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def refresh(self, wanted: Wanted) -> Candidate | None:
        """None: the library has no origin references (it is nobody's origin)."""
        return None

    def search(self, wanted: Wanted) -> list[Candidate]:
        try:
            files = list(self._lookup(wanted.title, wanted.artist))
        except (OSError, QfzzError) as exc:
            raise SourceFailed(f"{self._name}: lookup failed: {exc}") from None
        found = [
            Candidate(
                source=self._name,
                ref=str(f.path),
                title=f.title,
                artist=f.artist,
                duration=f.duration,
                confidence=confidence(wanted, f.title, f.artist, f.duration),
                suffix=f.path.suffix.lower() or ".mp3",
            )
            for f in files
        ]
        good = [c for c in found if c.confidence >= ACCEPTABLE]
        return sorted(good, key=lambda c: -c.confidence)[:MAX_CANDIDATES]

    def download(self, candidate: Candidate, target: Path, *, max_bytes: int) -> None:
        """Copy the file, at most ``max_bytes`` (counted while copying: a file may grow)."""
        source = Path(candidate.ref)
        size = 0
        try:
            with source.open("rb") as inp, target.open("wb") as out:
                while chunk := inp.read(CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceFailed(f"{self._name}: {source} is over {max_bytes} B")
                    out.write(chunk)
        except OSError as exc:
            raise SourceFailed(f"{self._name}: cannot copy {source}: {exc}") from None
