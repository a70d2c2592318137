"""Plain data shared by every layer: no I/O, no framework types.

These are the nouns of QFZZ. Repositories return them, domain services take them, and the
API turns them into wire models of its own, so that a change of wire format never reaches
the domain.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "FEEDBACK_STRENGTH",
    "IGNORED_ARTICLES",
    "SOURCE_STATS_HALF_LIFE",
    "SOURCE_STATS_MAX_EVIDENCE",
    "USER_ID_MAX",
    "AlbumGroup",
    "ArtistGroup",
    "Block",
    "Bookmark",
    "GenreCount",
    "IdempotencyKey",
    "Interaction",
    "InteractionType",
    "LedgerEvent",
    "ListenerPreferences",
    "PlayQueue",
    "Playlist",
    "PlaylistItem",
    "QualityReport",
    "ScannedFile",
    "Share",
    "SourceStats",
    "Track",
    "TrackMeta",
    "UserPlaylist",
    "album_group_id",
    "artist_group_id",
    "check_attempt_seconds",
    "feedback_strength",
    "index_letter",
    "normalise_creator",
    "normalise_user_id",
    "record_source_attempt",
    "track_album_key",
    "track_artist_key",
    "user_key",
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
    #: The platform a dataset record came from (normalised: "qq", "netease", a Subsonic
    #: source's name…) and the track's id or URL there: where the resolver looks first.
    origin: str | None = None
    origin_ref: str | None = None


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
class IdempotencyKey:
    """A client's ``Idempotency-Key`` in its scope, with the fingerprint of its request.

    A key is the principal's own (``principal``: who sent it) on one route (``route``:
    method and path template), so two clients can never collide. The same scope and key
    mean "this request again": answered with the first answer when ``fingerprint`` (a
    digest of the request) matches, refused when it does not.
    """

    principal: str
    route: str
    key: str
    fingerprint: str


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


#: The longest user id, in characters after normalisation.
USER_ID_MAX = 64
_USER_ID_RAW_MAX = 4 * USER_ID_MAX  # bounded before normalising
_USER_ID_PUNCTUATION = frozenset("_.@-")


def normalise_user_id(raw: str) -> str:
    """The one spelling a user id is stored and compared in; ``ValueError`` if it has none.

    Unicode NFC, surrounding whitespace stripped; then 1–64 letters (any script) or
    decimal digits, with combining marks and ``_ . @ -`` allowed after the first
    character. Control, format, surrogate, unassigned and private-use characters (Unicode
    category C*), inner whitespace and other symbols are refused, so no id can hide a
    newline or an invisible character, or look like another by its spacing.
    """
    if not isinstance(raw, str) or len(raw) > _USER_ID_RAW_MAX:
        raise ValueError(f"a user id has at most {USER_ID_MAX} characters")
    text = unicodedata.normalize("NFC", raw).strip()
    if not 1 <= len(text) <= USER_ID_MAX:
        raise ValueError(f"a user id has 1 to {USER_ID_MAX} characters")
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category[0] == "L" or category == "Nd":
            continue
        if position and (category[0] == "M" or char in _USER_ID_PUNCTUATION):
            continue
        raise ValueError(
            f"a user id holds letters, digits, '_', '.', '@' or '-' and starts with a letter"
            f" or digit; {char!r} (U+{ord(char):04X}) at position {position + 1} is not allowed"
        )
    return text


def user_key(user_id: str) -> str:
    """What makes two user ids the same account: case and compatibility forms folded.

    NFKC after case folding (``Zoë``, ``ZOË`` and full-width ``ｚｏë`` are one key), so an
    id cannot be registered again in another case or width to pass for someone else.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKD", user_id).casefold())


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


# -- the library as music apps browse it ---------------------------------------------------
#
# QFZZ stores tracks only; albums and artists are groups of tracks. A group is named by its
# natural key (``artist_key``, and ``album_key`` for an album); its ``group_id`` is a short
# digest of that key, so it is stable across restarts and rescans and needs no table of its
# own. Listeners' stars on albums and artists are stored under these ids.


def _group_digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def album_group_id(artist_key: str, album_key: str) -> str:
    """The stable id of the album ``(artist_key, album_key)`` (16 hex digits)."""
    return _group_digest(f"{artist_key}\x1f{album_key}")


