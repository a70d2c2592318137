"""Finding audio for catalog tracks that have none (dataset records), from ranked sources."""

from __future__ import annotations

from qfzz.resolver._http import HttpJsonSource
from qfzz.resolver._local import LocalFile, LocalSource
from qfzz.resolver._match import ACCEPTABLE, HIGH_CONFIDENCE, confidence, normalise
from qfzz.resolver._mock import MockSource, MockTrack
from qfzz.resolver._ranking import Ranking, Smoothed, Thompson, fallback_order, record_attempt
from qfzz.resolver._stats import InMemoryStats, SourceStats, StatsRepository
from qfzz.resolver._subsonic import SubsonicSource
from qfzz.resolver._types import Candidate, Source, SourceFailed, Wanted

__all__ = [
    "ACCEPTABLE",
    "HIGH_CONFIDENCE",
    "Candidate",
    "HttpJsonSource",
    "InMemoryStats",
    "LocalFile",
    "LocalSource",
    "MockSource",
    "MockTrack",
    "Ranking",
    "Smoothed",
    "Source",
    "SourceFailed",
    "SourceStats",
    "StatsRepository",
    "SubsonicSource",
    "Thompson",
    "Wanted",
    "confidence",
    "fallback_order",
    "normalise",
    "record_attempt",
]
