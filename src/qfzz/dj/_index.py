"""The catalog as numpy columns: what the DJ scores in one vectorised pass.

Every track is a row. Strings become small integer codes (``Vocabulary``); a track id maps
to its row through a dense array, so lookups are O(1) without a million-entry dict. The
index is about 50 bytes a track (see ``nbytes``), so a million tracks fit in ~50 MB.

An index is a snapshot: ``extended``, ``without`` and ``with_playable`` return a new index
and leave this one as it was, so a reader that took one reference (``CatalogView.current``)
sees columns of one length and one moment however long it scores, without a lock. Columns
a change does not touch are shared between the two snapshots, not copied.

The one exception is the play counters (``plays`` and the popularity terms derived from
them): ``add_plays`` bumps them in place, because copying a million-row index for every
play would cost more than the play. A counter bump never changes a shape, so a reader sees
a count at most a few plays old, never a row out of place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from qfzz.dj._coded import Coded, factorise
from qfzz.dj._genres import normalise_genre
from qfzz.dj._vocab import Vocabulary
from qfzz.dj._weights import TEMPO_SCALE, W_ENERGY, W_TEMPO
from qfzz.models import normalise_creator

#: Energy of a track whose energy is unknown: the middle, so it neither wins nor loses.
UNKNOWN_ENERGY = 0.5
#: Plays at which the popularity term saturates (log scale below it).
POPULARITY_SATURATION = 1000.0
POPULARITY_WEIGHT = 0.05
#: Up to this many plays are counted row by row: cheaper than the vectorised path's
#: fancy indexing when a request counts one play.
_FEW_PLAYS = 4

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

_serials = itertools.count(1)


@dataclass(frozen=True, slots=True)
class TrackFeatures:
    """One track's features as plain Python values (for feedback and reasons)."""

    row: int
    track_id: int
    genre: str
    artist: str
    artist_display: str
    mood: str
    energy: float
    tempo: float | None
    playable: bool


@dataclass(frozen=True, slots=True)
class _Columns:
    track_ids: npt.NDArray[np.int64]
    genre: I32
    artist: I32
    mood: I32
    energy: F32
    tempo: F32
    playable: npt.NDArray[np.bool_]
    active: npt.NDArray[np.bool_]
    plays: F32


