"""The personalized DJ: score the catalog, mix in discovery, respect the listener.

Flow for one playlist: project the profile onto the index → score every row in one
vectorised pass → take the best rows → draw discovery rows with a seeded RNG → drop what
the trust filter rejects → compose the order (discovery spread out, no artist twice in a
row) → explain every pick.
"""

from __future__ import annotations

import threading
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qfzz.dj._collaborative import EXPLAIN_SHARE, Blend, Collaborative
from qfzz.dj._index import CatalogIndex
from qfzz.dj._profile import TEMPO_TARGETS, ListenerProfile
from qfzz.dj._scoring import (
    RECENT_PENALTY,
    ProfileVectors,
    Scorer,
    project,
    skip_penalty,
)
from qfzz.dj._select import top_rows
from qfzz.dj._view import CatalogView
from qfzz.dj._weights import TEMPO_TOLERANCE_BPM, W_ARTIST, W_ENERGY, W_GENRE, W_MOOD, W_TEMPO

#: Given the ids of candidate tracks, which may be played (the trust ledger's hook).
TrustFilter = Callable[[npt.NDArray[np.int64]], npt.NDArray[np.bool_]]

_TOP_GENRES, _TOP_ARTISTS = 3, 5
_POOL_FACTOR = 3


@dataclass(frozen=True, slots=True)
class Recommendation:
    track_id: int
    score: float
    reasons: tuple[str, ...]


