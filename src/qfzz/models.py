"""Plain data shared by every layer: no I/O, no framework types.

These are the nouns of QFZZ. Repositories return them, domain services take them, and the
API turns them into wire models of its own, so that a change of wire format never reaches
the domain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "FEEDBACK_STRENGTH",
    "Block",
    "Interaction",
    "InteractionType",
    "LedgerEvent",
    "ListenerPreferences",
    "Playlist",
    "PlaylistItem",
    "QualityReport",
    "ScannedFile",
    "Track",
    "TrackMeta",
    "feedback_strength",
    "normalise_creator",
]


class InteractionType(StrEnum):
    PLAY = "play"
    SKIP = "skip"
    LIKE = "like"
    DISLIKE = "dislike"
    FAVORITE = "favorite"
    RATE = "rate"


#: How strongly each interaction moves a listener's weights (QFZZ design). ``rate`` is
#: ``(r - 0.5) * 0.2`` and is computed by :func:`feedback_strength`.
FEEDBACK_STRENGTH: dict[InteractionType, float] = {
    InteractionType.PLAY: 0.05,
    InteractionType.SKIP: -0.05,
    InteractionType.LIKE: 0.1,
    InteractionType.DISLIKE: -0.1,
    InteractionType.FAVORITE: 0.2,
}


def feedback_strength(kind: InteractionType, rating: float | None = None) -> float:
    """The signed weight change one interaction causes."""
    if kind is InteractionType.RATE:
        if rating is None:
            raise ValueError("a rate interaction needs a rating")
        return (rating - 0.5) * 0.2
    return FEEDBACK_STRENGTH[kind]


@dataclass(frozen=True, slots=True)
class TrackMeta:
    """What is known about a piece of music before it has a catalog id.

    Filled from a file's tags by the scanner or from a dataset record. ``None`` means
    unknown; ``0`` and ``0.0`` are real values (an energy of 0.0 is present).
    """

    title: str
    artist: str
    album: str | None = None
    genre: str | None = None
    year: int | None = None
    mood: str | None = None
    energy: float | None = None
    tempo: float | None = None
    duration: float | None = None
    bitrate: int | None = None
    musicbrainz_id: str | None = None
    format: str | None = None


@dataclass(frozen=True, slots=True)
class Track:
    """A catalogued track. ``playable`` is true when QFZZ holds an audio file for it."""

    track_id: int
    meta: TrackMeta
    path: str | None = None
    playable: bool = False
    content_id: str | None = None
    creator_id: str | None = None
    dataset_id: int | None = None

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def artist(self) -> str:
        return self.meta.artist


@dataclass(frozen=True, slots=True)
class ListenerPreferences:
    """A listener's stated taste. Weights are in [0, 1]; lists get a default weight."""

    genres: dict[str, float] = field(default_factory=dict)
    artists: dict[str, float] = field(default_factory=dict)
    moods: dict[str, float] = field(default_factory=dict)
    discovery_factor: float = 0.2
    energy_level: float = 0.5
    tempo_preference: str = "varied"


@dataclass(frozen=True, slots=True)
class Interaction:
    user_id: str
    track_id: int
    type: InteractionType
    rating: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class PlaylistItem:
    track: Track
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Playlist:
    user_id: str
    items: tuple[PlaylistItem, ...]
    generated_at: float


@dataclass(frozen=True, slots=True)
class QualityReport:
    """A dataset's quality score in [0, 1] with the components it is built from."""

    score: float
    components: dict[str, float]
    license_id: str
    track_count: int


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """An audio file as the library scanner found it, ready to be catalogued."""

    path: str
    size: int
    mtime: float
    meta: TrackMeta
    content_id: str


def normalise_creator(artist: str) -> str:
    """The creator id of an artist: case- and space-insensitive, so "The  Band" == "the band"."""
    return " ".join(artist.casefold().split())


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the trust ledger, exactly as stored (see ``qfzz.trust._blocks``)."""

    index: int
    timestamp_us: int
    through: int
    difficulty: int
    previous_hash: str
    nonce: int
    hash: str
    #: canonical JSON of ``[key, verifications, reports, at_us, interaction_id, user_id,
    #: vote]`` lists
    changes: str
    #: running SHA-256 over the interaction rows the block covers (see ``qfzz.trust``)
    log_hash: str

    def decoded_changes(self) -> list[tuple[str, int, int, int, int, str, int]]:
        """The changes, for a block known to be well-formed (raises otherwise)."""
        return [
            (str(k), int(v), int(r), int(t), int(i), str(u), int(d))
            for k, v, r, t, i, u, d in json.loads(self.changes)
        ]


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """A signed record of the trust ledger (see ``qfzz.trust._events``): a difficulty that
    takes effect from a height, or a repair's acknowledgement of a block's edited rows."""

    seq: int
    kind: str
    height: int
    value: str
    recorded_at_us: int
    signature: str
