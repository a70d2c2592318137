"""Finding audio for catalog tracks that have none (dataset records), from ranked sources."""

from __future__ import annotations

from qfzz.resolver._fetch import download_to, make_client
from qfzz.resolver._http import HttpJsonSource
from qfzz.resolver._local import LocalFile, LocalSource
from qfzz.resolver._match import ACCEPTABLE, HIGH_CONFIDENCE, confidence, normalise
from qfzz.resolver._mock import MockSource, MockTrack
from qfzz.resolver._ranking import Ranking, Smoothed, Thompson, fallback_order, record_attempt
from qfzz.resolver._resolver import UNKNOWN_ORIGIN, Attempt, Outcome, Resolved, Resolver, Unresolved
from qfzz.resolver._stats import InMemoryStats, SourceStats, StatsRepository
from qfzz.resolver._subsonic import SubsonicSource
from qfzz.resolver._types import Candidate, Source, SourceFailed, Wanted
from qfzz.resolver._verify import (
    Verdict,
    Verifier,
    decoded_seconds,
    fingerprint_of,
    fingerprint_similarity,
    fingerprints_available,
)

__all__ = [
    "ACCEPTABLE",
    "HIGH_CONFIDENCE",
    "UNKNOWN_ORIGIN",
    "Attempt",
    "Candidate",
    "HttpJsonSource",
    "InMemoryStats",
    "LocalFile",
    "LocalSource",
    "MockSource",
    "MockTrack",
    "Outcome",
    "Ranking",
    "Resolved",
    "Resolver",
    "Smoothed",
    "Source",
    "SourceFailed",
    "SourceStats",
    "StatsRepository",
    "SubsonicSource",
    "Thompson",
    "Unresolved",
    "Verdict",
    "Verifier",
    "Wanted",
    "confidence",
    "decoded_seconds",
    "download_to",
    "fallback_order",
    "fingerprint_of",
    "fingerprint_similarity",
    "fingerprints_available",
    "make_client",
    "normalise",
    "record_attempt",
]
