"""What the resolver works with: a wanted track, a source's candidate, and the source itself.

A *source* is one place audio may come from (the station's own folders, a Subsonic server,
the federation, a JSON search endpoint). Like httpx's transports, every source is a small
class behind one interface, so the resolver's ordering, verification and statistics never
know which kind they talk to, and a test hands in :class:`MockSource` instead of a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from qfzz.errors import QfzzError


class SourceFailed(QfzzError):
    """A source could not answer (timeout, refusal, garbage): one failed attempt, the
    resolver goes on with the next source."""

    code = "source_failed"


@dataclass(frozen=True, slots=True)
class Wanted:
    """A catalog track without audio, as the resolver looks for it."""

    track_id: int
    title: str
    artist: str
    duration: float | None = None  # seconds, when the dataset knew it
    album: str | None = None
    origin: str | None = None  # the platform the record came from, normalised ("qq", "b")
    origin_ref: str | None = None  # the track's id or URL on its origin, when known


@dataclass(frozen=True, slots=True)
class Candidate:
    """One answer of a source's search: what it would download, and how well it matches.

    ``ref`` is opaque to everyone but its source (an id, a URL, a path). ``confidence`` is
    the match of title, artist and duration in [0, 1] (``qfzz.resolver.match``).
    ``fingerprint`` is a Chromaprint fingerprint (as ``fpcalc`` prints it) when the source
    offers one, for the verifier to compare with the file it fetched."""

    source: str
    ref: str
    title: str
    artist: str
    duration: float | None
    confidence: float
    suffix: str = ".mp3"  # the file name extension of what ``download`` writes
    fingerprint: str | None = None


@runtime_checkable
class Source(Protocol):
    """One place audio may come from. Implementations raise :class:`SourceFailed` for any
    failure of the remote side (never let httpx or OS errors through) and write downloads
    only to the path they are given (the resolver removes it when anything fails)."""

    @property
    def name(self) -> str:
        """The name settings and statistics use ("local", "b", "jamendo"…)."""
        ...

    def refresh(self, wanted: Wanted) -> Candidate | None:
        """The track by its origin reference (``wanted.origin_ref``), for the source the
        track came from; None when the source cannot look up by reference."""
        ...

    def search(self, wanted: Wanted) -> list[Candidate]:
        """Candidates for ``wanted``, best first (at most a handful)."""
        ...

    def download(self, candidate: Candidate, target: Path, *, max_bytes: int) -> None:
        """Write the candidate's audio to ``target`` (refusing more than ``max_bytes``)."""
        ...