#: Leading words an artist index passes over ("The Beatles" under B), as Subsonic says.
IGNORED_ARTICLES = "The El La Los Las Le Les"


def index_letter(name: str) -> str:
    """The letter an artist is listed under: the first letter after an ignored article,
    upper-cased; ``#`` for a name that starts with anything but a letter."""
    words = name.split(maxsplit=1)
    if len(words) == 2 and words[0] in IGNORED_ARTICLES.split():
        name = words[1]
    first = name[:1].upper()
    return first if first.isalpha() else "#"


def artist_group_id(artist_key: str) -> str:
    """The stable id of the artist ``artist_key`` (16 hex digits)."""
    return _group_digest(artist_key)


def track_artist_key(track: Track) -> str:
    """The artist key a track is grouped under (as the store groups it: the creator id, or
    the lower-cased artist of a track that has none)."""
    return track.creator_id or track.meta.artist.casefold()


def track_album_key(track: Track) -> str:
    """The album key a track is grouped under: its album title exactly as tagged, or ``""``."""
    return track.meta.album or ""


@dataclass(frozen=True, slots=True)
class AlbumGroup:
    """The tracks sharing an artist and an album title (untagged ones: ``name`` ``None``)."""

    artist_key: str
    album_key: str
    artist: str
    name: str | None
    song_count: int
    duration: float
    year: int | None
    genre: str | None
    created: float

    @property
    def group_id(self) -> str:
        return album_group_id(self.artist_key, self.album_key)


@dataclass(frozen=True, slots=True)
class ArtistGroup:
    """The tracks sharing a creator id."""

    artist_key: str
    name: str
    album_count: int
    song_count: int

    @property
    def group_id(self) -> str:
        return artist_group_id(self.artist_key)


@dataclass(frozen=True, slots=True)
class GenreCount:
    name: str
    song_count: int
    album_count: int


@dataclass(frozen=True, slots=True)
class UserPlaylist:
    """A playlist a listener made (the DJ's own playlists are ``Playlist``)."""

    playlist_id: int
    user_id: str
    name: str
    comment: str | None
    public: bool
    created_at: float
    changed_at: float
    track_ids: list[int]


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A listener's saved position in a song (one per song)."""

    user_id: str
    track_id: int
    position_ms: int
    comment: str | None
    created_at: float
    changed_at: float


@dataclass(frozen=True, slots=True)
class Share:
    """A public link to some songs: ``share_id`` is its unguessable secret; it stops
    working after ``expires_at`` (``None``: never)."""

    share_id: str
    user_id: str
    description: str | None
    track_ids: list[int]
    created_at: float
    expires_at: float | None
    last_visited: float | None
    visit_count: int


@dataclass(frozen=True, slots=True)
class PlayQueue:
    """What a listener was playing, saved by one app so another can carry on."""

    user_id: str
    track_ids: list[int]
    current: int | None
    position_ms: int
    changed_at: float
    changed_by: str
    #: The playing entry's index in ``track_ids`` (a queue may hold a song twice).
    current_index: int | None = None


class ContentStatus(StrEnum):
    """Where an uploaded content is on its way to listeners."""

    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Derivative:
    """One file derived from an upload (``preview``, ``low``, ``high``) or the original,
    named by the blake3 of its bytes as stored."""

    kind: str
    file_hash: str
    media_type: str
    size: int
    codec: str | None = None
    bitrate: int | None = None
    duration: float | None = None
    #: Where the file is, relative to the data directory (``storage`` serves it by hash).
    path: str | None = None


@dataclass(frozen=True, slots=True)
class UploadedContent:
    """A creator's upload: who owns it, what it is, under which licence, how far along.

    ``media`` is false for a file that is not audio (a booklet, an image): it keeps only
    its original. ``loudness`` (EBU R128 integrated, LUFS) is measured once, on conversion.
    """

    content_id: str
    upload_id: str
    owner: str
    title: str
    artist: str
    license: str
    media_type: str
    size: int
    media: bool
    status: ContentStatus
    created_at: float
    reason: str | None = None
    loudness: float | None = None
    derivatives: tuple[Derivative, ...] = ()

    def derivative(self, kind: str) -> Derivative | None:
        return next((d for d in self.derivatives if d.kind == kind), None)


# --- the resolver's fallback statistics (qfzz.resolver ranks with them, qfzz.store keeps them)

