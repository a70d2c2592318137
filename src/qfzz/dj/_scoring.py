"""Vectorised scoring of the whole catalog for one listener.

score = 0.30·genre + 0.25·artist + 0.20·energy closeness + 0.15·tempo match + 0.10·mood
        + popularity (≤ 0.05) + the listener's own history (likes, skips, recent plays)

Genre and mood weights come from one small lookup table indexed by the track's codes;
artist weights are scattered onto the few rows of the listener's artists; energy and tempo
are a handful of in-place array operations. There is no Python loop over tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qfzz.dj._genres import related_genres
from qfzz.dj._index import CatalogIndex
from qfzz.dj._profile import ListenerProfile
from qfzz.dj._weights import (
    W_ARTIST,
    W_ENERGY,
    W_GENRE,
    W_MOOD,
    W_TEMPO,
)

RELATED_SHARE = 0.5
RECENT_PENALTY = 10.0
SKIP_PENALTY = 0.3
SKIP_HALF_LIFE_S = 7 * 86400.0

_RELATED = related_genres()


@dataclass(frozen=True, slots=True)
class ProfileVectors:
    """A profile projected onto the index's vocabularies (cheap: O(vocabulary))."""

    genre: npt.NDArray[np.float32]
    mood: npt.NDArray[np.float32]
    artist: dict[int, float]


def project(profile: ListenerProfile, index: CatalogIndex) -> ProfileVectors:
    genre = np.zeros(len(index.genres), dtype=np.float32)
    for key, weight in profile.weights.get("genre", {}).items():
        code = index.genres.get(key)
        if code is not None:
            genre[code] = max(genre[code], weight)
        for other in _RELATED.get(key, ()):
            other_code = index.genres.get(other)
            if other_code is not None:
                genre[other_code] = max(genre[other_code], RELATED_SHARE * weight)
    genre[0] = 0.0
    mood = np.zeros(len(index.moods), dtype=np.float32)
    for key, weight in profile.weights.get("mood", {}).items():
        code = index.moods.get(key)
        if code is not None:
            mood[code] = weight
    mood[0] = 0.0
    artist: dict[int, float] = {}
    for key, weight in profile.weights.get("artist", {}).items():
        code = index.artists.get(key)
        if code is not None and weight > 0:
            artist[code] = weight
    return ProfileVectors(genre, mood, artist)


class Scorer:
    """Holds scratch buffers so scoring a million tracks allocates nothing new."""

    def __init__(self) -> None:
        self._score = np.zeros(0, dtype=np.float32)
        self._tmp = np.zeros(0, dtype=np.float32)
        self._table_codes: npt.NDArray[np.integer] = np.zeros(0, dtype=np.int32)
        self._table_of = -1  # the serial of the index snapshot the table was built for

    def score(
        self,
        index: CatalogIndex,
        profile: ListenerProfile,
        vectors: ProfileVectors,
        *,
        include_unplayable: bool,
        now: float,
        artist_boost: npt.NDArray[np.float32] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Scores of every row; -inf marks rows that may not be picked. ``artist_boost``
        (per artist code: what other listeners' taste adds to each artist) joins the
        listener's own artist weights in one gather.

        The constant parts of the energy and tempo terms (0.20 and 0.15 at a perfect
        match) are left out here because they do not change the ranking; ``constant()``
        gives them back for display.
        """
        n = len(index)
        if self._score.shape[0] != n:
            self._score = np.empty(n, dtype=np.float32)
            self._tmp = np.empty(n, dtype=np.float32)
        score, tmp = self._score, self._tmp
        # Genre and mood through one combined lookup table, written straight into the
        # score buffer; then the base (popularity, -inf for what may not be picked).
        codes = self._combined_codes(index)
        table = W_GENRE * vectors.genre[:, None] + W_MOOD * vectors.mood[None, :]
        # mode="wrap": with ``out`` the default mode ("raise") buffers the whole result
        # and copies it (2-3x slower at 1M rows); every code is in range anyway.
        np.take(table.ravel(), codes, out=score, mode="wrap")
        score += index.base_all if include_unplayable else index.base_playable

        # Energy closeness: -0.2·|e - target|, on energy pre-scaled by 0.2.
        np.subtract(index.energy_scaled, np.float32(W_ENERGY * profile.energy_level), out=tmp)
        np.abs(tmp, out=tmp)
        score -= tmp

        # Tempo match: -0.15·min(1, |t - target| / tolerance); unknown tempo earns nothing.
        # A "varied" listener takes any tempo, so every track keeps the full 0.15.
        target = profile.tempo_target
        if target is not None:
            score -= index.tempo_penalty(target)

        # Artists: scatter onto the rows of the listener's artists when they are few and
        # nothing else is per artist, otherwise one gather through a per-artist table.
        self._add_artists(score, tmp, index, vectors.artist, artist_boost)

        self._apply_history(score, index, profile, now)
        return score

    @staticmethod
    def _add_artists(
        score: npt.NDArray[np.float32],
        tmp: npt.NDArray[np.float32],
        index: CatalogIndex,
        artists: dict[int, float],
        boost: npt.NDArray[np.float32] | None,
    ) -> None:
        if boost is None:
            if not artists:
                return
            groups = [(index.rows_of_artist(code), weight) for code, weight in artists.items()]
            if sum(rows.shape[0] for rows, _ in groups) < len(index) // 16:
                for rows, weight in groups:
                    score[rows] += np.float32(W_ARTIST * weight)
                return
        table = np.zeros(len(index.artists), dtype=np.float32) if boost is None else boost.copy()
        for code, weight in artists.items():
            table[code] += W_ARTIST * weight
        np.take(table, index.artist, out=tmp, mode="wrap")  # unbuffered, as above
        score += tmp

    @staticmethod
    def constant() -> float:
        return W_ENERGY + W_TEMPO

    def _combined_codes(self, index: CatalogIndex) -> npt.NDArray[np.integer]:
        shape = (len(index.genres), len(index.moods))
        if self._table_of != index.serial:
            codes = index.genre * np.int32(shape[1]) + index.mood
            # Half the memory traffic of the biggest gather when the table is small.
            dtype = np.int16 if shape[0] * shape[1] < 2**15 else np.int32
            self._table_codes = codes.astype(dtype)
            self._table_of = index.serial
        return self._table_codes

    @staticmethod
    def _apply_history(
        score: npt.NDArray[np.float32], index: CatalogIndex, profile: ListenerProfile, now: float
    ) -> None:
        if profile.affinity:
            ids = list(profile.affinity)
            rows = index.rows_of(ids)
            values = np.array([profile.affinity[i] for i in ids], dtype=np.float32)
            keep = rows >= 0
            score[rows[keep]] += values[keep]
        if profile.skipped_at:
            ids = list(profile.skipped_at)
            rows = index.rows_of(ids)
            ages = np.array([max(0.0, now - profile.skipped_at[i]) for i in ids])
            penalty = (SKIP_PENALTY * 0.5 ** (ages / SKIP_HALF_LIFE_S)).astype(np.float32)
            keep = rows >= 0
            score[rows[keep]] -= penalty[keep]
        if profile.recent_plays:
            rows = index.rows_of(list(set(profile.recent_plays)))
            score[rows[rows >= 0]] -= np.float32(RECENT_PENALTY)


def skip_penalty(skipped_at: float, now: float) -> float:
    return float(SKIP_PENALTY * 0.5 ** (max(0.0, now - skipped_at) / SKIP_HALF_LIFE_S))