class PersonalizedDJ:
    """Recommends from the catalog's current snapshot; holds no I/O and no listener registry.

    Each call reads ``catalog.current`` once, so one playlist is scored, filtered and
    explained against one snapshot even while a rescan replaces it.
    """

    def __init__(
        self,
        catalog: CatalogView | CatalogIndex,
        *,
        seed: int = 0,
        collaborative: Collaborative | None = None,
    ) -> None:
        self.catalog = catalog if isinstance(catalog, CatalogView) else CatalogView(catalog)
        self.seed = seed
        #: What other listeners teach (its model is swapped in by the station's trainer).
        self.collaborative = collaborative or Collaborative()
        self._scorer = Scorer()
        self._lock = threading.Lock()

    def recommend(
        self,
        profile: ListenerProfile,
        size: int,
        *,
        now: float,
        include_unplayable: bool = False,
        trust_filter: TrustFilter | None = None,
        familiarity: float = 0.0,
    ) -> list[Recommendation]:
        """``familiarity`` is the share of the playlist given to tracks the listener already
        knows (the best scored of them: favourites, liked, played but not lately); the rest
        are tracks they never heard. At 0 the playlist is the ranking of unheard tracks."""
        if not 0.0 <= familiarity <= 1.0:
            raise ValueError("familiarity must be in [0, 1]")
        index = self.catalog.current
        n_discovery = round(size * profile.discovery_factor)
        with self._lock:
            vectors = project(profile, index)
            blended = self.collaborative.blend(index, profile.history, now)
            scores = self._scorer.score(
                index,
                profile,
                vectors,
                include_unplayable=include_unplayable,
                now=now,
                artist_boost=None if blended is None else blended.artist_table,
            )
            if blended is not None and blended.tracks is not None:
                blended.tracks.add_to(scores)  # the scorer's own buffer, rewritten per request
            familiar = _best_familiar(index, profile, scores, round(size * familiarity))
            familiar_scores = scores[familiar]
            _demote_heard(index, profile, scores)
            main = _spread(familiar, top_rows(scores, _POOL_FACTOR * size), size - n_discovery)
            scores[familiar] = familiar_scores
            discovery = self._discovery_rows(
                index,
                profile,
                scores,
                exclude=main[: size - n_discovery],
                count=_POOL_FACTOR * n_discovery,
                neighbours=blended,
            )
            main_scores = scores[main].copy()
            discovery_scores = scores[discovery].copy()
        if trust_filter is not None:
            main, main_scores = _keep(main, main_scores, trust_filter(index.track_ids[main]))
            discovery, discovery_scores = _keep(
                discovery, discovery_scores, trust_filter(index.track_ids[discovery])
            )
        stale = set(main[main_scores <= -RECENT_PENALTY / 2].tolist())
        order = self._compose(index.artist, main, discovery, size, n_discovery, stale)
        profile.generated += 1
        score_of = dict(zip(main.tolist(), main_scores.tolist(), strict=True))
        score_of.update(zip(discovery.tolist(), discovery_scores.tolist(), strict=True))
        discovered = set(discovery.tolist())
        shared = _shared_taste(index, order, profile, now, blended)
        return [
            Recommendation(
                track_id=int(index.track_ids[row]),
                score=round(score_of[row] + Scorer.constant(), 4),
                reasons=self._reasons(index, row, profile, vectors, now, row in discovered)
                + shared.get(row, ()),
            )
            for row in order
        ]

    def _discovery_rows(
        self,
        index: CatalogIndex,
        profile: ListenerProfile,
        scores: npt.NDArray[np.float32],
        *,
        exclude: npt.NDArray[np.int64],
        count: int,
        neighbours: Blend | None = None,
    ) -> npt.NDArray[np.int64]:
        """Rows outside the listener's top genres and artists (seeded, reproducible): drawn
        from what listeners like them play (``neighbours``: the collaborative term, each
        row with probability by its positive share) when there is such a term, and
        uniformly from the catalog otherwise or for what that leaves unfilled."""
        if count <= 0 or len(index) == 0:
            return np.zeros(0, dtype=np.int64)
        user_key = zlib.crc32(profile.user_id.encode())
        rng = np.random.default_rng([self.seed, user_key, profile.generated])
        top_genres = [index.genres.get(g) for g in profile.top("genre", _TOP_GENRES)]
        top_artists = [index.artists.get(a) for a in profile.top("artist", _TOP_ARTISTS)]
        size = min(len(index), 64 * count + 256)
        draws = rng.integers(0, len(index), size=size)
        if neighbours is not None:
            near = self.collaborative.neighbour_rows(index, neighbours, rng, size)
            draws = np.concatenate([near, draws])  # neighbours first, the catalog after
        ok = np.isfinite(scores[draws]) & (scores[draws] > -RECENT_PENALTY / 2)
        ok &= ~np.isin(index.genre[draws], [c for c in top_genres if c is not None])
        ok &= ~np.isin(index.artist[draws], [c for c in top_artists if c is not None])
        ok &= ~np.isin(draws, exclude)
        picked = draws[ok]
        _, first = np.unique(picked, return_index=True)
        return picked[np.sort(first)][:count].astype(np.int64)

    def _compose(
        self,
        artist: npt.NDArray[np.int32],
        main: npt.NDArray[np.int64],
        discovery: npt.NDArray[np.int64],
        size: int,
        n_discovery: int,
        stale: set[int],
    ) -> list[int]:
        """Spread discovery picks evenly and never play one artist twice in a row.

        Rules in order of strength: no recently played track while a fresh one is left,
        then no artist twice in a row, then the score order.
        """
        main_pool = deque(int(r) for r in main)
        used: set[int] = set()
        disc_pool = deque(int(r) for r in discovery)
        n_disc = min(n_discovery, len(disc_pool))
        slots = min(size, len(main_pool) + len(disc_pool))
        disc_slots = {round((i + 1) * slots / (n_disc + 1)) - 1 for i in range(n_disc)}
        order: list[int] = []
        last_artist = -1
        for slot in range(slots):
            pools = (disc_pool, main_pool) if slot in disc_slots else (main_pool, disc_pool)
            row = _pick(pools, used, stale, artist, last_artist)
            if row is None:
                break
            used.add(row)
            order.append(row)
            last_artist = int(artist[row])
        return order

    def _reasons(
        self,
        index: CatalogIndex,
        row: int,
        profile: ListenerProfile,
        vectors: ProfileVectors,
        now: float,
        discovered: bool,
    ) -> tuple[str, ...]:
        feats = index.features(row)
        parts: list[tuple[float, str]] = []
        genre_code, mood_code = int(index.genre[row]), int(index.mood[row])
        genre_w = float(vectors.genre[genre_code])
        if genre_w > 0:
            own = profile.weight("genre", feats.genre)
            label = "genre" if own >= genre_w - 1e-6 else "related genre"
            name = index.genres.display[genre_code]
            parts.append((W_GENRE * genre_w, f"{label} {name} {genre_w:.2f}"))
        artist_w = vectors.artist.get(int(index.artist[row]), 0.0)
        if artist_w > 0:
            parts.append((W_ARTIST * artist_w, f"artist {feats.artist_display} {artist_w:.2f}"))
        mood_w = float(vectors.mood[mood_code])
        if mood_w > 0:
            parts.append((W_MOOD * mood_w, f"mood {index.moods.display[mood_code]} {mood_w:.2f}"))
        energy_match = 1.0 - abs(feats.energy - profile.energy_level)
        parts.append((W_ENERGY * energy_match, f"energy match {energy_match:.2f}"))
        target = TEMPO_TARGETS.get(profile.tempo_preference)
        if target is not None and feats.tempo is not None:
            tempo_match = 1.0 - min(1.0, abs(feats.tempo - target) / TEMPO_TOLERANCE_BPM)
            parts.append((W_TEMPO * tempo_match, f"tempo match {tempo_match:.2f}"))
        popularity = index.popularity(row)
        if popularity > 0.01:
            parts.append((popularity, f"popular {int(index.plays[row])} plays"))
        parts.sort(key=lambda p: -p[0])
        reasons = [text for _, text in parts[:3]]
        if discovered:
            reasons.insert(0, "discovery")
        affinity = profile.affinity.get(feats.track_id, 0.0)
        if affinity > 0:
            reasons.append(f"you liked it {affinity:+.2f}")
        elif affinity < 0:
            reasons.append(f"penalty: disliked {affinity:+.2f}")
        skipped = profile.skipped_at.get(feats.track_id)
        if skipped is not None:
            reasons.append(
                f"penalty: skipped {_ago(now - skipped)} ({-skip_penalty(skipped, now):+.2f})"
            )
        if feats.track_id in profile.recent_plays:
            reasons.append("penalty: played recently")
        return tuple(reasons)


