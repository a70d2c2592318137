"""Wire types of REST v1, separate from the domain models so either can change alone."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from qfzz.api._bounds import Finite, Id, Name, Scalar, ShortName, Unit, UserId, one_line
from qfzz.broadcast import QueuedTrack
from qfzz.models import PlaylistItem, QualityReport, Track
from qfzz.trust import Block, decode_changes


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: How many names a listener may state per kind (genres, artists, moods).
MAX_STATED = 50
#: Most tracks one dataset body may carry (its byte size is bounded too).
MAX_DATASET_TRACKS = 200_000
#: Most fields one dataset record may have.
MAX_RECORD_FIELDS = 64

StatedName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(one_line)]
StatedNames = Annotated[list[StatedName], Field(max_length=MAX_STATED)]
StatedWeights = Annotated[dict[StatedName, Unit], Field(max_length=MAX_STATED)]
TempoPreference = Literal["slow", "medium", "fast", "varied"]


class PreferencesIn(_In):
    genres: StatedNames | StatedWeights = Field(default_factory=list)
    artists: StatedNames | StatedWeights = Field(default_factory=list)
    moods: StatedNames | StatedWeights = Field(default_factory=list)
    discovery_factor: float = Field(default=0.2, ge=0.0, le=1.0)
    energy_level: float = Field(default=0.5, ge=0.0, le=1.0)
    tempo_preference: TempoPreference = "varied"


class ListenerIn(_In):
    user_id: UserId
    #: Needed to sign up; an admin adding a listener may leave it out (the listener then
    #: signs in with the token the answer carries, until they set one).
    password: str | None = Field(default=None, min_length=4, max_length=1024)
    preferences: PreferencesIn = Field(default_factory=PreferencesIn)


class ListenerOut(BaseModel):
    user_id: str
    token: str


class ProfileOut(BaseModel):
    user_id: str
    #: kind (genre, artist, mood…) → key → weight, the strongest first.
    weights: dict[str, dict[str, float]]


class InteractionIn(_In):
    track_id: Id
    type: ShortName
    rating: Finite | None = None


class InteractionOut(BaseModel):
    user_id: str
    track_id: int
    type: str
    rating: float | None
    created_at: float


class TrackOut(BaseModel):
    track_id: int
    title: str
    artist: str
    album: str | None
    genre: str | None
    mood: str | None
    year: int | None
    duration: float | None
    energy: float | None
    tempo: float | None
    playable: bool
    content_id: str | None
    creator_id: str | None

    @classmethod
    def of(cls, track: Track) -> TrackOut:
        meta = track.meta
        return cls(
            track_id=track.track_id,
            title=meta.title,
            artist=meta.artist,
            album=meta.album,
            genre=meta.genre,
            mood=meta.mood,
            year=meta.year,
            duration=meta.duration,
            energy=meta.energy,
            tempo=meta.tempo,
            playable=track.playable,
            content_id=track.content_id,
            creator_id=track.creator_id,
        )


class PlaylistTrackOut(BaseModel):
    track_id: int
    title: str
    artist: str
    album: str | None
    genre: str | None
    mood: str | None
    duration: float | None
    score: float
    reasons: list[str]

    @classmethod
    def of(cls, item: PlaylistItem) -> PlaylistTrackOut:
        meta = item.track.meta
        return cls(
            track_id=item.track.track_id,
            title=meta.title,
            artist=meta.artist,
            album=meta.album,
            genre=meta.genre,
            mood=meta.mood,
            duration=meta.duration,
            score=item.score,
            reasons=list(item.reasons),
        )


class PlaylistOut(BaseModel):
    user_id: str
    tracks: list[PlaylistTrackOut]
    size_capped_at: int | None = Field(
        default=None,
        description="Present when the size asked for is above the station's "
        "max_playlist_size: the size the playlist was made at instead",
    )


class TrackPageOut(BaseModel):
    """One page of a search, in track-id order (stable across pages)."""

    total: int = Field(
        description="How many tracks match, counted up to 1000: when total_capped is true, "
        "more than 1000 match (counting every match of a frequent word costs a full scan)"
    )
    total_capped: bool = False
    tracks: list[TrackOut]


DatasetRecord = Annotated[dict[ShortName, Scalar], Field(max_length=MAX_RECORD_FIELDS)]


class DatasetIn(_In):
    """A catalog dataset: flat track records (scalar values only), all-or-nothing."""

    name: Name
    license: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(one_line)]
    tracks: Annotated[list[DatasetRecord], Field(max_length=MAX_DATASET_TRACKS)]
    min_quality: float | None = Field(default=None, ge=0.0, le=1.0)


class DatasetOut(BaseModel):
    dataset_id: int
    name: str
    license: str
    quality_score: float
    components: dict[str, float]
    track_count: int
    track_ids: list[int]

    @classmethod
    def of(cls, dataset_id: int, name: str, report: QualityReport, ids: list[int]) -> DatasetOut:
        return cls(
            dataset_id=dataset_id,
            name=name,
            license=report.license_id,
            quality_score=report.score,
            components=report.components,
            track_count=len(ids),
            track_ids=ids,
        )


class StartingOut(BaseModel):
    """The step a starting station's library is at: ``done`` of ``total`` (None: unknown)."""

    step: str
    done: int
    total: int | None


