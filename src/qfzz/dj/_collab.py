"""Collaborative filtering: what listeners who share a taste play, learned from everyone.

The model is implicit-feedback matrix factorisation (ALS, Hu, Koren & Volinsky 2008) with
listeners folded in at request time from a recency-weighted history. It was chosen on
MovieLens-100k's validation split by ``bench/recommend.py``, which measures it next to
popularity, item-kNN (also with recency and a transition term), EASE and the ``implicit``
package's ALS.

* **Fit** (a background job): item factors ``Y`` (items × ``factors``) by alternating
  least squares over which items each listener is net positive about, with uniform
  confidence, so every half-step is one sparse product and one ``factors``² solve. The
  listeners' factors are a by-product and are dropped: the model keeps ``Y`` and ``YᵀY``,
  items × factors × 4 bytes (25.6 MB at 100k items, 64 factors) — where EASE would need a
  dense items² matrix.
* **Fold-in** (each request): the listener's factor is solved from their history alone,
  each item with confidence ``alpha × |net QFZZ strength / strength_unit| × recency``
  (a play 1, like 2, favourite 4 by default; recency a half-life counted in history items,
  the most recent first, optionally also in seconds). Nothing about a listener lives in the
  model, so new feedback counts at the next request without retraining.
* **Negatives**: by default ignored at fit time (a skip of one track is not shared
  taste); at fold-in a net negative item is a *confident zero* (preference 0 with its
  confidence): it pulls the listener away from what is like it and never supports a
  recommendation. With ``negative`` > 0 a net negative item counts as preference
  ``-negative`` at fit and fold-in alike (the artist model's setting: an artist skipped by
  many is shared distaste) — still one sparse product per half-step.
* **Reasons**: a folded-in score is exactly a sum over the history items (the listener's
  factor is ``A⁻¹ Σ c_h p_h y_h``), so :meth:`CollabModel.explain` names the history item
  that contributes most — "listeners who like X also play this".

:func:`fit` is a pure function returning a new :class:`CollabModel` whose arrays are
read-only: the DJ can swap the reference atomically and a request never waits for training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # imported by the fit itself: a serving process may never fit
    import scipy.sparse as sp

#: Power-iteration steps for σ₁ (the ratio σ₂/σ₁ of listening data is well below 1).
_POWER_STEPS = 50

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: One history entry: (item id, feedback weight, timestamp in seconds).
HistoryEntry = tuple[int, float, float]
_HISTORY_ENTRY = np.dtype([("item", np.int64), ("weight", np.float64), ("at", np.float64)])


@dataclass(frozen=True)
class CollabParams:
    """Hyper-parameters; the defaults are those ``bench/recommend.py`` chose on
    MovieLens-100k's validation split.

    ``factors``, ``regularization``, ``iterations`` and ``seed`` act at fit time; the others
    only at request time (change them with :meth:`CollabModel.with_params`, no refit).
    ``regularization`` is a fraction of the largest singular value σ₁ of the liked matrix:
    ALS with uniform confidence shrinks each singular value by λ and drops those below it,
    so an absolute λ that suits MovieLens (σ₁ ≈ 170) would erase every factor of a small
    station's data (σ₁ ≈ 9 for 30 listeners); a fraction means the same at any size.
    ``strength_unit`` is the feedback weight that counts as one observation (a QFZZ play);
    a history item's confidence at fold-in is ``alpha × |net strength / unit| × recency``.
    """

    factors: int = 64
    regularization: float = 0.06
    alpha: float = 5.0
    iterations: int = 15
    seed: int = 0
    strength_unit: float = 0.05
    recency_half_life: float | None = 5.0
    time_half_life_s: float | None = None
    negative: float = 0.0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ValueError("factors and iterations must be ≥ 1")
        for name in ("regularization", "alpha", "strength_unit"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        for name in ("recency_half_life", "time_half_life_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number or None, got {value}")


_FIT_TIME = frozenset({"factors", "regularization", "iterations", "seed", "negative"})


@dataclass(frozen=True)
class CollabModel:
    """An immutable trained model: row ``k`` of :attr:`item_factors` is ``item_ids[k]``."""

    item_ids: IntArray
    item_factors: FloatArray  # items × factors
    gram: npt.NDArray[np.float64]  # YᵀY, factors × factors
    strength: float  # the fit's λ: params.regularization × σ₁; fold-in solves with it too
    params: CollabParams
    # item id → row, as the ids in ascending order and their rows: a vectorised lookup
    # (a dict would cost ~100 bytes per item and a Python step per history entry)
    _sorted_ids: IntArray
    _sorted_rows: IntArray

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    def nbytes(self) -> int:
        """Bytes held by the model's arrays (the id → row dict not counted)."""
        return int(self.item_ids.nbytes + self.item_factors.nbytes + self.gram.nbytes)

    def with_params(self, **changes: Any) -> CollabModel:
        """The same trained factors with other request-time parameters (no refit); the
        new values are validated like :class:`CollabParams`'s."""
        fit_time = _FIT_TIME.intersection(changes)
        if fit_time:
            raise ValueError(f"{', '.join(sorted(fit_time))}: fit-time, call fit() again")
        return replace(self, params=replace(self.params, **changes))

    def row_of(self, item_id: int) -> int | None:
        """The model's row of ``item_id``, or None when training never saw it."""
        row = int(self.rows_of(np.asarray([item_id], dtype=np.int64))[0])
        return None if row < 0 else row

    def rows_of(self, item_ids: IntArray) -> IntArray:
        """The model's row of each item id (-1 where training never saw it)."""
        ids = self._sorted_ids
        if ids.shape[0] == 0:
            return np.full(item_ids.shape[0], -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(ids, item_ids), ids.shape[0] - 1)
        return np.where(ids[at] == item_ids, self._sorted_rows[at], -1)

    def _fold(self, history: Sequence[HistoryEntry], now: float) -> tuple[IntArray, FloatArray]:
        """The listener as (rows, values): net feedback per known item × recency, the most
        recent item first (by its latest entry; equal timestamps keep the history's order,
        later = more recent)."""
        entries = np.array(list(history), dtype=_HISTORY_ENTRY)
        rows = self.rows_of(entries["item"])
        known = rows >= 0
        if not known.any():
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, stamps = rows[known], entries["at"][known]
        items, slot = np.unique(rows, return_inverse=True)
        # summed in the history's order, so an item's feedback that cancels is exactly 0
        net = np.bincount(slot, weights=entries["weight"][known], minlength=items.shape[0])
        by_time = np.argsort(stamps, kind="stable")  # (timestamp, position) ascending
        stamps = stamps[by_time]
        latest = np.zeros(items.shape[0], dtype=np.int64)  # each item's last place by time
        np.maximum.at(latest, slot[by_time], np.arange(rows.shape[0]))
        keep = np.flatnonzero(net != 0.0)
        keep = keep[np.argsort(-latest[keep], kind="stable")]
        if keep.shape[0] == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        p = self.params
        values = net[keep] / p.strength_unit
        if p.recency_half_life is not None:
            values *= 0.5 ** (np.arange(keep.shape[0]) / p.recency_half_life)
        if p.time_half_life_s is not None:
            ages = np.maximum(0.0, now - stamps[latest[keep]])
            values *= 0.5 ** (ages / p.time_half_life_s)
        return items[keep].astype(np.int64), values.astype(np.float32)

    def fold(self, history: Sequence[HistoryEntry], now: float) -> FoldedListener | None:
        """The listener with this ``history`` at ``now``, solved once for both
        :meth:`scores_of` and :meth:`explain_of` (a request scores the catalog and then
        explains its picks from the same fold-in); None when no history item is known."""
        rows, values = self._fold(history, now)
        if rows.shape[0] == 0:
            return None
        inverse, weighted = self._solve(rows, values)
        return FoldedListener(rows, inverse, weighted, inverse @ weighted.sum(axis=0))

    def _solve(self, rows: IntArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(A⁻¹, the history's factors × their weights c·p): the listener's factor is
        ``A⁻¹ @ weighted.sum(0)``, and each row of ``weighted`` is one item's share."""
        y = self.item_factors[rows].astype(np.float64)
        confidence = self.params.alpha * np.abs(values.astype(np.float64))
        a = self.gram + self.strength * np.eye(self.gram.shape[0])
        a += (y.T * (confidence - 1.0)) @ y
        preference = np.where(values > 0, 1.0, -self.params.negative)
        weighted = y * (confidence * preference)[:, None]
        return np.linalg.inv(a).astype(np.float32), weighted.astype(np.float32)

    def scores(self, history: Sequence[HistoryEntry], now: float) -> FloatArray:
        """Scores of every known item for a listener with this ``history`` at ``now``.

        Aligned with :attr:`item_ids`; all 0 for a listener with no known history. History
        items are scored too (the caller decides whether familiar items may come back).
        """
        return self.scores_of(self.fold(history, now))

    def scores_of(self, listener: FoldedListener | None) -> FloatArray:
        """:meth:`scores` of a listener already folded in (None: all 0)."""
        if listener is None:
            return np.zeros(self.n_items, dtype=np.float32)
        return np.asarray(self.item_factors @ listener.factor, dtype=np.float32)

    def explain(self, history: Sequence[HistoryEntry], item_id: int, now: float) -> int | None:
        """The history item that contributes most to ``item_id``'s score ("listeners who
        like X also play this"), or None when nothing in the history supports it."""
        return self.explain_many(history, [item_id], now)[item_id]

    def explain_many(
        self, history: Sequence[HistoryEntry], item_ids: Sequence[int], now: float
    ) -> dict[int, int | None]:
        """:meth:`explain` for several items, folding the listener in once (a playlist
        explains many picks from one history)."""
        if not (self.rows_of(np.asarray(item_ids, dtype=np.int64)) >= 0).any():
            return dict.fromkeys(item_ids)
        return self.explain_of(self.fold(history, now), item_ids)

    def explain_of(
        self, listener: FoldedListener | None, item_ids: Sequence[int]
    ) -> dict[int, int | None]:
        """:meth:`explain_many` for a listener already folded in (None: nothing supports
        anything)."""
        found: dict[int, int | None] = dict.fromkeys(item_ids)
        wanted = np.asarray(list(found), dtype=np.int64)
        columns = self.rows_of(wanted)
        if listener is None or not (columns >= 0).any():
            return found
        items = wanted[columns >= 0].tolist()
        targets = self.item_factors[columns[columns >= 0]]  # picks × factors
        contribution = listener.weighted @ (listener.inverse @ targets.T)  # history × picks
        best = np.argmax(contribution, axis=0)
        for k, item in enumerate(items):
            if contribution[best[k], k] > 0:
                found[item] = int(self.item_ids[listener.rows[best[k]]])
        return found


@dataclass(frozen=True, slots=True)
class FoldedListener:
    """One listener folded into one model: the model rows of their history, ``A⁻¹``, each
    history item's weighted factor (its share of the listener's factor), and the factor."""

    rows: IntArray
    inverse: FloatArray
    weighted: FloatArray
    factor: FloatArray


def _least_squares(
    liked: sp.csr_matrix, fixed: npt.NDArray[np.float64], regularization: float
) -> npt.NDArray[np.float64]:
    """One half-step of ALS with uniform confidence: every row's factor given the other
    side's ``fixed`` factors, ``(FᵀF + λI) x = Σ_{liked} f``. All rows share the matrix,
    so a half-step is one sparse product and one solve — no per-row loop, which is what
    lets a fit scale to a large catalogue."""
    k = fixed.shape[1]
    base = fixed.T @ fixed + regularization * np.eye(k)
    rhs = np.asarray(liked @ fixed)
    return np.asarray(np.linalg.solve(base, rhs.T).T)


def _largest_singular_value(liked: sp.csr_matrix, by_item: sp.csr_matrix) -> float:
    """σ₁ of the liked matrix by power iteration from the all-ones vector (deterministic;
    for a 0/1 matrix that start has a component along the top singular vector; with signed
    negatives it almost surely has, liked entries outnumbering the rest)."""
    v = np.ones(liked.shape[1])
    sigma = 0.0
    for _ in range(_POWER_STEPS):
        u = liked @ v
        v = by_item @ u
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            return 0.0
        v /= norm
        sigma = math.sqrt(norm)
    return sigma


def fit(
    user_ids: Sequence[int] | npt.ArrayLike,
    item_ids: Sequence[int] | npt.ArrayLike,
    weights: Sequence[float] | npt.ArrayLike,
    timestamps: Sequence[float] | npt.ArrayLike,
    params: CollabParams | None = None,
) -> CollabModel:
    """Train a new model from every listener's interactions (one row per feedback event).

    Pure and deterministic (seeded): the inputs are not modified and nothing is shared
    with an earlier model. Timestamps are validated but not used by the factorisation:
    recency acts at fold-in, where the listener's latest feedback is known.
    """
    import scipy.sparse as sp

    params = params or CollabParams()
    users = np.asarray(user_ids, dtype=np.int64)
    items = np.asarray(item_ids, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    n = users.shape[0]
    if users.ndim != 1 or not (items.shape == w.shape == ts.shape == (n,)):
        raise ValueError("user_ids, item_ids, weights and timestamps must be 1-D, equal length")
    if not (np.isfinite(w).all() and np.isfinite(ts).all()):
        raise ValueError("weights and timestamps must be finite")

    known, item_rows = np.unique(items, return_inverse=True)
    _, user_rows = np.unique(users, return_inverse=True)
    n_items, n_users = int(known.shape[0]), int(user_rows.max()) + 1 if n else 0
    # The taste learned from everyone: which items each listener is net positive about
    # (and, with ``negative`` > 0, net negative about). Strengths act at fold-in: per-row
    # confidences would cost a per-row solve at every step of the fit.
    net = sp.csr_matrix((w, (user_rows, item_rows)), shape=(n_users, n_items))
    net.sum_duplicates()
    signed = np.where(net.data > 0, 1.0, np.where(net.data < 0, -params.negative, 0.0))
    liked = sp.csr_matrix((signed, net.indices, net.indptr), shape=net.shape)
    liked.eliminate_zeros()
    by_item = sp.csr_matrix(liked.T)

    strength = params.regularization * _largest_singular_value(liked, by_item)
    rng = np.random.default_rng(params.seed)
    y = rng.normal(0.0, 0.01, (n_items, params.factors))
    for _ in range(params.iterations if liked.nnz else 0):
        x = _least_squares(liked, y, strength)
        y = _least_squares(by_item, x, strength)
    factors = y.astype(np.float32)
    gram = factors.astype(np.float64).T @ factors.astype(np.float64)
    return restore(known, factors, gram, strength, params)


def restore(
    item_ids: npt.ArrayLike,
    item_factors: FloatArray,
    gram: npt.NDArray[np.float64],
    strength: float,
    params: CollabParams,
) -> CollabModel:
    """A model from its arrays (what :func:`fit` made, perhaps in another process: the
    model's id → row view cannot be pickled, its arrays can)."""
    known = np.asarray(item_ids, dtype=np.int64)
    factors = np.asarray(item_factors, dtype=np.float32)
    gram = np.asarray(gram, dtype=np.float64)
    order = np.argsort(known, kind="stable")
    for array in (known, factors, gram, order):
        array.flags.writeable = False
    return CollabModel(
        item_ids=known,
        item_factors=factors,
        gram=gram,
        strength=float(strength),
        params=params,
        _sorted_ids=known[order],
        _sorted_rows=order,
    )


def fit_to_arrays(
    user_ids: npt.ArrayLike,
    item_ids: npt.ArrayLike,
    weights: npt.ArrayLike,
    timestamps: npt.ArrayLike,
    params: CollabParams | None = None,
) -> tuple[IntArray, FloatArray, npt.NDArray[np.float64], float, CollabParams]:
    """:func:`fit` with picklable results, for a fit in a child process (give them to
    :func:`restore`): the fit's numpy and scipy work holds the GIL in places, and a fit in
    the serving process would stall its requests meanwhile."""
    model = fit(user_ids, item_ids, weights, timestamps, params)
    return (
        np.array(model.item_ids),
        np.array(model.item_factors),
        np.array(model.gram),
        model.strength,
        model.params,
    )
