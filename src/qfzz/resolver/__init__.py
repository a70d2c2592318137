"""Finding audio for catalog tracks that have none (dataset records), from ranked sources."""

from __future__ import annotations

from qfzz.resolver._http import HttpJsonSource
from qfzz.resolver._local import LocalFile, LocalSource
from qfzz.resolver._match import ACCEPTABLE, HIGH_CONFIDENCE, confidence, normalise
from qfzz.resolver._mock import MockSource, MockTrack
from qfzz.resolver._subsonic import SubsonicSource
from qfzz.resolver._types import Candidate, Source, SourceFailed, Wanted

__all__ = [
    "ACCEPTABLE",
    "HIGH_CONFIDENCE",
    "Candidate",
    "HttpJsonSource",
    "LocalFile",
    "LocalSource",
    "MockSource",
    "MockTrack",
    "Source",
    "SourceFailed",
    "SubsonicSource",
    "Wanted",
    "confidence",
    "normalise",
]