def _shared_taste(
    index: CatalogIndex,
    rows: Sequence[int],
    profile: ListenerProfile,
    now: float,
    blended: Blend | None,
) -> dict[int, tuple[str, ...]]:
    """ "listeners who like X also play this" for the picks a collaborative term carried
    (X: the listener's track, or artist, that supports each most), the listener folded in
    once per model; the track model's reason first where both carried a pick."""
    if blended is None:
        return {}
    reasons: dict[int, tuple[str, ...]] = {}
    if blended.tracks is not None:
        term = blended.tracks
        share = {row: term.of(int(index.track_ids[row])) for row in rows}
        carried = [row for row in rows if share[row] >= EXPLAIN_SHARE]
        sources = term.explain([int(index.track_ids[row]) for row in carried])
        for row in carried:
            source = sources[int(index.track_ids[row])]
            source_row = index.row_of(source) if source is not None else -1
            if source_row >= 0:
                who = index.features(source_row).artist_display
                reasons[row] = (f"listeners who like {who} also play this {share[row]:.2f}",)
    if blended.artists is not None:
        artists = blended.artists
        carried = [
            row
            for row in rows
            if row not in reasons and artists.by_code[index.artist[row]] >= EXPLAIN_SHARE
        ]
        sources = artists.explain([int(index.artist[row]) for row in carried])
        for row in carried:
            code = int(index.artist[row])
            source = sources[code]
            if source is not None:
                reasons[row] = (
                    f"listeners who like {index.artists.display[source]} also play "
                    f"{index.artists.display[code]} {float(artists.by_code[code]):.2f}",
                )
    return reasons


def _best_familiar(
    index: CatalogIndex, profile: ListenerProfile, scores: npt.NDArray[np.float32], count: int
) -> npt.NDArray[np.int64]:
    """The ``count`` best familiar rows: favourites, not everything heard (never what the
    listener disliked, rated low or skipped), and not played lately."""
    if count <= 0 or not profile.heard:
        return np.zeros(0, dtype=np.int64)
    loved = [
        t
        for t in profile.heard
        if profile.affinity.get(t, 0.0) >= 0.0 and t not in profile.skipped_at
    ]
    rows = index.rows_of(loved).astype(np.int64)
    rows = rows[rows >= 0]
    fit = rows[np.isfinite(scores[rows]) & (scores[rows] > -RECENT_PENALTY / 2)]
    return fit[np.argsort(-scores[fit], kind="stable")[:count]].astype(np.int64)


def _demote_heard(
    index: CatalogIndex, profile: ListenerProfile, scores: npt.NDArray[np.float32]
) -> None:
    """Demote every heard row below every unheard one (by the recent-play penalty), in
    place, so known tracks come back only when nothing new is left — a small library
    still plays on."""
    if profile.heard:
        rows = index.rows_of(list(profile.heard))
        scores[rows[rows >= 0]] -= RECENT_PENALTY


def _spread(
    familiar: npt.NDArray[np.int64], fresh: npt.NDArray[np.int64], span: int
) -> npt.NDArray[np.int64]:
    """Familiar rows placed evenly over the first ``span`` places among the fresh ones
    (each kind in score order), the rest of the fresh ones after."""
    if familiar.size == 0:
        return fresh
    count = familiar.size
    slots = {round((i + 1) * max(span, count) / (count + 1)) - 1 for i in range(count)}
    out: list[int] = []
    fresh_list, familiar_list = fresh.tolist(), familiar.tolist()
    position = 0
    while fresh_list or familiar_list:
        if familiar_list and (position in slots or not fresh_list):
            out.append(familiar_list.pop(0))
        else:
            out.append(fresh_list.pop(0))
        position += 1
    return np.asarray(out, dtype=np.int64)


def _keep(
    rows: npt.NDArray[np.int64], scores: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    mask = np.asarray(mask, dtype=bool)
    return rows[mask], scores[mask]


def _pick(
    pools: Sequence[deque[int]],
    used: set[int],
    stale: set[int],
    artist: npt.NDArray[np.int32],
    previous: int,
) -> int | None:
    """The first row that breaks the fewest composition rules (strongest rule first)."""
    rules: tuple[Callable[[int], bool], ...] = (
        lambda r: r not in stale and int(artist[r]) != previous,
        lambda r: r not in stale,
        lambda r: int(artist[r]) != previous,
        lambda r: True,
    )
    for rule in rules:
        row = _take(pools, used, rule)
        if row is not None:
            return row
    return None


def _take(pools: Sequence[deque[int]], used: set[int], accept: Callable[[int], bool]) -> int | None:
    for pool in pools:
        for position, row in enumerate(pool):
            if row in used:
                continue
            if accept(row):
                del pool[position]
                return row
    return None


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
