"""The catalog as numpy columns: what the DJ scores in one vectorised pass.

Every track is a row. Strings become small integer codes (``Vocabulary``); a track id maps
to its row through a dense array, so lookups are O(1) without a million-entry dict. The
index is about 50 bytes a track (see ``nbytes``), so a million tracks fit in ~50 MB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qfzz.dj._genres import normalise_genre
from qfzz.dj._vocab import Vocabulary
from qfzz.dj._weights import TEMPO_SCALE, W_ENERGY
from qfzz.models import normalise_creator

#: Energy of a track whose energy is unknown: the middle, so it neither wins nor loses.
UNKNOWN_ENERGY = 0.5
#: Plays at which the popularity term saturates (log scale below it).
POPULARITY_SATURATION = 1000.0
POPULARITY_WEIGHT = 0.05

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]


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


class CatalogIndex:
    """Column arrays of the live catalog plus the vocabularies that decode them."""

    def __init__(self) -> None:
        self.genres = Vocabulary()
        self.artists = Vocabulary()
        self.moods = Vocabulary()
        self.track_ids = np.zeros(0, dtype=np.int64)
        self.genre = np.zeros(0, dtype=np.int32)
        self.artist = np.zeros(0, dtype=np.int32)
        self.mood = np.zeros(0, dtype=np.int32)
        self.energy = np.zeros(0, dtype=np.float32)
        self.tempo = np.zeros(0, dtype=np.float32)
        self.playable = np.zeros(0, dtype=bool)
        self.active = np.zeros(0, dtype=bool)
        self.plays = np.zeros(0, dtype=np.float32)
        self._row_of_id = np.full(1, -1, dtype=np.int32)
        self._artist_order = np.zeros(0, dtype=np.int32)
        self._artist_starts = np.zeros(1, dtype=np.int64)
        self._artist_dirty = True
        self.energy_scaled: F32 = np.zeros(0, dtype=np.float32)
        self.tempo_scaled: F32 = np.zeros(0, dtype=np.float32)
        self.base_playable: F32 = np.zeros(0, dtype=np.float32)
        self.base_all: F32 = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.track_ids.shape[0])

    @property
    def active_count(self) -> int:
        return int(self.active.sum())

    def extend(
        self,
        track_ids: Sequence[int],
        artists: Sequence[str],
        genres: Sequence[str | None],
        moods: Sequence[str | None],
        energies: Sequence[float | None],
        tempos: Sequence[float | None],
        playable: Sequence[bool],
        plays: Sequence[int] | None = None,
    ) -> None:
        """Add tracks (or refresh ones already indexed: the old row is retired)."""
        n = len(track_ids)
        if n == 0:
            return
        ids = np.asarray(track_ids, dtype=np.int64)
        self._retire(ids)
        genre_codes = np.fromiter(
            (self.genres.code(normalise_genre(g), g or "") for g in genres), np.int32, n
        )
        artist_codes = np.fromiter(
            (self.artists.code(normalise_creator(a), a) for a in artists), np.int32, n
        )
        mood_codes = np.fromiter(
            (self.moods.code((m or "").strip().casefold()) for m in moods), np.int32, n
        )
        energy = np.array([UNKNOWN_ENERGY if e is None else e for e in energies], dtype=np.float32)
        tempo = np.array([np.nan if t is None else t for t in tempos], dtype=np.float32)
        play_counts = (
            np.zeros(n, dtype=np.float32) if plays is None else np.asarray(plays, np.float32)
        )
        first_row = len(self)
        self.track_ids = np.concatenate([self.track_ids, ids])
        self.genre = np.concatenate([self.genre, genre_codes])
        self.artist = np.concatenate([self.artist, artist_codes])
        self.mood = np.concatenate([self.mood, mood_codes])
        self.energy = np.concatenate([self.energy, energy])
        self.tempo = np.concatenate([self.tempo, tempo])
        self.playable = np.concatenate([self.playable, np.asarray(playable, dtype=bool)])
        self.active = np.concatenate([self.active, np.ones(n, dtype=bool)])
        self.plays = np.concatenate([self.plays, play_counts])
        max_id = int(ids.max())
        if max_id >= self._row_of_id.shape[0]:
            grown = np.full(max(max_id + 1, 2 * self._row_of_id.shape[0]), -1, dtype=np.int32)
            grown[: self._row_of_id.shape[0]] = self._row_of_id
            self._row_of_id = grown
        self._row_of_id[ids] = np.arange(first_row, first_row + n, dtype=np.int32)
        self._artist_dirty = True
        # Pre-scaled copies save the scorer one pass over the catalog each (see _scoring).
        self.energy_scaled = (self.energy * np.float32(W_ENERGY)).astype(np.float32)
        self.tempo_scaled = (self.tempo * np.float32(TEMPO_SCALE)).astype(np.float32)
        self._rebuild_base()

    def remove(self, track_ids: Sequence[int]) -> None:
        self._retire(np.asarray(track_ids, dtype=np.int64))
        self._rebuild_base()

    def row_of(self, track_id: int) -> int:
        """The row of a live track, or -1."""
        if 0 <= track_id < self._row_of_id.shape[0]:
            return int(self._row_of_id[track_id])
        return -1

    def rows_of(self, track_ids: Sequence[int]) -> I32:
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

    def rows_of_artist(self, artist_code: int) -> I32:
        """Rows of one artist's tracks, from a CSR layout built lazily after changes."""
        if self._artist_dirty:
            self._artist_order = np.argsort(self.artist, kind="stable").astype(np.int32)
            counts = np.bincount(self.artist, minlength=len(self.artists))
            self._artist_starts = np.concatenate([[0], np.cumsum(counts)])
            self._artist_dirty = False
        if artist_code + 1 >= self._artist_starts.shape[0]:
            return np.zeros(0, dtype=np.int32)
        start, stop = self._artist_starts[artist_code], self._artist_starts[artist_code + 1]
        return self._artist_order[start:stop]

    def set_playable(self, row: int, playable: bool) -> None:
        if row < 0:
            return
        self.playable[row] = playable
        term = _popularity(self.plays[row : row + 1])[0]
        live = bool(self.active[row])
        self.base_playable[row] = term if live and playable else -np.inf

    def add_plays(self, rows: Sequence[int]) -> None:
        """Count plays; only the popularity terms of those rows change."""
        at = np.asarray(rows, dtype=np.int64)
        np.add.at(self.plays, at, 1)
        term = _popularity(self.plays[at])
        live = self.active[at]
        self.base_all[at] = np.where(live, term, -np.inf)
        self.base_playable[at] = np.where(live & self.playable[at], term, -np.inf)

    def popularity(self, row: int) -> float:
        return float(_popularity(self.plays[row : row + 1])[0])

    def nbytes(self) -> int:
        arrays = (
            self.track_ids,
            self.genre,
            self.artist,
            self.mood,
            self.energy,
            self.tempo,
            self.playable,
            self.active,
            self.plays,
            self._row_of_id,
            self._artist_order,
            self._artist_starts,
            self.base_playable,
            self.base_all,
        )
        vocab = self.genres.nbytes() + self.artists.nbytes() + self.moods.nbytes()
        return sum(a.nbytes for a in arrays) + vocab

    def _retire(self, ids: npt.NDArray[np.int64]) -> None:
        rows = self.rows_of(ids.tolist())
        rows = rows[rows >= 0]
        if rows.shape[0]:
            self.active[rows] = False
            self._row_of_id[self.track_ids[rows]] = -1

    def _rebuild_base(self) -> None:
        """Base score: popularity, and -inf where a track may never be picked."""
        popularity = _popularity(self.plays)
        self.base_all = np.where(self.active, popularity, -np.inf).astype(np.float32)
        self.base_playable = np.where(self.active & self.playable, popularity, -np.inf).astype(
            np.float32
        )


def _popularity(plays: F32) -> F32:
    scaled = np.log1p(plays) / np.float32(np.log1p(POPULARITY_SATURATION))
    return (np.minimum(scaled, 1.0) * POPULARITY_WEIGHT).astype(np.float32)
