"""Full-text search over the tracks' title, artist and album, and over the library's groups
(albums: name and artist; artists: name), indexed on both databases.

Semantics (the same on SQLite and PostgreSQL): the query is folded (case and diacritics:
"beyonce" finds "Beyoncé") and split on whitespace; *every* word must occur in the title,
the artist or the album of a track (AND; each word may match a different field). A word
of three or more characters matches anywhere, inside words too ("yonc" finds "Beyoncé");
a word of one or two characters matches the *start* of a word ("be" finds "Beyoncé", not
"Abbey"): a trigram index cannot find a shorter substring without reading everything, and
a prefix is what someone typing a name has typed so far. Matches come in track-id order
(the order the indexes yield, so a page stops reading once it is full and pages are stable).

SQLite: an FTS5 table ``track_search`` with the trigram tokenizer holds a folded copy of
the three fields, kept by triggers on ``tracks`` (so no writer can forget it). SQLite's
trigram tokenizer folds case but (before 3.45, and the venv has 3.40) not diacritics, so
the folding is Python's (``fold``), registered as the SQL function ``qfzz_index_text`` on every
connection the store opens. Words in the copy are separated by two spaces and it starts
with two, so a short word's prefix is a trigram too ("  b", " be") and uses the index.

PostgreSQL: a ``pg_trgm`` GIN index on the stored generated column ``tracks.search_text``
(``qfzz_search_text(title, artist, album)``, an immutable SQL function: ``unaccent`` and
``lower``), so again nothing has to maintain it; stored, so rechecking a candidate does not
run ``unaccent`` again. The column is not in ``_schema.tracks``: only the search reads it.
A word is ``LIKE '%word%'`` and a short one ``LIKE '% wo%'``, both of which
pg_trgm answers from the index (a ``tsvector`` cannot find a word's inside at all); only
the rarest word of a query uses the index (``_postgres_match``).

The groups use the same machinery (``SearchTarget``: a table, its FTS5 table, its
generated column): ``album_search``/``artist_search`` kept by triggers on ``albums`` and
``artists``, and ``albums.search_text``/``artists.search_text`` with GIN indexes (0017).

Counting every match of a frequent word over a million tracks costs as much as a full scan,
so counts stop at ``SEARCH_COUNT_CAP + 1`` rows (``counted_page``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    RowMapping,
    Table,
    and_,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.types import Text

from qfzz.errors import InvalidInput
from qfzz.models import SEARCH_COUNT_CAP
from qfzz.store._rows import TRACK_COLUMNS
from qfzz.store._schema import albums, artists, tracks

#: More words or characters than this is not a search someone typed (no title, artist or
#: album is longer than 500 characters); refused as invalid input (a 4xx).
MAX_WORDS = 16
MAX_QUERY_CHARS = 1000
#: Shorter words match word starts only (see the module docstring).
TRIGRAM = 3
INDEX_TEXT_FUNCTION = "qfzz_index_text"


@dataclass(frozen=True, slots=True)
class SearchTarget:
    """A searchable table: its own rows (by ``id``), the SQLite FTS5 table holding their
    folded text under the same rowid, and (PostgreSQL) its stored ``search_text`` column."""

    rows: Table
    fts: str

    @property
    def searched(self) -> ColumnElement[str]:
        return literal_column(f"{self.rows.name}.search_text", Text)


TRACKS = SearchTarget(tracks, "track_search")
ALBUMS = SearchTarget(albums, "album_search")
ARTISTS = SearchTarget(artists, "artist_search")


def fold(value: str | None) -> str:
    """Case and diacritics folded ("Beyoncé" → "beyonce", "Straße" → "strasse"), every
    compatibility form to its plain one ("ﬁ" → "fi")."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def index_text(value: str | None) -> str:
    """A field as the SQLite index holds it: folded words, each after two spaces."""
    return "".join(f"  {word}" for word in fold(value).split())


def query_words(query: str | None) -> list[str]:
    """The distinct folded words of ``query`` (empty: no text condition); control
    characters (NUL too, which PostgreSQL cannot take) separate words like spaces."""
    if not query:
        return []
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"a search may be at most {MAX_QUERY_CHARS} characters long")
    spaced = "".join(" " if unicodedata.category(c) == "Cc" else c for c in query)
    words = list(dict.fromkeys(fold(spaced).split()))
    if len(words) > MAX_WORDS:
        raise InvalidInput(f"a search may hold at most {MAX_WORDS} words")
    return words


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """``qfzz_index_text`` for the triggers that keep ``track_search`` (every connection)."""
    dbapi_connection.create_function(INDEX_TEXT_FUNCTION, 1, index_text, deterministic=True)


@dataclass(frozen=True, slots=True)
class TextMatch:
    """The rows matching a query's words: what to select from, the condition, and the
    column to order by (the index's own order, so a page reads no further than it shows)."""

    source: FromClause
    condition: ColumnElement[bool]
    order: ColumnElement[Any]


