"""Is what a source sent the wanted track? Decoded and measured, never taken on trust.

A source's search matched names; what arrives may still be a truncated file, an HTML error
page with an ``.mp3`` name, a radio edit, or a different recording. So every fetched file is
decoded in full (its real length, not the header's claim), compared with the dataset's
duration (±:data:`DURATION_TOLERANCE` s, the resolver design's rule), and — where the source
offered a Chromaprint reference and libchromaprint (Debian's ``libchromaprint1``, through
pyacoustid's ``chromaprint`` binding) is here — fingerprinted and compared. The fingerprint
is computed from the same decoding pass that measures the length (our decoder, not
``fpcalc``'s, which gives up on a file with one damaged frame). A file that fails any check
is a failed attempt: the track is never marked resolved with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qfzz.audio import SAMPLE_RATE, decode
from qfzz.errors import UnreadableFile
from qfzz.resolver._types import Candidate, Wanted

try:  # the binding loads libchromaprint when imported: without it, no fingerprints
    import chromaprint
except (ImportError, OSError):  # pragma: no cover - depends on the machine
    chromaprint = None

log = logging.getLogger(__name__)

#: Seconds of audio a fingerprint covers (what AcoustID and fpcalc use by default).
FINGERPRINT_SECONDS = 120

DURATION_TOLERANCE = 3.0
#: The shortest file that counts as a track (a 0.2 s blip decodes, but it is no song).
MIN_SECONDS = 1.0
#: Fingerprints agree when at least this share of their bits match at the best alignment.
#: Chromaprint's sub-fingerprints of one recording (even re-encoded) agree on ~90-100% of
#: bits; unrelated audio on ~50% (chance): 0.75 sits well between.
MIN_SIMILARITY = 0.75
#: Alignments tried, in sub-fingerprints (~0.124 s each): a different start (a silence
#: trimmed, a pregap) must not make the same recording look different.
MAX_SHIFT = 80


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str
    seconds: float | None = None
    similarity: float | None = None


def fingerprints_available() -> bool:
    return chromaprint is not None


class Verifier:
    """Checks fetched files; fingerprints are compared when ``fingerprints`` is not False
    and libchromaprint is loadable."""

    def __init__(self, *, fingerprints: bool | None = None) -> None:
        self.fingerprints = fingerprints_available() and fingerprints is not False

    def verify(self, path: Path, wanted: Wanted, candidate: Candidate) -> Verdict:
        reference = candidate.fingerprint if self.fingerprints else None
        try:
            seconds, mine = _measure(path, fingerprint=reference is not None)
        except UnreadableFile as exc:
            return Verdict(False, f"does not decode: {exc}")
        if seconds < MIN_SECONDS:
            return Verdict(False, f"only {seconds:.2f} s of audio", seconds)
        if wanted.duration is not None and abs(seconds - wanted.duration) > DURATION_TOLERANCE:
            return Verdict(
                False, f"lasts {seconds:.1f} s, the track {wanted.duration:.1f} s", seconds
            )
        if reference is not None and mine is not None:
            try:
                similarity = fingerprint_similarity(mine, reference)
            except (ValueError, TypeError) as exc:
                return Verdict(False, f"no fingerprint to compare: {exc}", seconds)
            if similarity < MIN_SIMILARITY:
                return Verdict(
                    False, f"fingerprint differs ({similarity:.2f} alike)", seconds, similarity
                )
            return Verdict(True, "duration and fingerprint match", seconds, similarity)
        return Verdict(True, "decodes, duration matches", seconds)


def decoded_seconds(path: Path) -> float:
    """The file's length by decoding every frame (a header can claim anything)."""
    return _measure(path, fingerprint=False)[0]


def fingerprint_of(path: Path) -> str:
    """The Chromaprint fingerprint of a file's first two minutes, compressed and base64
    encoded as AcoustID and ``fpcalc`` print it."""
    _seconds, printed = _measure(path, fingerprint=True)
    if printed is None:
        raise UnreadableFile(f"{path.name}: no fingerprint (libchromaprint is missing)")
    return printed


def _measure(path: Path, *, fingerprint: bool) -> tuple[float, str | None]:
    """Decode ``path`` once: its length in seconds, and its fingerprint if asked for."""
    printer = None
    if fingerprint and chromaprint is not None:
        printer = chromaprint.Fingerprinter()
        printer.start(SAMPLE_RATE, 2)
    limit = FINGERPRINT_SECONDS * SAMPLE_RATE
    samples = fed = 0
    for block in decode(path):
        samples += block.shape[1]
        if printer is not None and fed < limit:
            part = block[:, : limit - fed]
            pcm = (np.clip(part, -1.0, 1.0) * 32767).astype("<i2")
            printer.feed(pcm.T.tobytes())  # interleaved 16-bit, as Chromaprint takes it
            fed += part.shape[1]
    if printer is None:
        return samples / SAMPLE_RATE, None
    try:
        printed = printer.finish()
    except chromaprint.FingerprintError as exc:
        raise UnreadableFile(f"{path.name}: no fingerprint: {exc}") from exc
    text = printed.decode("ascii") if isinstance(printed, bytes) else str(printed)
    return samples / SAMPLE_RATE, text


def fingerprint_similarity(first: str | bytes, second: str | bytes) -> float:
    """Share of equal bits of two compressed Chromaprint fingerprints at their best
    alignment (within :data:`MAX_SHIFT`), over the overlap; 0 when they barely overlap."""
    a = _sub_fingerprints(first)
    b = _sub_fingerprints(second)
    best = 0.0
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        x, y = a[max(0, shift) :], b[max(0, -shift) :]
        overlap = min(x.size, y.size)
        if overlap < min(a.size, b.size) // 2 or overlap == 0:
            continue  # too little overlap to judge
        differing = int(np.unpackbits((x[:overlap] ^ y[:overlap]).view(np.uint8)).sum())
        best = max(best, 1.0 - differing / (32 * overlap))
    return best


def _sub_fingerprints(fingerprint: str | bytes) -> np.ndarray:
    raw, _algorithm = chromaprint.decode_fingerprint(_as_bytes(fingerprint))
    if not raw:
        raise ValueError("an empty fingerprint")
    return np.asarray(raw, dtype=np.int64).astype(np.uint32)


def _as_bytes(fingerprint: str | bytes) -> bytes:
    return fingerprint.encode("ascii") if isinstance(fingerprint, str) else fingerprint