class CatalogIndex:
    """An immutable snapshot of the live catalog's columns and the vocabularies that decode
    them (play counters excepted, see the module docstring)."""

    def __init__(self) -> None:
        self._build(
            (Vocabulary(), Vocabulary(), Vocabulary()),
            _Columns(
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0, dtype=np.float32),
                np.zeros(0, dtype=np.float32),
                np.zeros(0, dtype=bool),
                np.zeros(0, dtype=bool),
                np.zeros(0, dtype=np.float32),
            ),
            np.full(1, -1, dtype=np.int32),
        )

    def _build(
        self,
        vocabularies: tuple[Vocabulary, Vocabulary, Vocabulary],
        columns: _Columns,
        row_of_id: I32,
        artist_layout: tuple[I32, npt.NDArray[np.int64]] | None = None,
    ) -> None:
        #: Unique per snapshot: scratch space derived from an index is keyed by it.
        self.serial = next(_serials)
        self.genres, self.artists, self.moods = vocabularies
        self.track_ids = columns.track_ids
        self.genre = columns.genre
        self.artist = columns.artist
        self.mood = columns.mood
        self.energy = columns.energy
        self.tempo = columns.tempo
        self.playable = columns.playable
        self.active = columns.active
        self.plays = columns.plays
        self._row_of_id = row_of_id
        # Pre-scaled copies save the scorer one pass over the catalog each (see _scoring).
        self.energy_scaled: F32 = (self.energy * np.float32(W_ENERGY)).astype(np.float32)
        # The tempo term per target tempo (a listener picks one of three), made by the
        # first request that needs it: one pass per request instead of four.
        self._tempo_penalties: dict[float, F32] = {}
        popularity = _popularity(self.plays)
        self.base_all: F32 = np.where(self.active, popularity, -np.inf).astype(np.float32)
        self.base_playable: F32 = np.where(self.active & self.playable, popularity, -np.inf).astype(
            np.float32
        )
        if artist_layout is None:  # built now, never lazily by a reader
            order = np.argsort(self.artist, kind="stable").astype(np.int32)
            counts = np.bincount(self.artist, minlength=len(self.artists))
            artist_layout = (order, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        self._artist_order, self._artist_starts = artist_layout
        self._artist_sizes: npt.NDArray[np.int64] | None = None

    def _columns(self) -> _Columns:
        return _Columns(
            self.track_ids,
            self.genre,
            self.artist,
            self.mood,
            self.energy,
            self.tempo,
            self.playable,
            self.active,
            self.plays,
        )

    def __len__(self) -> int:
        return int(self.track_ids.shape[0])

    @property
    def active_count(self) -> int:
        return int(self.active.sum())

    def extended(
        self,
        track_ids: Sequence[int],
        artists: Sequence[str],
        genres: Sequence[str | None],
        moods: Sequence[str | None],
        energies: Sequence[float | None],
        tempos: Sequence[float | None],
        playable: Sequence[bool],
        plays: Sequence[int] | None = None,
        *,
        removed: Sequence[int] = (),
    ) -> CatalogIndex:
        """A new index with these tracks added (a track already indexed: old row retired)
        and the ``removed`` ones retired — one snapshot for a whole rescan.

        The row-by-row form of ``extended_columns`` (a rescan's few tracks, tests); an
        unknown energy or tempo is ``None``.
        """
        n = len(track_ids)
        return self.extended_columns(
            np.array(track_ids, dtype=np.int64),  # copies: the index keeps it
            factorise(artists),
            factorise(genres),
            factorise(moods),
            np.asarray(energies, dtype=np.float64).reshape(n),  # None → NaN
            np.asarray(tempos, dtype=np.float64).reshape(n),
            np.array(playable, dtype=bool).reshape(n),
            None if plays is None else np.asarray(plays, dtype=np.float32).reshape(n),
            removed=removed,
        )

    def extended_columns(
        self,
        track_ids: npt.NDArray[np.int64],
        artists: Coded,
        genres: Coded,
        moods: Coded,
        energies: npt.NDArray[np.float64],
        tempos: npt.NDArray[np.float64],
        playable: npt.NDArray[np.bool_],
        plays: npt.NDArray[np.float32] | None = None,
        *,
        removed: Sequence[int] = (),
    ) -> CatalogIndex:
        """``extended`` from columns (the whole catalog at start-up): text as codes into
        its distinct values, an unknown energy or tempo NaN. Each distinct string is
        normalised and given its vocabulary code once; the tracks' codes are one gather.
        The index may keep ``track_ids`` and ``playable`` as they are (never changing
        them): the caller hands them over.
        """
        n = track_ids.shape[0]
        if n == 0:
            return self.without(removed) if removed else self
        ids = track_ids.astype(np.int64, copy=False)
        genres_v, artists_v, moods_v = (v.copy() for v in (self.genres, self.artists, self.moods))
        genre_codes = _encode(genres, lambda g: genres_v.code(normalise_genre(g), g or ""))
        artist_codes = _encode(
            artists, lambda a: artists_v.code(normalise_creator(a or ""), a or "")
        )
        mood_codes = _encode(moods, lambda m: moods_v.code((m or "").strip().casefold()))
        energy = np.where(np.isnan(energies), UNKNOWN_ENERGY, energies).astype(np.float32)
        tempo = tempos.astype(np.float32)
        play_counts = np.zeros(n, dtype=np.float32) if plays is None else plays.astype(np.float32)
        active, row_of_id = self._retired(
            np.concatenate([ids, np.asarray(removed, dtype=np.int64)])
        )
        first_row = len(self)
        columns = _Columns(
            _joined(self.track_ids, ids),
            _joined(self.genre, genre_codes),
            _joined(self.artist, artist_codes),
            _joined(self.mood, mood_codes),
            _joined(self.energy, energy),
            _joined(self.tempo, tempo),
            _joined(self.playable, playable.astype(bool, copy=False)),
            _joined(active, np.ones(n, dtype=bool)),
            _joined(self.plays, play_counts),
        )
        max_id = int(ids.max())
        if max_id >= row_of_id.shape[0]:
            grown = np.full(max(max_id + 1, 2 * row_of_id.shape[0]), -1, dtype=np.int32)
            grown[: row_of_id.shape[0]] = row_of_id
            row_of_id = grown
        elif row_of_id is self._row_of_id:
            row_of_id = row_of_id.copy()
        row_of_id[ids] = np.arange(first_row, first_row + n, dtype=np.int32)
        return self._next((genres_v, artists_v, moods_v), columns, row_of_id)

    def without(self, track_ids: Sequence[int]) -> CatalogIndex:
        """A new index where these tracks are retired (their rows stay, inactive)."""
        active, row_of_id = self._retired(np.asarray(track_ids, dtype=np.int64))
        if active is self.active:
            return self
        columns = replace(self._columns(), active=active)
        return self._next(
            (self.genres, self.artists, self.moods),
            columns,
            row_of_id,
            (self._artist_order, self._artist_starts),
        )

    def with_playable(self, row: int, playable: bool) -> CatalogIndex:
        """A new index where one row is (or is no longer) playable."""
        if row < 0 or bool(self.playable[row]) == playable:
            return self
        flags = self.playable.copy()
        flags[row] = playable
        columns = replace(self._columns(), playable=flags)
        return self._next(
            (self.genres, self.artists, self.moods),
            columns,
            self._row_of_id,
            (self._artist_order, self._artist_starts),
        )

    def _next(
        self,
        vocabularies: tuple[Vocabulary, Vocabulary, Vocabulary],
        columns: _Columns,
        row_of_id: I32,
        artist_layout: tuple[I32, npt.NDArray[np.int64]] | None = None,
    ) -> CatalogIndex:
        # The play counters are copied: ``add_plays`` on this snapshot must not reach the next.
        columns = replace(columns, plays=columns.plays.copy())
        successor = CatalogIndex.__new__(CatalogIndex)
        successor._build(vocabularies, columns, row_of_id, artist_layout)
        return successor

    def row_of(self, track_id: int) -> int:
        """The row of a live track, or -1."""
        if 0 <= track_id < self._row_of_id.shape[0]:
            return int(self._row_of_id[track_id])
        return -1

    def rows_of(self, track_ids: Sequence[int] | npt.NDArray[np.int64]) -> I32:
        ids = np.asarray(track_ids, dtype=np.int64)
        inside = (ids >= 0) & (ids < self._row_of_id.shape[0])
        rows = np.full(ids.shape[0], -1, dtype=np.int32)
        rows[inside] = self._row_of_id[ids[inside]]
        return rows

    def features(self, row: int) -> TrackFeatures:
        tempo = float(self.tempo[row])
        artist_code = int(self.artist[row])
        return TrackFeatures(
            row=row,
            track_id=int(self.track_ids[row]),
            genre=self.genres.keys[int(self.genre[row])],
            artist=self.artists.keys[artist_code],
            artist_display=self.artists.display[artist_code],
            mood=self.moods.keys[int(self.mood[row])],
            energy=float(self.energy[row]),
            tempo=None if np.isnan(tempo) else tempo,
            playable=bool(self.playable[row]),
        )

    def artist_sizes(self, codes: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int64]:
        """How many rows each artist code has (code 0: tracks without an artist; kept
        per snapshot), or each of the given ``codes`` (without a pass over every artist)."""
        starts = self._artist_starts
        if codes is None:
            every = self._artist_sizes
            if every is None or every.shape[0] != len(self.artists):
                every = self.artist_sizes(np.arange(len(self.artists), dtype=np.int64))
                self._artist_sizes = every  # a benign race: both writers compute the same
            return every
        inside = codes + 1 < starts.shape[0]
        sizes = np.zeros(codes.shape[0], dtype=np.int64)
        sizes[inside] = starts[codes[inside] + 1] - starts[codes[inside]]
        return sizes

    def random_rows_of_artists(
        self, codes: npt.NDArray[np.int64], rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        """One row drawn uniformly from each given artist's tracks (every code must have
        at least one row): a draw by artist without touching the whole catalog."""
        starts = self._artist_starts[codes]
        sizes = self._artist_starts[codes + 1] - starts
        picks = starts + (rng.random(codes.shape[0]) * sizes).astype(np.int64)
        return self._artist_order[picks].astype(np.int64)

    def rows_of_artist(self, artist_code: int) -> I32:
        """Rows of one artist's tracks (a CSR layout built with the snapshot)."""
        if artist_code + 1 >= self._artist_starts.shape[0]:
            return np.zeros(0, dtype=np.int32)
        start, stop = self._artist_starts[artist_code], self._artist_starts[artist_code + 1]
        return self._artist_order[start:stop]

    def tempo_penalty(self, target: float) -> F32:
        """``W_TEMPO · min(1, |tempo − target| / tolerance)`` per row (an unknown tempo:
        the whole ``W_TEMPO``), computed once per snapshot and target."""
        penalty = self._tempo_penalties.get(target)
        if penalty is None:
            scale = np.float32(TEMPO_SCALE)
            penalty = np.abs(self.tempo * scale - np.float32(target) * scale)
            np.fmin(penalty, np.float32(W_TEMPO), out=penalty)  # fmin: NaN → W_TEMPO
            self._tempo_penalties[target] = penalty  # a benign race: writers agree
        return penalty

    def add_plays(self, rows: Sequence[int]) -> None:
        """Count plays in place; only the popularity terms of those rows change.

        The caller serialises this with the snapshot's replacement (``CatalogView``), so a
        play counted here is never lost by a copy made at the same moment.
        """
        if len(rows) <= _FEW_PLAYS:  # one request's plays: slices, no fancy indexing
            for row in rows:
                one = slice(row, row + 1)
                self.plays[one] += 1
                term = _popularity(self.plays[one])
                alive = bool(self.active[row])
                self.base_all[one] = term if alive else -np.inf
                self.base_playable[one] = term if alive and self.playable[row] else -np.inf
            return
        at = np.asarray(rows, dtype=np.int64)
        np.add.at(self.plays, at, 1)
        term = _popularity(self.plays[at])
        live = self.active[at]
        self.base_all[at] = np.where(live, term, -np.inf)
        self.base_playable[at] = np.where(live & self.playable[at], term, -np.inf)

    def popularity(self, row: int) -> float:
        return float(_popularity(self.plays[row : row + 1])[0])

    def nbytes(self) -> int:
        columns = self._columns()
        arrays: tuple[npt.NDArray[np.generic], ...] = (
            *(getattr(columns, f.name) for f in fields(columns)),
            self._row_of_id,
            self._artist_order,
            self._artist_starts,
            self.base_playable,
            self.base_all,
            self.energy_scaled,
            *self._tempo_penalties.values(),
        )
        vocab = self.genres.nbytes() + self.artists.nbytes() + self.moods.nbytes()
        return sum(a.nbytes for a in arrays) + vocab

    def _retired(self, ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], I32]:
        """Copies of ``active`` and the id map with these ids retired (or the originals
        when none of them is live)."""
        rows = self.rows_of(ids)
        rows = rows[rows >= 0]
        if not rows.shape[0]:
            return self.active, self._row_of_id
        active = self.active.copy()
        active[rows] = False
        row_of_id = self._row_of_id.copy()
        row_of_id[self.track_ids[rows]] = -1
        return active, row_of_id


def _joined(old: npt.NDArray[Any], new: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``old`` then ``new``; ``new`` itself when ``old`` is empty (the first load), so the
    whole catalog's columns are not held twice while the index is built."""
    return new if old.shape[0] == 0 else np.concatenate([old, new])


def _encode(column: Coded, code: Callable[[str | None], int]) -> I32:
    """Each track's vocabulary code: ``code`` of each distinct value (in the order first
    seen, so codes are numbered as a row-by-row pass would number them), then one gather."""
    of_value = np.fromiter(map(code, column.values), np.int32, len(column.values))
    return of_value[column.codes] if of_value.shape[0] else np.zeros(0, dtype=np.int32)


def _popularity(plays: F32) -> F32:
    scaled = np.log1p(plays) / np.float32(np.log1p(POPULARITY_SATURATION))
    return (np.minimum(scaled, 1.0) * POPULARITY_WEIGHT).astype(np.float32)
