"""What other listeners teach the DJ: the current collaborative models, and their share of
a track's score.

Two models learned from the same interactions, both :class:`CollabModel`:

* the **track** model (items are tracks): "listeners who like this track also play that
  one" — precise where tracks have many listeners;
* the **artist** model (items are artists, each track's feedback counted for its artist):
  "listeners who like this artist also play that one" — a hundred times denser, so it
  knows a scene after a few plays and reaches tracks nobody played yet. Measured on the
  simulation of ``bench/taste.py``, its top ten unheard tracks were in the listener's scene
  97–99% of the time against 45–70% for the track model. An artist is named by a stable
  64-bit digest of its normalised key (:func:`artist_item_id`), so a model fitted in
  another process or before a rescan still applies.

The trainer (the station's background job) fits new models from everyone's interactions
and hands them to :meth:`Collaborative.install`; a request reads whichever pair is current
— one reference read, never a wait for training. A listener is folded in from their own
latest feedback at each request, so what they did a second ago counts.

Each model's scores are normalised per request to [-1, 1] (its largest magnitude), so the
blend weights (:data:`W_COLLAB`; the artist model's, chosen at each fit) mean the same for
every listener, and mapped from the model's item ids to the catalog snapshot's rows (the
mappings are cached per pair of model and snapshot).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qfzz.dj._collab import CollabModel, CollabParams, FoldedListener
from qfzz.dj._index import CatalogIndex

#: Weight of the track model next to the content score (genre 0.30, artist 0.25…):
#: chosen on MovieLens-100k's validation split by ``bench/recommend.py``.
W_COLLAB = 2.0
#: Weight of the artist model until a fit chose one on the station's own held-out plays
#: (``dj._taste_fit``): what ``bench/taste.py``'s listeners with hidden tastes favour.
W_ARTIST_COLLAB = 1.0
#: Fit-time parameters of the artist model (few items, many listeners each: fewer factors
#: and more shrinkage than the track model; a skipped artist counts half against).
ARTIST_PARAMS = CollabParams(factors=16, regularization=0.2, negative=0.5, recency_half_life=20.0)
#: A pick is explained by a collaborative term when that term gives at least this.
EXPLAIN_SHARE = 0.05

History = Sequence[tuple[int, float, float]]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def artist_item_id(key: str) -> int:
    """The artist model's id of a normalised artist key: a stable 63-bit digest (the same
    in every process and snapshot, unlike the index's vocabulary codes)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"qfzz-artist").digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(frozen=True, slots=True)
class ArtistTerm:
    """The artist model's part of one request: its weighted score per artist code (added
    to every row through the scorer's artist gather), the model and the listener folded
    into it, and for the reasons: the snapshot's artist item per code and the code of
    each history item."""

    by_code: F32
    model: CollabModel
    listener: FoldedListener
    items: I64
    code_of: dict[int, int]

    def explain(self, codes: Sequence[int]) -> dict[int, int | None]:
        """Artist code → the code of the history artist that supports it most (None when
        nothing does): "listeners who like X also play Y"."""
        wanted = {code: int(self.items[code]) for code in codes}
        found = self.model.explain_of(self.listener, list(set(wanted.values())))
        return {
            code: None if (source := found[item]) is None else self.code_of.get(source)
            for code, item in wanted.items()
        }


@dataclass(frozen=True, slots=True)
class TrackTerm:
    """The track model's part of one request: its weighted score per model item, the
    listener folded into the model, and the catalog rows of the items the snapshot knows
    with their positions in ``scaled``."""

    scaled: F32
    model: CollabModel
    listener: FoldedListener
    rows: I64
    positions: I64

    def of(self, track_id: int) -> float:
        """The term's share of one track's score (0 for a track the model never saw)."""
        row = self.model.row_of(track_id)
        return 0.0 if row is None else float(self.scaled[row])

    def add_to(self, scores: F32) -> None:
        """Add the term to per-row ``scores`` in place (each known row once)."""
        scores[self.rows] += self.scaled[self.positions]

    def explain(self, track_ids: Sequence[int]) -> dict[int, int | None]:
        """Track id → the history track that supports it most (None: nothing does)."""
        return self.model.explain_of(self.listener, track_ids)