class HealthOut(BaseModel):
    """``ok`` (HTTP 200), or ``starting`` (HTTP 503: a load balancer waits) while the
    library is being prepared, with the step it is at."""

    status: str
    running: bool
    tracks: int
    starting: StartingOut | None = None


class SystemVersionOut(BaseModel):
    """Liveness and protocol version of this node, for its peers."""

    status: str
    node_id: str  # blake3(public_key), hex
    public_key: str  # Ed25519, hex
    software_version: str
    schema_version: str


class TrustOut(BaseModel):
    content_id: str
    creator_id: str
    verifications: int
    reports: int
    score: float
    first_update: float | None
    last_update: float | None


class BlockOut(BaseModel):
    index: int
    timestamp_us: int
    through: int
    difficulty: int
    previous_hash: str
    nonce: int
    hash: str
    #: [key, verifications, reports, at_us, interaction_id, user_id, vote]; empty for a
    #: block whose stored payload is not well-formed (``/ledger/verify`` names it)
    changes: list[tuple[str, int, int, int, int, str, int]]
    log_hash: str

    @classmethod
    def of(cls, block: Block) -> BlockOut:
        return cls(
            index=block.index,
            timestamp_us=block.timestamp_us,
            through=block.through,
            difficulty=block.difficulty,
            previous_hash=block.previous_hash,
            nonce=block.nonce,
            hash=block.hash,
            changes=decode_changes(block.changes) or [],
            log_hash=block.log_hash,
        )


class LedgerPageOut(BaseModel):
    height: int
    pending: int
    blocks: list[BlockOut]


class ChainStatusOut(BaseModel):
    valid: bool
    height: int
    first_bad_block: int | None
    reason: str | None = None  # why the first bad block is bad


class StreamTrackOut(BaseModel):
    track_id: int
    title: str
    artist: str
    album: str | None
    duration: float | None

    @classmethod
    def of(cls, track: QueuedTrack) -> StreamTrackOut:
        return cls(
            track_id=track.track_id,
            title=track.title,
            artist=track.artist,
            album=track.album,
            duration=track.duration,
        )


class NowOut(BaseModel):
    track: StreamTrackOut | None
    started_at: float
    position: float


class HistoryItemOut(BaseModel):
    track: StreamTrackOut
    started_at: float
    ended_at: float


class HistoryOut(BaseModel):
    mount: str
    tracks: list[HistoryItemOut]


class SkipOut(BaseModel):
    skipped: StreamTrackOut | None


class StreamUrlsOut(BaseModel):
    """Ready-made player URLs: the streams, and playlist files that point at them."""

    shared_stream: str
    personal_stream: str
    shared_m3u: str
    shared_pls: str
    personal_m3u: str
    personal_pls: str


class StreamKeyOut(BaseModel):
    """A new stream key, shown this once (only its digest is kept)."""

    user_id: str
    key: str
    created_at: float
    urls: StreamUrlsOut


class StreamKeyInfoOut(BaseModel):
    """Whether a listener has a stream key, and since when (never the key itself)."""

    user_id: str
    exists: bool
    created_at: float | None = None


class RowDamageOut(BaseModel):
    block: int
    after: int
    through: int
    contradicted: list[int]  # interactions that no longer say what the block sealed


class MinedOut(BaseModel):
    mined: int
    height: int


class RepairOut(BaseModel):
    first_bad_block: int | None
    removed_blocks: int
    mined_blocks: int
    changes: int
    reason: str | None = None
    #: interaction ids (after, through] derived again from the log (their blocks were cut)
    rederived: tuple[int, int] | None = None
    #: blocks with edited rows acknowledged by a signed event (their sealed votes kept)
    acknowledged: list[RowDamageOut] = Field(default_factory=list)
    valid: bool = True


class ErrorOut(BaseModel):
    """Every error answer: a stable machine-readable code and a human-readable detail."""

    error: str
    detail: str


#: Documented on every route, so clients (and schemathesis) know the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "a body that is not JSON"),
        (401, "missing, wrong or expired credentials"),
        (403, "not allowed for this listener"),
        (404, "unknown listener, track, mount or device"),
        (409, "conflict (e.g. the listener exists)"),
        (413, "the request body is larger than this route accepts"),
        (422, "invalid input"),
        (429, "rate limited (see Retry-After)"),
        (500, "an unexpected error (the detail carries an error id for the operator)"),
        (503, "the station is not running"),
    )
}
