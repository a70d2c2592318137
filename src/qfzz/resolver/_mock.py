"""A source for tests (the resolver's and users'): answers from a list, fails on demand.

Like httpx's ``MockTransport``, it lets a test put any behaviour of a remote source behind
the real interface without a network: answers from given tracks, :class:`SourceFailed` on
any operation, a file that is not audio, time taken (on an injected clock, never by
sleeping) and timeouts. Every call is recorded in ``calls`` for assertions; ``fail``,
``garbage`` and ``latency`` are plain attributes, so a test can break a provider halfway.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from qfzz.resolver._match import confidence
from qfzz.resolver._types import Candidate, SourceFailed, Wanted

OPERATIONS = frozenset({"refresh", "search", "download"})
GARBAGE = b"<html><body>this is not audio</body></html>\n"


@dataclass(frozen=True, slots=True)
class MockTrack:
    """One track a :class:`MockSource` holds. ``payload`` is the file's bytes or a path to
    copy; ``ref`` defaults to the track's position; ``confidence`` overrides the computed
    match (for simulations that set success rates directly)."""

    title: str
    artist: str
    duration: float | None
    payload: bytes | Path
    ref: str | None = None
    suffix: str = ".mp3"
    fingerprint: str | None = None
    confidence: float | None = None


TrackLike = MockTrack | tuple[str, str, float | None, bytes | Path]


class MockSource:
    """A :class:`~qfzz.resolver.Source` over a list of tracks.

    ``fail``: True (every operation) or the operations ("refresh", "search", "download")
    that raise :class:`SourceFailed`. ``garbage``: downloads write bytes that are not audio.
    ``latency``: seconds each operation takes, passed to ``sleep`` (a fake clock's
    ``advance``; required when latency is set, so nothing ever really sleeps);
    ``timeout``: an operation slower than this takes ``timeout`` seconds, then fails.
    """

    def __init__(
        self,
        name: str,
        tracks: Iterable[TrackLike] = (),
        *,
        fail: bool | Collection[str] = False,
        garbage: bool = False,
        latency: float = 0.0,
        sleep: Callable[[float], None] | None = None,
        timeout: float | None = None,
    ) -> None:
        self._name = name
        self.tracks: list[MockTrack] = [
            t if isinstance(t, MockTrack) else MockTrack(*t) for t in tracks
        ]
        self.fail = fail
        self.garbage = garbage
        self.latency = latency
        self.timeout = timeout
        self._sleep = sleep
        self.calls: list[tuple[str, str]] = []  # (operation, title or ref)
        if latency and sleep is None:
            raise ValueError("a MockSource with latency needs sleep= (a fake clock's advance)")
        if not isinstance(fail, bool) and set(fail) - OPERATIONS:
            raise ValueError(f"fail names operations of {sorted(OPERATIONS)}")

    @property
    def name(self) -> str:
        return self._name

    def refresh(self, wanted: Wanted) -> Candidate | None:
        self._enter("refresh", wanted.origin_ref or "")
        for n, track in enumerate(self.tracks):
            if wanted.origin_ref is not None and self._ref(n, track) == wanted.origin_ref:
                return self._candidate(n, track, wanted)
        return None

    def search(self, wanted: Wanted) -> list[Candidate]:
        self._enter("search", wanted.title)
        found = [self._candidate(n, t, wanted) for n, t in enumerate(self.tracks)]
        return sorted((c for c in found if c.confidence > 0), key=lambda c: -c.confidence)[:5]

    def download(self, candidate: Candidate, target: Path, *, max_bytes: int) -> None:
        self._enter("download", candidate.ref)
        track = self._track(candidate.ref)
        if self.garbage:
            data = GARBAGE
        elif isinstance(track.payload, bytes):
            data = track.payload
        else:
            data = _read(track.payload)
        target.write_bytes(data[:max_bytes])  # a refused download leaves a part, as a real one
        if len(data) > max_bytes:
            raise SourceFailed(f"{self._name}: {candidate.ref} is over {max_bytes} B")

    # -- behaviour -------------------------------------------------------------------------

    def _enter(self, operation: str, what: str) -> None:
        self.calls.append((operation, what))
        if self.latency and self._sleep is not None:
            slow = self.timeout is not None and self.latency > self.timeout
            self._sleep(self.timeout if slow and self.timeout is not None else self.latency)
            if slow:
                raise SourceFailed(f"{self._name}: {operation} timed out after {self.timeout} s")
        if self.fail is True or (not isinstance(self.fail, bool) and operation in self.fail):
            raise SourceFailed(f"{self._name}: {operation} failed (as told)")

    def _ref(self, n: int, track: MockTrack) -> str:
        return track.ref if track.ref is not None else str(n)

    def _track(self, ref: str) -> MockTrack:
        for n, track in enumerate(self.tracks):
            if self._ref(n, track) == ref:
                return track
        raise SourceFailed(f"{self._name}: no track {ref!r}")

    def _candidate(self, n: int, track: MockTrack, wanted: Wanted) -> Candidate:
        score = track.confidence
        if score is None:
            score = confidence(wanted, track.title, track.artist, track.duration)
        return Candidate(
            source=self._name,
            ref=self._ref(n, track),
            title=track.title,
            artist=track.artist,
            duration=track.duration,
            confidence=score,
            suffix=track.suffix,
            fingerprint=track.fingerprint,
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFailed(f"cannot read {path}: {exc}") from None
