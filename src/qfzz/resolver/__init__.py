"""Finding audio for catalog tracks that have none (dataset records), from ranked sources."""

from __future__ import annotations

from qfzz.resolver._types import Candidate, Source, SourceFailed, Wanted

__all__ = ["Candidate", "Source", "SourceFailed", "Wanted"]