#: How long a fallback statistic takes to lose half its weight: a provider that broke (or
#: recovered) a few weeks ago should not be judged by what it did then.
SOURCE_STATS_HALF_LIFE = 7 * 24 * 3600.0
#: The most evidence (discounted successes + failures) one candidate source keeps: beyond
#: it, older outcomes are scaled down as a new one arrives (the statistics then reflect
#: about the last 30 attempts), so a provider that breaks in the middle of a large resolve
#: is noticed within a few dozen attempts, not after as many failures as it once had
#: successes. Time decay alone cannot do this when thousands of tracks are resolved in an
#: hour. 30 rather than 50 or 100: ``bench/resolver.py`` recovers from a break in about
#: 200–280 fallback attempts with 30, 300 with 50, 650–720 with 100, at the same or
#: better tries per success and p95 (seeds 1–3).
SOURCE_STATS_MAX_EVIDENCE = 30.0


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What the resolver learned about one candidate source for one origin.

    ``attempts`` and ``successes`` are plain counts (the design's smoothed rate and
    warmup use them). ``decayed_successes`` and ``decayed_failures`` are the same outcomes
    discounted by age and bounded in total (see :func:`record_source_attempt`), as of
    ``updated_at``: Thompson sampling's Beta posterior. ``mean_seconds`` is the moving
    mean of attempt durations, weighted as the discounted counts are.
    """

    attempts: int
    successes: int
    last_attempt_at: float | None
    last_success_at: float | None
    decayed_successes: float
    decayed_failures: float
    mean_seconds: float | None
    updated_at: float

    def discount(self, now: float, half_life_seconds: float) -> float:
        """The factor the discounted counts shrink by between ``updated_at`` and ``now``
        (1 when ``now`` is not later: clocks of two processes may disagree a little)."""
        return float(0.5 ** (max(0.0, now - self.updated_at) / half_life_seconds))


def record_source_attempt(
    previous: SourceStats | None,
    *,
    success: bool,
    seconds: float,
    now: float,
    half_life_seconds: float = SOURCE_STATS_HALF_LIFE,
    max_evidence: float = SOURCE_STATS_MAX_EVIDENCE,
) -> SourceStats:
    """``previous`` after one more attempt: the rule every statistics repository applies
    (the SQLite one in SQL, in one atomic upsert).

    The old discounted counts decay to ``now``, the outcome is added, and when their sum
    exceeds ``max_evidence`` both are scaled down to it (their ratio kept). The duration
    mean moves by ``1 / evidence`` of the difference, so it forgets at the counts' pace.
    """
    check_attempt_seconds(seconds)
    won = 1.0 if success else 0.0
    if previous is None:
        return SourceStats(
            attempts=1,
            successes=int(won),
            last_attempt_at=now,
            last_success_at=now if success else None,
            decayed_successes=won,
            decayed_failures=1.0 - won,
            mean_seconds=seconds,
            updated_at=now,
        )
    factor = previous.discount(now, half_life_seconds)
    wins = previous.decayed_successes * factor + won
    losses = previous.decayed_failures * factor + (1.0 - won)
    scale = min(1.0, max_evidence / (wins + losses))
    weight = min(wins + losses, max_evidence)
    mean = previous.mean_seconds
    return SourceStats(
        attempts=previous.attempts + 1,
        successes=previous.successes + int(won),
        last_attempt_at=max(now, previous.last_attempt_at or now),
        last_success_at=(
            max(now, previous.last_success_at or now) if success else previous.last_success_at
        ),
        decayed_successes=wins * scale,
        decayed_failures=losses * scale,
        mean_seconds=seconds if mean is None else mean + (seconds - mean) / weight,
        updated_at=max(now, previous.updated_at),
    )


def check_attempt_seconds(seconds: float) -> None:
    """An attempt's duration must be a finite number of seconds, at least 0."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"an attempt's duration must be finite and >= 0 seconds, not {seconds!r}")


#: A search counts its matches no further than this (counting every match of a frequent
#: word over a million tracks costs a full scan); a larger total is reported as capped.
SEARCH_COUNT_CAP = 1000

#: Most tracks one resolver job takes on (a run is restartable: the rest waits for the
#: next). Here, not in the station, so the CLI can bound its option without importing it.
MAX_RESOLVE = 100_000
