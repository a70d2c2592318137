"""Fitting what the DJ learns from everyone: the track and artist models, and the artist
model's share of the blend, chosen on the station's own held-out plays.

How much "listeners who like this artist also play that one" should count depends on the
station: where taste follows artists (most music), the artist model finds a listener's
scene from a play or two; where it does not (measured on MovieLens-100k, with directors
as artists, the artist model only adds noise), it should count for nothing. So no constant
decides it: at each fit, :func:`choose_artist_weight` holds out the latest liked track of
up to :data:`HOLDOUT_LISTENERS` listeners, fits both models on the rest, ranks every track
for each of them with each weight of :data:`ARTIST_WEIGHTS`, and keeps the weight with the
lowest expected percentile rank of the held-out tracks (Hu, Koren & Volinsky's measure
for implicit feedback: 0 at the top of the list, 0.5 for a random order; the smallest
weight on a tie: the simpler blend). A percentile rank rather than a hit in the top ten,
because it judges the whole ranking: with a few dozen listeners a hit rate is mostly luck. With too
few listeners to judge (:data:`MIN_JUDGED`), the default :data:`W_ARTIST_COLLAB` stands.

:func:`fit_taste_arrays` is the picklable form for a fit in a child process;
:func:`restore_taste` rebuilds the models from it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
#: A listener is judged only with at least this many liked tracks (one is held out).
MIN_LIKED = 3

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
    """The artist weight that ranked held-out liked tracks highest, and the expected
    percentile rank of each weight (see the module's docstring)."""
    u, i, a, w, t = _columns(users, items, artists, weights, stamps)
    held = _held_out(u, i, w, t, seed)
    if len(held) < MIN_JUDGED or not (a >= 0).any():
        return W_ARTIST_COLLAB, {}
    held_users = np.asarray(sorted(held), dtype=np.int64)
    held_items = np.asarray([held[int(x)] for x in held_users], dtype=np.int64)
    at = np.minimum(np.searchsorted(held_users, u), held_users.shape[0] - 1)
    train = ~((held_users[at] == u) & (held_items[at] == i))
    known = train & (a >= 0)
    by_track = fit(u[train], i[train], w[train], t[train])
    by_artist = fit(u[known], a[known], w[known], t[known], ARTIST_PARAMS)
    artist_rows = _artist_rows(by_track, by_artist, i[train], a[train])
    totals = dict.fromkeys(ARTIST_WEIGHTS, 0.0)
    judged = 0
    by_user = np.argsort(u, kind="stable")
    sorted_users = u[by_user]
    for user, item in held.items():
        target = by_track.row_of(item)
        span = by_user[
            np.searchsorted(sorted_users, user) : np.searchsorted(sorted_users, user, "right")
        ]
        mine = span[train[span]]
        seen = {r for r in (by_track.row_of(int(x)) for x in i[mine]) if r is not None}
        unseen = by_track.n_items - len(seen)
        if target is None or mine.size == 0 or unseen < 2:
            continue
        history = list(zip(i[mine].tolist(), w[mine].tolist(), t[mine].tolist(), strict=True))
        now = float(t[mine].max())
        track_term = _normalised(by_track.scores(history, now)) * track_weight
        artist_history = [(int(a[k]), float(w[k]), float(t[k])) for k in mine if a[k] >= 0]
        by_code = _normalised(by_artist.scores(artist_history, now))
        artist_term = np.where(artist_rows >= 0, by_code[np.maximum(artist_rows, 0)], 0.0)
        judged += 1
        for weight in ARTIST_WEIGHTS:
            score = track_term + weight * artist_term
            score[list(seen)] = -np.inf
            ties = int((score == score[target]).sum()) - 1
            above = int((score > score[target]).sum()) + 0.5 * ties
            totals[weight] += above / (unseen - 1)
    if judged < MIN_JUDGED:
        return W_ARTIST_COLLAB, {}
    ranks = {weight: total / judged for weight, total in totals.items()}
    best = min(ranks.values())
    return next(weight for weight in ARTIST_WEIGHTS if ranks[weight] <= best + 1e-9), ranks


def _columns(
    *columns: npt.ArrayLike,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    users, items, artists, weights, stamps = columns
    return (
        np.asarray(users, dtype=np.int64),
        np.asarray(items, dtype=np.int64),
        np.asarray(artists, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
        np.asarray(stamps, dtype=np.float64),
    )


def _held_out(
    u: npt.NDArray[np.int64],
    i: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    seed: int,
) -> dict[int, int]:
    """Listener → their latest liked track, for a seeded sample of the listeners with at
    least :data:`MIN_LIKED` liked tracks."""
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


def _artist_rows(
    by_track: CollabModel,
    by_artist: CollabModel,
    items: npt.NDArray[np.int64],
    artists: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """The artist model's row of each track model row's artist (-1: none)."""
    artist_of = dict(zip(items.tolist(), artists.tolist(), strict=True))
    rows = np.full(by_track.n_items, -1, dtype=np.int64)
    for k, item in enumerate(by_track.item_ids.tolist()):
        row = by_artist.row_of(artist_of.get(item, -1))
        if row is not None:
            rows[k] = row
    return rows


def _normalised(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    peak = float(np.abs(scores).max()) if scores.size else 0.0
    return scores.astype(np.float64) / peak if peak > 0 else scores.astype(np.float64) * 0.0