def text_match(
    conn: Connection, query: str | None, *, sqlite: bool, target: SearchTarget = TRACKS
) -> TextMatch | None:
    """The match for ``query`` over ``target`` on this database, or ``None`` when it has
    no words."""
    words = query_words(query)
    if not words:
        return None
    rows = target.rows
    if sqlite:
        index = table(target.fts, column("rowid"))
        return TextMatch(
            index.join(rows, rows.c.id == index.c.rowid),
            literal_column(target.fts).bool_op("MATCH")(literal(_fts_query(words))),
            index.c.rowid,
        )
    condition, indexed = _postgres_match(conn, words, target)
    # With an indexed word, ``id + 0`` keeps the planner from walking the primary key in
    # order and filtering (it expects a thousand matches within a few percent of the table;
    # a word in 0.5% of tracks made that read 200k rows): the bitmap of at most
    # DENSE_MATCHES rows is sorted instead.
    return TextMatch(rows, condition, rows.c.id + 0 if indexed else rows.c.id)


#: Above this many estimated matches for its rarest word, a query reads tracks in id order
#: and filters (the page fills within a few thousand rows) instead of building a bitmap.
DENSE_MATCHES = 20_000


def _postgres_match(
    conn: Connection, words: list[str], target: SearchTarget
) -> tuple[ColumnElement[bool], bool]:
    """The condition, and whether a word uses the index.

    Only the rarest word (by the planner's own estimate) is an indexable ``LIKE``; the
    others are ``strpos`` filters on its candidates. Left to itself, PostgreSQL ANDs every
    word's trigram lists and underestimates the result of several frequent words, so
    "album 1" at 1M tracks built a bitmap of 100k rows and rechecked them: 1.7 s. When even
    the rarest word is frequent, no word is indexable: reading in id order fills a page
    after a few hundred rows."""
    searched = target.searched
    likes = [searched.like(_like_pattern(w), escape="\\") for w in words]
    estimates = [_estimated_rows(conn, target.rows, like) for like in likes]
    rarest = min(range(len(words)), key=estimates.__getitem__)
    conditions: list[ColumnElement[bool]] = [
        func.strpos(searched, _needle(word)) > 0
        for i, word in enumerate(words)
        if i != rarest or estimates[rarest] > DENSE_MATCHES
    ]
    indexed = estimates[rarest] <= DENSE_MATCHES
    if indexed:
        conditions.append(likes[rarest])
    return and_(*conditions), indexed


def _estimated_rows(conn: Connection, rows: Table, condition: ColumnElement[bool]) -> float:
    compiled = select(rows.c.id).where(condition).compile(dialect=conn.dialect)
    plan: Any = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return float(plan[0]["Plan"]["Plan Rows"])


def counted_page(
    conn: Connection,
    source: FromClause,
    conditions: Sequence[ColumnElement[bool]],
    order: ColumnElement[Any],
    *,
    limit: int,
    offset: int,
) -> tuple[int, list[RowMapping]]:
    """A page of matching tracks and how many match, counted no further than
    ``SEARCH_COUNT_CAP + 1`` (more than the cap reads as ``SEARCH_COUNT_CAP + 1``).

    The match is evaluated once: the first ``SEARCH_COUNT_CAP + 1`` ids in order give both
    the count and (unless the page lies beyond them) the page, whose rows are then read by
    id. Evaluating it twice (a count, then the page) doubled the cost of the expensive
    case: a rare word beside frequent ones, where the whole intersection is computed.
    """
    matching = select(tracks.c.id).select_from(source).where(*conditions).order_by(order)
    ids = list(conn.scalars(matching.limit(SEARCH_COUNT_CAP + 1)))
    if offset + limit <= len(ids) or len(ids) <= SEARCH_COUNT_CAP:
        page = ids[offset : offset + limit]
        rows = conn.execute(
            select(*TRACK_COLUMNS).where(tracks.c.id.in_(page)).order_by(tracks.c.id)
        ).mappings()
        return len(ids), list(rows)
    rows = conn.execute(
        select(*TRACK_COLUMNS)
        .select_from(source)
        .where(*conditions)
        .order_by(order)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return len(ids), list(rows)


def _fts_query(words: list[str]) -> str:
    """An FTS5 query of one quoted phrase per word (quotes doubled, so no word is read as
    FTS syntax: ``NEAR``, ``*``, ``-``, parentheses are just characters)."""
    phrases = []
    for word in words:
        if len(word) < TRIGRAM:
            word = " " * (TRIGRAM - len(word)) + word  # a word start (see index_text)
        phrases.append('"' + word.replace('"', '""') + '"')
    return " AND ".join(phrases)


def _needle(word: str) -> ColumnElement[str]:
    """The word folded by the database itself (the index's function); a short word with
    the space before it (a word start)."""
    folded = func.qfzz_fold(literal(word))
    return literal(" ") + folded if len(word) < TRIGRAM else folded


def _like_pattern(word: str) -> ColumnElement[str]:
    """``%word%`` (``% wo%`` for a short word), wildcards escaped."""
    needle = _needle(word)
    escaped = func.replace(func.replace(func.replace(needle, "\\", "\\\\"), "%", "\\%"), "_", "\\_")
    return literal("%") + escaped + literal("%")
