"""The relational schema, as SQLAlchemy Core tables.

Alembic migrations (``migrations/versions``) create exactly this schema; a test compares
the two so they cannot drift. Times are float seconds since the epoch, taken from the
injected clock, so tests control them and both SQLite and PostgreSQL store them alike.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("license_id", String(64), nullable=False),
    Column("quality_score", Float, nullable=False),
    Column("components", JSON, nullable=False),
    Column("track_count", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

tracks = Table(
    "tracks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=True, unique=True),
    Column("size", Integer, nullable=True),
    Column("mtime", Float, nullable=True),
    Column("title", String(500), nullable=False),
    Column("artist", String(500), nullable=False),
    Column("album", String(500), nullable=True),
    Column("genre", String(200), nullable=True),
    Column("year", Integer, nullable=True),
    Column("mood", String(100), nullable=True),
    Column("energy", Float, nullable=True),
    Column("tempo", Float, nullable=True),
    Column("duration", Float, nullable=True),
    Column("bitrate", Integer, nullable=True),
    Column("format", String(16), nullable=True),
    Column("musicbrainz_id", String(64), nullable=True),
    # where a dataset record came from, for the resolver (issue 17)
    Column("origin", String(64), nullable=True),
    Column("origin_ref", String(512), nullable=True),
    Column("content_id", String(64), nullable=True),
    Column("creator_id", String(500), nullable=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=True),
    Column("playable", Boolean, nullable=False, default=False),
    Column("removed", Boolean, nullable=False, default=False),
    Column("added_at", Float, nullable=False),
    Index("ix_tracks_artist", "artist"),
    Index("ix_tracks_genre", "genre"),
    Index("ix_tracks_content_id", "content_id"),
    # the resolver's work list: dataset tracks without a file, by origin
    Index("ix_tracks_unresolved", "playable", "origin"),
    # the library's groups (``store._groups``): a group's tracks by its natural key
    Index("ix_tracks_group", "creator_id", "playable", "removed"),
)

listeners = Table(
    "listeners",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=True),
    Column("preferences", JSON, nullable=False),
    Column("discovery_factor", Float, nullable=False),
    Column("energy_level", Float, nullable=False),
    Column("tempo_preference", String(16), nullable=False),
    # How many of the listener's interactions the stored weights already include; the
    # rest are replayed on load (interactions are the source of truth).
    Column("profile_interactions", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("role", String(16), nullable=False, default="listener"),
    # The Subsonic app password, encrypted with the server key (never the login password).
    Column("app_password", Text, nullable=True),
    # ``qfzz.models.user_key(user_id)``: unique, so two spellings of one id (case, width)
    # cannot both exist. NULL only for ids stored before it (migration 0008) that do not
    # normalise to themselves or whose key an earlier listener held; they keep their rows.
    Column("user_key", String(256), nullable=True),
    Index("ux_listeners_user_key", "user_key", unique=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("listeners.user_id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("kind", String(16), nullable=False, default="session"),
)

#: A listener's stream key (``station.Accounts.create_stream_key``): a random secret for
#: player URLs that last (``?key=``), stored only as its SHA-256 digest. One per listener:
#: making a new one replaces (revokes) the old; deleting the row revokes it.
stream_keys = Table(
    "stream_keys",
    metadata,
    Column(
        "user_id",
        String(64),
        ForeignKey("listeners.user_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ux_stream_keys_digest", "digest", unique=True),
)

profile_weights = Table(
    "profile_weights",
    metadata,
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("weight", Float, nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), ForeignKey("listeners.user_id"), nullable=False),
    Column("track_id", Integer, ForeignKey("tracks.id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("rating", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_interactions_user", "user_id", "id"),
    Index("ix_interactions_track", "track_id"),
)

playlists = Table(
    "playlists",
    metadata,
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("generated_at", Float, nullable=False),
    Column("items", JSON, nullable=False),
)

#: Append-only: blocks are only ever added, or removed from a bad block onwards by an
#: explicit repair. Validation never trusts these rows; it recomputes every hash.
ledger_blocks = Table(
    "ledger_blocks",
    metadata,
    Column("height", Integer, primary_key=True, autoincrement=False),
    Column("timestamp_us", BigInteger, nullable=False),
    Column("through_interaction", BigInteger, nullable=False),
    Column("difficulty", Integer, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("nonce", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("changes", Text, nullable=False),
    # The running hash over the interaction rows the block covers (qfzz-block-v2); blocks
    # written before it have "" and fail validation until `qfzz ledger repair`.
    Column("log_hash", String(64), nullable=False, server_default=""),
)

#: Signed ledger records (difficulty changes, repair acknowledgements). ``seq`` is chosen
#: by the writer and covered by the signature, so a record cannot be renumbered; two
#: writers choosing the same ``seq`` collide on the primary key.
ledger_events = Table(
    "ledger_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("height", Integer, nullable=False),
    Column("value", String(128), nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("signature", String(128), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(128), primary_key=True),
    Column("user_id", String(64), ForeignKey("listeners.user_id"), nullable=True),
    Column("config", JSON, nullable=False),
    Column("preferences", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

#: The durable job queue (``store.jobs``): a job is ready when ``visible_at`` has passed;
#: taking it pushes ``visible_at`` out by the visibility timeout, acking deletes the row.
#: A *parked* row is only the durable record of a job queued on a cache server: never
#: handed out from here, it is queued again if the server forgets the job.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # first in, first out
    Column("job_id", String(64), nullable=False, unique=True),
    Column("queue", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("visible_at", Float, nullable=False),
    Column("dead", Boolean, nullable=False, default=False),
    Column("error", Text, nullable=True),
    Column("enqueued_at", Float, nullable=False),
    Column("parked", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_jobs_queue_visible", "queue", "dead", "visible_at"),
)

# -- Subsonic: listeners' own collections (favorites, ratings, playlists, play queues) --

#: What a listener starred: ``kind`` is song, album or artist; ``item_key`` a track id
#: (songs) or the album/artist grouping digest. "favorite" interactions are the log; this
#: table is the current state (unstar removes the row).
favorites = Table(
    "favorites",
    metadata,
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("item_key", String(64), primary_key=True),
    Column("created_at", Float, nullable=False),
)

#: A listener's current 1–5 rating of a track ("rate" interactions are the log).
ratings = Table(
    "ratings",
    metadata,
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("track_id", Integer, ForeignKey("tracks.id"), primary_key=True),
    Column("rating", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

user_playlists = Table(
    "user_playlists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), ForeignKey("listeners.user_id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("comment", Text, nullable=True),
    Column("public", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("changed_at", Float, nullable=False),
    Index("ix_user_playlists_user", "user_id"),
)

user_playlist_tracks = Table(
    "user_playlist_tracks",
    metadata,
    Column("playlist_id", Integer, ForeignKey("user_playlists.id"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("track_id", Integer, ForeignKey("tracks.id"), nullable=False),
)

play_queues = Table(
    "play_queues",
    metadata,
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("track_ids", JSON, nullable=False),
    Column("current", Integer, nullable=True),
    Column("position_ms", BigInteger, nullable=False),
    Column("changed_at", Float, nullable=False),
    Column("changed_by", String(200), nullable=False),
    # The playing entry's position in ``track_ids`` (a queue may hold a song twice);
    # NULL for queues saved before migration 0012 (``current`` names the song then).
    Column("current_index", Integer, nullable=True),
)

#: A listener's saved position in a song (audiobooks, long mixes): one per song.
bookmarks = Table(
    "bookmarks",
    metadata,
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("track_id", Integer, ForeignKey("tracks.id"), primary_key=True),
    Column("position_ms", BigInteger, nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("changed_at", Float, nullable=False),
)

#: A public link to some songs (``/share/{id}``): the id is a random url-safe secret, the
#: songs are fixed when it is made (an album or playlist is resolved to its songs then).
#: Past ``expires_at`` (NULL: never) the link and its streams stop working.
shares = Table(
    "shares",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("listeners.user_id"), nullable=False),
    Column("description", Text, nullable=True),
    Column("track_ids", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("last_visited", Float, nullable=True),
    Column("visit_count", Integer, nullable=False, default=0),
    Index("ix_shares_user", "user_id"),
)

#: Creators' uploads (issue 16): one row per finished upload; ``upload_id`` is unique, so
#: a finish that runs twice creates one content, whatever retried it.
contents = Table(
    "contents",
    metadata,
    Column("content_id", String(64), primary_key=True),
    Column("upload_id", String(64), nullable=False, unique=True),
    Column("owner", String(64), ForeignKey("listeners.user_id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("artist", Text, nullable=False),
    Column("license", String(64), nullable=False),
    Column("media_type", String(127), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("loudness", Float, nullable=True),
    Column("derivatives", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_contents_owner", "owner"),
)

#: Every stored file of a content by the blake3 of its bytes, for the storage route.
content_files = Table(
    "content_files",
    metadata,
    Column("file_hash", String(64), primary_key=True),
    # two uploads of the same song make byte-identical derivatives: one hash, two contents
    Column("content_id", String(64), ForeignKey("contents.content_id"), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("media_type", String(127), nullable=False),
)

#: Who may hear or download a content in full (besides its owner, admins, and everyone
#: when its licence is free).
content_licenses = Table(
    "content_licenses",
    metadata,
    Column("content_id", String(64), ForeignKey("contents.content_id"), primary_key=True),
    Column("user_id", String(64), ForeignKey("listeners.user_id"), primary_key=True),
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", Float, nullable=False),
)

#: The first answer to each request sent with an ``Idempotency-Key`` (``store.idempotency``),
#: committed in the same transaction as what the request stored, so a retry whose first
#: attempt was stored (but whose answer was lost) gets that answer instead of a second
#: copy. One key per principal and route; ``answer`` is the JSON the protected repository
#: wrote; rows are ignored after a day (``created_at`` on the injected clock) and pruned
#: oldest first.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("principal", String(64), nullable=False),
    Column("route", String(200), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("answer", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("principal", "route", "key", name="uq_idempotency_keys_scope"),
    Index("ix_idempotency_keys_created", "created_at"),
)

# -- the library's groups (issue 19): albums, artists and genres kept in step with tracks --
#
# Derived state, never written except by ``store._groups`` inside the transaction that
# changes the tracks (``store.tracks``), so a reader never sees them disagree. Only live,
# playable tracks count. ``group_id`` is ``qfzz.models.album_group_id`` /
# ``artist_group_id`` of the natural key; the ``*_sort`` columns are the casefolded names
# the album lists order by (computed in Python, so both databases order alike).

albums = Table(
    "albums",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", String(16), nullable=False),
    Column("artist_key", String(500), nullable=False),
    Column("album_key", String(500), nullable=False),
    Column("draw", Float, nullable=False),  # uniform in [0, 1): random lists probe it
    Column("artist", String(500), nullable=False),
    Column("name", String(500), nullable=True),
    Column("song_count", Integer, nullable=False),
    Column("duration", Float, nullable=False),
    Column("year", Integer, nullable=True),
    Column("genre", String(200), nullable=True),
    Column("created", Float, nullable=False),
    Column("newest", Float, nullable=False),  # −created: NEWEST's index, ascending
    Column("name_sort", String(500), nullable=False),
    Column("artist_sort", String(500), nullable=False),
    Column("genre_sort", String(200), nullable=True),
    Index("ux_albums_group_id", "group_id", unique=True),
    Index("ux_albums_key", "artist_key", "album_key", unique=True),
    Index("ix_albums_by_name", "name_sort", "artist_sort", "id"),
    Index("ix_albums_by_artist", "artist_sort", "name_sort", "id"),
    Index("ix_albums_newest", "newest", "name_sort", "artist_sort", "id"),
    Index("ix_albums_by_year", "year", "name_sort", "artist_sort", "id"),
    Index("ix_albums_by_genre", "genre_sort", "name_sort", "artist_sort", "id"),
    Index("ix_albums_draw", "draw"),
)

artists = Table(
    "artists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", String(16), nullable=False),
    Column("artist_key", String(500), nullable=False),
    Column("name", String(500), nullable=False),
    Column("name_sort", String(500), nullable=False),
    Column("album_count", Integer, nullable=False),
    Column("song_count", Integer, nullable=False),
    Index("ux_artists_group_id", "group_id", unique=True),
    Index("ux_artists_key", "artist_key", unique=True),
    Index("ix_artists_by_name", "name_sort", "id"),
)

#: Songs per (album, genre): an album's tracks may carry several genres, and a genre's
#: album count is its number of rows here.
album_genres = Table(
    "album_genres",
    metadata,
    Column("artist_key", String(500), primary_key=True),
    Column("album_key", String(500), primary_key=True),
    Column("genre", String(200), primary_key=True),
    Column("song_count", Integer, nullable=False),
    Index("ix_album_genres_genre", "genre"),
)

genres = Table(
    "genres",
    metadata,
    Column("genre", String(200), primary_key=True),
    Column("song_count", Integer, nullable=False),
    Column("album_count", Integer, nullable=False),
)

#: Bumped by every change of the groups (same transaction): caches of whole answers
#: (``getArtists``) are valid while it stands still.
library_version = Table(
    "library_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

#: A listener's plays per album (every ``play`` interaction of the album's tracks, removed
#: or not), counted when interactions commit, so "most/recently played" lists read an index.
album_plays = Table(
    "album_plays",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("artist_key", String(500), primary_key=True),
    Column("album_key", String(500), primary_key=True),
    Column("plays", Integer, nullable=False),
    Column("last_played", Float, nullable=False),
    Index("ix_album_plays_plays", "user_id", "plays", "artist_key", "album_key"),
    Index("ix_album_plays_last", "user_id", "last_played", "artist_key", "album_key"),
)

#: A listener's mean rating per album (of the album's tracks the listener rated),
#: recomputed for the album when a rating is stored, so "highest rated" reads an index.
album_ratings = Table(
    "album_ratings",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("artist_key", String(500), primary_key=True),
    Column("album_key", String(500), primary_key=True),
    Column("mean", Float, nullable=False),
    Index("ix_album_ratings_mean", "user_id", "mean", "artist_key", "album_key"),
)

#: Work that must run in one process of the station at a time (a mount's encoders, the
#: miner) is held under a lease: one row per name, its holder, and an epoch that grows by
#: one at every change of holder, so that a holder whose lease ran out is fenced off.
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

#: The collaborative model fitted by one process of a station, for the others to load
#: (``station.TasteModelTrainer``): the last few fits, newest by id.
taste_models = Table(
    "taste_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fitted_through", Integer, nullable=False),  # the last interaction id it saw
    Column("created_at", Float, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
