"""Fitting what the DJ learns from everyone: the track and artist models, and the artist
model's share of the blend, chosen on the station's own held-out plays.

How much "listeners who like this artist also play that one" should count depends on the
station: where taste follows artists (most music), the artist model finds a listener's
scene from a play or two; where it does not (measured on MovieLens-100k, with directors
as artists, the artist model only adds noise), it should count for nothing. So no constant
decides it: at each fit, :func:`choose_artist_weight` holds out recent feedback of up to
:data:`HOLDOUT_LISTENERS` listeners, fits both models on the rest, and keeps the weight of
:data:`ARTIST_WEIGHTS` that judged the held-out feedback best (the smallest on a tie: the
simpler blend). Two judges, the first that can judge enough listeners (:data:`MIN_JUDGED`):

* **kept over skipped**: of the tracks a listener was played in their last
  :data:`HELD_EVENTS` events, those they kept should score above those they skipped (the
  error: the share of such pairs ordered wrongly). Both kinds were chosen by the same
  serving policy, so that policy cannot favour the model that drove it;
* **held-out likes**, where nobody skips (an imported history such as MovieLens): each
  listener's latest liked track, held out, by its expected percentile rank among the
  tracks they never had (Hu, Koren & Volinsky's measure: 0 at the top, 0.5 for a random
  order). Measured on ``bench/taste.py``'s radio, this judge alone is fooled by the feedback
  loop: the latest liked track is one the serving track model put there, so it ranked it
  in the top 1% and chose 0 for the artist model, which the kept/skipped judge shows
  halves the wrongly ordered pairs (0.47 → 0.25).

Without enough listeners to judge, the default :data:`W_ARTIST_COLLAB` stands.

:func:`fit_taste_arrays` is the picklable form for a fit in a child process;
:func:`restore_taste` rebuilds the models from it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from qfzz.dj._collab import CollabModel, CollabParams, fit, fit_to_arrays, restore
from qfzz.dj._collaborative import ARTIST_PARAMS, W_ARTIST_COLLAB, W_COLLAB

#: The artist model's weights the choice is made among.
ARTIST_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
#: Listeners held out per fit (a sample: the choice costs two fold-ins each).
HOLDOUT_LISTENERS = 1000
#: Fewer judged listeners than this and the default weight stands.
MIN_JUDGED = 20
#: A listener is judged only with at least this many liked tracks (one is held out), or
#: this many events before the recent ones held out.
MIN_LIKED = 3
#: The latest events held out per listener when judging kept against skipped tracks.
HELD_EVENTS = 10

Arrays = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float64], float, CollabParams
]


@dataclass(frozen=True)
class TasteModels:
    """What one fit hands the DJ: both models and the artist model's chosen weight, with
    the held-out percentile rank per weight it was chosen on (empty when too few could
    be judged)."""

    tracks: CollabModel
    artists: CollabModel | None
    artist_weight: float
    ranks: dict[float, float]


@dataclass(frozen=True)
class TasteArrays:
    """:class:`TasteModels` as arrays, picklable (a fit in a child process returns this)."""

    tracks: Arrays
    artists: Arrays | None
    artist_weight: float
    ranks: dict[float, float]


def fit_taste_arrays(
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    artists: npt.ArrayLike,
    weights: npt.ArrayLike,
    stamps: npt.ArrayLike,
    *,
    track_weight: float = W_COLLAB,
) -> TasteArrays:
    """Fit both models on every row and choose the artist weight (``artists``: each
    row's artist item id, -1 where unknown: such rows leave the artist model only)."""
    u, i, a, w, t = _columns(users, items, artists, weights, stamps)
    known = a >= 0
    by_artist = fit_to_arrays(u[known], a[known], w[known], t[known], ARTIST_PARAMS)
    chosen, ranks = choose_artist_weight(u, i, a, w, t, track_weight=track_weight)
    return TasteArrays(fit_to_arrays(u, i, w, t), by_artist if known.any() else None, chosen, ranks)


def restore_taste(arrays: TasteArrays) -> TasteModels:
    return TasteModels(
        restore(*arrays.tracks),
        None if arrays.artists is None else restore(*arrays.artists),
        arrays.artist_weight,
        dict(arrays.ranks),
    )


def fit_taste(
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    artists: npt.ArrayLike,
    weights: npt.ArrayLike,
    stamps: npt.ArrayLike,
    *,
    track_weight: float = W_COLLAB,
) -> TasteModels:
    """:func:`fit_taste_arrays` in this process."""
    arrays = fit_taste_arrays(users, items, artists, weights, stamps, track_weight=track_weight)
    return restore_taste(arrays)


def choose_artist_weight(
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    artists: npt.ArrayLike,
    weights: npt.ArrayLike,
    stamps: npt.ArrayLike,
    *,
    track_weight: float = W_COLLAB,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The artist weight that judged held-out feedback best, and each weight's error
    (lower is better; see the module's docstring)."""
    rows = _columns(users, items, artists, weights, stamps)
    u, i, a, w, t = rows
    if not (a >= 0).any():
        return W_ARTIST_COLLAB, {}
    judges: tuple[Callable[[], _KeptOverSkipped | _HeldOutLikes], ...] = (
        lambda: _KeptOverSkipped(rows, seed),
        lambda: _HeldOutLikes(rows, seed),  # built only when the first cannot judge
    )
    for make in judges:
        judge = make()
        if len(judge.held) < MIN_JUDGED:
            continue
        train = ~judge.held_rows
        known = train & (a >= 0)
        by_track = fit(u[train], i[train], w[train], t[train])
        by_artist = fit(u[known], a[known], w[known], t[known], ARTIST_PARAMS)
        blend = _Blend(by_track, by_artist, i[train], a[train], track_weight)
        totals = dict.fromkeys(ARTIST_WEIGHTS, 0.0)
        judged = 0
        for user, history, artist_history in _histories(rows, train, judge.held):
            terms = blend.terms(history, artist_history)
            errors = judge.errors(user, blend, terms, {entry[0] for entry in history})
            if errors is None:
                continue
            judged += 1
            for weight, error in errors.items():
                totals[weight] += error
        if judged >= MIN_JUDGED:
            ranked = {weight: total / judged for weight, total in totals.items()}
            best = min(ranked.values())
            chosen = next(x for x in ARTIST_WEIGHTS if ranked[x] <= best + 1e-9)
            return chosen, ranked
    return W_ARTIST_COLLAB, {}


class _Blend:
    """Both models fitted on the training rows, scoring the track model's items."""

    def __init__(
        self,
        by_track: CollabModel,
        by_artist: CollabModel,
        items: npt.NDArray[np.int64],
        artists: npt.NDArray[np.int64],
        track_weight: float,
    ) -> None:
        self.by_track, self.by_artist, self.track_weight = by_track, by_artist, track_weight
        self.artist_of = dict(zip(items.tolist(), artists.tolist(), strict=True))
        self.artist_rows = np.full(by_track.n_items, -1, dtype=np.int64)
        for k, item in enumerate(by_track.item_ids.tolist()):
            row = by_artist.row_of(self.artist_of.get(item, -1))
            if row is not None:
                self.artist_rows[k] = row

    def terms(
        self,
        history: list[tuple[int, float, float]],
        artist_history: list[tuple[int, float, float]],
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(track term × its weight, the artist model's normalised score per artist row)."""
        now = max(entry[2] for entry in history)
        track_term = _normalised(self.by_track.scores(history, now)) * self.track_weight
        by_artist = _normalised(self.by_artist.scores(artist_history, now))
        return track_term, by_artist

    def scores_of(
        self,
        terms: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
        items: list[int],
        artists: list[int],
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(track term, artist term) of given items (0 where a model does not know them)."""
        track_term, by_artist = terms
        track = np.zeros(len(items))
        artist = np.zeros(len(items))
        for k, (item, artist_item) in enumerate(zip(items, artists, strict=True)):
            row = self.by_track.row_of(item)
            if row is not None:
                track[k] = track_term[row]
            artist_row = self.by_artist.row_of(artist_item)
            if artist_row is not None:
                artist[k] = by_artist[artist_row]
        return track, artist


class _KeptOverSkipped:
    """Judges by what listeners were actually played lately: the tracks they kept (net
    positive) should score above those they skipped (net negative). Both were chosen by
    the same serving policy, so that policy cannot favour the model that drove it — as it
    does a held-out liked track, which the model serving it tends to have put there."""

    def __init__(self, rows: _Rows, seed: int) -> None:
        u, i, a, w, t = rows
        self.held: dict[int, tuple[list[int], list[int]]] = {}
        self.held_rows = np.zeros(u.shape[0], dtype=bool)
        self._artist_of: dict[int, int] = {}
        order = np.lexsort((np.arange(u.shape[0]), t, u))
        users, starts, counts = np.unique(u[order], return_index=True, return_counts=True)
        eligible = []
        for user, start, count in zip(
            users.tolist(), starts.tolist(), counts.tolist(), strict=True
        ):
            mine = order[start : start + count]
            recent, older = mine[-HELD_EVENTS:], mine[:-HELD_EVENTS]
            if older.size < MIN_LIKED:
                continue
            net: dict[int, float] = {}
            for row in recent.tolist():
                net[int(i[row])] = net.get(int(i[row]), 0.0) + float(w[row])
                self._artist_of[int(i[row])] = int(a[row])
            kept = [x for x, v in net.items() if v > 0]
            skipped = [x for x, v in net.items() if v < 0]
            if kept and skipped:
                eligible.append((user, recent, kept, skipped))
        if len(eligible) > HOLDOUT_LISTENERS:
            picked = np.random.default_rng(seed).choice(
                len(eligible), HOLDOUT_LISTENERS, replace=False
            )
            eligible = [eligible[k] for k in sorted(picked.tolist())]
        for user, recent, kept, skipped in eligible:
            self.held[user] = (kept, skipped)
            self.held_rows[recent] = True

    def errors(
        self,
        user: int,
        blend: _Blend,
        terms: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
        seen: set[int],
    ) -> dict[float, float] | None:
        kept, skipped = self.held[user]
        items = kept + skipped
        artists = [self._artist_of[x] for x in items]
        track, artist = blend.scores_of(terms, items, artists)
        out = {}
        for weight in ARTIST_WEIGHTS:
            score = track + weight * artist
            good, bad = score[: len(kept)], score[len(kept) :]
            wrong = (bad[None, :] > good[:, None]).sum() + 0.5 * (
                bad[None, :] == good[:, None]
            ).sum()
            out[weight] = float(wrong) / (len(kept) * len(skipped))
        return out


class _HeldOutLikes:
    """Where nobody skips (an imported history), judges by each listener's latest liked
    track, held out: its expected percentile rank among the tracks they never had."""

    def __init__(self, rows: _Rows, seed: int) -> None:
        u, i = rows.u, rows.i
        self.held = _held_out(rows, seed)
        held_users = np.asarray(sorted(self.held), dtype=np.int64)
        held_items = np.asarray([self.held[int(x)] for x in held_users], dtype=np.int64)
        if held_users.size:
            at = np.minimum(np.searchsorted(held_users, u), held_users.shape[0] - 1)
            self.held_rows = (held_users[at] == u) & (held_items[at] == i)
        else:
            self.held_rows = np.zeros(u.shape[0], dtype=bool)

    def errors(
        self,
        user: int,
        blend: _Blend,
        terms: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
        seen: set[int],
    ) -> dict[float, float] | None:
        target = blend.by_track.row_of(self.held[user])
        seen_rows = [r for r in (blend.by_track.row_of(x) for x in seen) if r is not None]
        unseen = blend.by_track.n_items - len(seen_rows)
        if target is None or unseen < 2:
            return None
        track_term, by_artist = terms
        rows = blend.artist_rows
        artist_term = np.where(rows >= 0, by_artist[np.maximum(rows, 0)], 0.0)
        out = {}
        for weight in ARTIST_WEIGHTS:
            score = track_term + weight * artist_term
            score[seen_rows] = -np.inf
            ties = int((score == score[target]).sum()) - 1
            out[weight] = (int((score > score[target]).sum()) + 0.5 * ties) / (unseen - 1)
        return out


def _histories(
    rows: _Rows, train: npt.NDArray[np.bool_], users: Mapping[int, object]
) -> Iterator[tuple[int, list[tuple[int, float, float]], list[tuple[int, float, float]]]]:
    """Each judged listener's training history, as tracks and as artists."""
    u, i, a, w, t = rows
    by_user = np.argsort(u, kind="stable")
    sorted_users = u[by_user]
    for user in users:
        span = by_user[
            np.searchsorted(sorted_users, user) : np.searchsorted(sorted_users, user, "right")
        ]
        mine = span[train[span]]
        if mine.size == 0:
            continue
        history = list(zip(i[mine].tolist(), w[mine].tolist(), t[mine].tolist(), strict=True))
        artist_history = [(int(a[k]), float(w[k]), float(t[k])) for k in mine.tolist() if a[k] >= 0]
        yield user, history, artist_history


class _Rows(NamedTuple):
    """The interaction rows as columns: listeners, tracks, artist items, strengths, times."""

    u: npt.NDArray[np.int64]
    i: npt.NDArray[np.int64]
    a: npt.NDArray[np.int64]
    w: npt.NDArray[np.float64]
    t: npt.NDArray[np.float64]


def _columns(
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    artists: npt.ArrayLike,
    weights: npt.ArrayLike,
    stamps: npt.ArrayLike,
) -> _Rows:
    return _Rows(
        np.asarray(users, dtype=np.int64),
        np.asarray(items, dtype=np.int64),
        np.asarray(artists, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
        np.asarray(stamps, dtype=np.float64),
    )


def _held_out(rows: _Rows, seed: int) -> dict[int, int]:
    """Listener → their latest liked track, for a seeded sample of the listeners with at
    least :data:`MIN_LIKED` liked tracks."""
    u, i, _a, w, t = rows
    liked = np.flatnonzero(w > 0)
    if liked.size == 0:
        return {}
    order = liked[np.lexsort((liked, t[liked], u[liked]))]  # by listener, then time
    users, starts, counts = np.unique(u[order], return_index=True, return_counts=True)
    latest: dict[int, int] = {}
    for user, start, count in zip(users.tolist(), starts.tolist(), counts.tolist(), strict=True):
        if len(set(i[order[start : start + count]].tolist())) >= MIN_LIKED:
            latest[user] = int(i[order[start + count - 1]])
    if len(latest) > HOLDOUT_LISTENERS:
        rng = np.random.default_rng(seed)
        keep = rng.choice(sorted(latest), HOLDOUT_LISTENERS, replace=False)
        latest = {int(user): latest[int(user)] for user in keep}
    return latest


def _normalised(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    peak = float(np.abs(scores).max()) if scores.size else 0.0
    return scores.astype(np.float64) / peak if peak > 0 else scores.astype(np.float64) * 0.0


def taste_to_bytes(arrays: TasteArrays) -> bytes:
    """A fit as an ``.npz`` (no pickles: a stored model is read back as data only), for
    the other processes of a station to load instead of fitting again."""
    columns: dict[str, Any] = {}
    meta: dict[str, object] = {
        "artist_weight": arrays.artist_weight,
        "ranks": [[weight, rank] for weight, rank in arrays.ranks.items()],
    }
    for name, part in (("tracks", arrays.tracks), ("artists", arrays.artists)):
        if part is None:
            continue
        ids, factors, gram, strength, params = part
        columns[f"{name}_ids"] = np.asarray(ids, dtype=np.int64)
        columns[f"{name}_factors"] = np.asarray(factors, dtype=np.float32)
        columns[f"{name}_gram"] = np.asarray(gram, dtype=np.float64)
        meta[name] = {"strength": strength, "params": dataclasses.asdict(params)}
    columns["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **columns)
    return out.getvalue()


def taste_from_bytes(data: bytes) -> TasteArrays:
    """What :func:`taste_to_bytes` made (ValueError for anything else)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as kept:
            meta = json.loads(kept["meta"].tobytes())
            parts: dict[str, Arrays] = {}
            for name in ("tracks", "artists"):
                if name in meta:
                    parts[name] = (
                        kept[f"{name}_ids"].astype(np.int64),
                        kept[f"{name}_factors"].astype(np.float32),
                        kept[f"{name}_gram"].astype(np.float64),
                        float(meta[name]["strength"]),
                        CollabParams(**meta[name]["params"]),
                    )
        ranks = {float(weight): float(rank) for weight, rank in meta["ranks"]}
        return TasteArrays(
            parts["tracks"], parts.get("artists"), float(meta["artist_weight"]), ranks
        )
    except (OSError, EOFError, LookupError, TypeError, zipfile.BadZipFile, ValueError) as exc:
        raise ValueError(f"not a stored taste model: {exc}") from exc