@dataclass(frozen=True, slots=True)
class Blend:
    """The collaborative terms of one request. A request adds them in two parts — the
    artist term inside the scorer's one artist gather, the track term scattered onto its
    few rows — so there is no extra pass over the catalog."""

    tracks: TrackTerm | None
    artists: ArtistTerm | None

    def boost(self, index: CatalogIndex) -> F32:
        """Both terms per catalog row, as one array (what a request adds in parts)."""
        if self.artists is not None:
            boost = np.take(self.artists.by_code, index.artist)
        else:
            boost = np.zeros(len(index), dtype=np.float32)
        if self.tracks is not None:
            self.tracks.add_to(boost)
        return boost

    @property
    def artist_table(self) -> F32 | None:
        """The artist term per artist code, for the scorer's gather (None: no term)."""
        return None if self.artists is None else self.artists.by_code


class Collaborative:
    """Holds the current models (None until the first fit) and blends them into scores."""

    def __init__(self, weight: float = W_COLLAB, artist_weight: float | None = None) -> None:
        """``artist_weight``: fixed, or None to use the weight each fit chose."""
        if weight < 0 or (artist_weight is not None and artist_weight < 0):
            raise ValueError("collaborative weights must be >= 0")
        self.weight = weight
        self._fixed_artist_weight = artist_weight
        self._models: tuple[CollabModel | None, CollabModel | None, float] = (
            None,
            None,
            W_ARTIST_COLLAB,
        )
        self._rows: tuple[CollabModel, CatalogIndex, I64, I64] | None = None
        self._codes: tuple[CollabModel, CatalogIndex, I64] | None = None
        self._items: tuple[CatalogIndex, I64] | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> CollabModel | None:
        """The current track model."""
        return self._models[0]

    @property
    def artist_model(self) -> CollabModel | None:
        return self._models[1]

    @property
    def artist_weight(self) -> float:
        """The artist model's weight now: the fixed one, else what the last fit chose."""
        fixed = self._fixed_artist_weight
        return self._models[2] if fixed is None else fixed

    def install(
        self,
        model: CollabModel | None,
        artists: CollabModel | None = None,
        artist_weight: float = W_ARTIST_COLLAB,
    ) -> None:
        """Swap in newly fitted models and the artist weight their fit chose, as one
        reference (requests in flight keep what they read)."""
        if artist_weight < 0:
            raise ValueError("collaborative weights must be >= 0")
        self._models = (model, artists, artist_weight)

    def artist_items(self, index: CatalogIndex, track_ids: npt.ArrayLike) -> I64:
        """The artist model's item id of each track (-1 where the snapshot does not know
        the track or it has no artist): what the trainer fits the artist model on."""
        return self._artist_items_of(index)[_artist_codes(index, track_ids)]

    def blend(self, index: CatalogIndex, history: History, now: float) -> Blend | None:
        """The weighted, normalised collaborative terms of one request; None without a
        model or a usable history."""
        track_model, artist_model, chosen = self._models
        if not history or (track_model is None and artist_model is None):
            return None
        fixed = self._fixed_artist_weight
        artist_weight = chosen if fixed is None else fixed
        tracks = self._track_term(index, track_model, history, now)
        artists = self._artist_term(index, artist_model, artist_weight, history, now)
        if tracks is None and artists is None:
            return None
        return Blend(tracks, artists)

    def neighbour_rows(
        self, index: CatalogIndex, blend: Blend, rng: np.random.Generator, size: int
    ) -> I64:
        """``size`` rows drawn with probability by their positive collaborative share (what
        listeners like this one play), without a pass over the catalog: a part is drawn
        by its total positive mass, then the track model's rows by their share, or an
        artist by its share times its track count and one of its tracks uniformly — so a
        row's chance is its positive track share plus its positive artist share."""
        # Each part: the cumulative positive mass of its items, and what rows the drawn
        # item positions stand for.
        parts: list[tuple[F64, Callable[[I64], I64]]] = []
        if blend.tracks is not None:
            term = blend.tracks
            mass = np.maximum(term.scaled[term.positions], 0.0)
            parts.append((np.cumsum(mass, dtype=np.float64), lambda drawn: term.rows[drawn]))
        if blend.artists is not None:
            mass = np.maximum(blend.artists.by_code, 0.0) * index.artist_sizes()
            parts.append(
                (
                    np.cumsum(mass, dtype=np.float64),
                    lambda drawn: index.random_rows_of_artists(drawn, rng),
                )
            )
        parts = [(cumulative, rows) for cumulative, rows in parts if cumulative[-1:].sum() > 0]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        masses = np.asarray([cumulative[-1] for cumulative, _ in parts])
        counts = rng.multinomial(size, masses / masses.sum())
        drawn = [
            rows(_draw(cumulative, int(k), rng))
            for (cumulative, rows), k in zip(parts, counts, strict=True)
            if k
        ]
        out = np.concatenate(drawn).astype(np.int64)
        rng.shuffle(out)
        return out

    def _track_term(
        self, index: CatalogIndex, model: CollabModel | None, history: History, now: float
    ) -> TrackTerm | None:
        if model is None or self.weight == 0:
            return None
        listener = model.fold(history, now)
        scores = model.scores_of(listener)
        peak = float(np.abs(scores).max()) if scores.size else 0.0
        if listener is None or peak <= 0:
            return None
        rows, positions = self._rows_of(model, index)
        return TrackTerm(scores * np.float32(self.weight / peak), model, listener, rows, positions)

    def _artist_term(
        self,
        index: CatalogIndex,
        model: CollabModel | None,
        weight: float,
        history: History,
        now: float,
    ) -> ArtistTerm | None:
        if model is None or weight == 0:
            return None
        entries = list(history)
        codes = _artist_codes(index, [entry[0] for entry in entries])
        per_code = self._artist_items_of(index)
        items = per_code[codes]  # -1 where the track has no known artist
        mapped = [
            (item, entry[1], entry[2])
            for item, entry in zip(items.tolist(), entries, strict=True)
            if item >= 0
        ]
        code_of = dict(zip(items[codes > 0].tolist(), codes[codes > 0].tolist(), strict=True))
        listener = model.fold(mapped, now)
        scores = model.scores_of(listener)
        peak = float(np.abs(scores).max()) if scores.size else 0.0
        if listener is None or peak <= 0:
            return None
        codes = self._codes_of(model, index)
        by_code = np.zeros(len(index.artists), dtype=np.float32)
        known = codes >= 0
        by_code[codes[known]] = scores[known] * (weight / peak)
        by_code[0] = 0.0  # tracks without an artist
        return ArtistTerm(by_code, model, listener, per_code, code_of)

    def _artist_items_of(self, index: CatalogIndex) -> I64:
        """The artist model's id of each of the snapshot's artist codes (code 0, no
        artist: -1), cached per snapshot."""
        cached = self._items
        if cached is not None and cached[0] is index:
            return cached[1]
        keys = index.artists.keys
        items = np.fromiter(
            (artist_item_id(k) if k else -1 for k in keys), dtype=np.int64, count=len(keys)
        )
        with self._lock:
            self._items = (index, items)
        return items

    def _codes_of(self, model: CollabModel, index: CatalogIndex) -> I64:
        """The snapshot's artist code of each of the artist model's items (-1: unknown)."""
        cached = self._codes
        if cached is not None and cached[0] is model and cached[1] is index:
            return cached[2]
        items = self._artist_items_of(index)
        order = np.argsort(items, kind="stable")
        position = np.searchsorted(items[order], model.item_ids)
        position = np.minimum(position, max(len(items) - 1, 0))
        codes = np.full(model.n_items, -1, dtype=np.int64)
        if len(items):
            hit = items[order][position] == model.item_ids
            codes[hit] = order[position[hit]]
        with self._lock:
            self._codes = (model, index, codes)
        return codes

    def _rows_of(self, model: CollabModel, index: CatalogIndex) -> tuple[I64, I64]:
        """The catalog rows of the track model's items the snapshot knows, and those
        items' positions in the model, cached per pair of model and snapshot."""
        cached = self._rows
        if cached is not None and cached[0] is model and cached[1] is index:
            return cached[2], cached[3]
        rows = index.rows_of(model.item_ids.tolist()).astype(np.int64)
        positions = np.flatnonzero(rows >= 0)
        with self._lock:
            self._rows = (model, index, rows[positions], positions)
        return rows[positions], positions


def _draw(cumulative: F64, k: int, rng: np.random.Generator) -> I64:
    """``k`` positions drawn with probability by their mass, from the masses' running
    sum: what ``rng.choice(p=…)`` does without its checks and normalisation (a third of
    the time). A position of zero mass is never drawn (its running sum equals its
    predecessor's); the clip, to the last position with mass, guards a product rounded
    up to the total."""
    total = cumulative[-1]
    last = np.searchsorted(cumulative, total, side="left")
    picks = np.searchsorted(cumulative, rng.random(k) * total, side="right")
    positions: I64 = np.minimum(picks, last).astype(np.int64)
    return positions


def _artist_codes(index: CatalogIndex, track_ids: npt.ArrayLike) -> I64:
    """The snapshot's artist code of each track (0, "no artist", where the snapshot does
    not know the track)."""
    rows = index.rows_of(np.asarray(track_ids, dtype=np.int64).tolist()).astype(np.int64)
    codes = np.zeros(rows.shape[0], dtype=np.int64)
    known = rows >= 0
    codes[known] = index.artist[rows[known]]
    return codes
