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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

#: Power-iteration steps for σ₁ (the ratio σ₂/σ₁ of listening data is well below 1).
_POWER_STEPS = 50

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: One history entry: (item id, feedback weight, timestamp in seconds).
HistoryEntry = tuple[int, float, float]


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
    _index: Mapping[int, int]  # read-only view: item id → row

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
        return self._index.get(item_id)

    def _fold(self, history: Sequence[HistoryEntry], now: float) -> tuple[IntArray, FloatArray]:
        """The listener as (rows, values): net feedback per known item × recency."""
        net: dict[int, float] = {}
        latest: dict[int, tuple[float, int]] = {}
        for position, (item_id, weight, timestamp) in enumerate(history):
            row = self._index.get(item_id)
            if row is None:
                continue
            net[row] = net.get(row, 0.0) + float(weight)
            stamp = (float(timestamp), position)
            if row not in latest or stamp >= latest[row]:
                latest[row] = stamp
        rows = [r for r, w in net.items() if w != 0.0]
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        # Most recent first; equal timestamps keep the history's order (later = more recent).
        rows.sort(key=lambda r: latest[r], reverse=True)
        p = self.params
        values = np.asarray([net[r] for r in rows], dtype=np.float64) / p.strength_unit
        if p.recency_half_life is not None:
            values *= 0.5 ** (np.arange(len(rows)) / p.recency_half_life)
        if p.time_half_life_s is not None:
            ages = np.maximum(0.0, now - np.asarray([latest[r][0] for r in rows]))
            values *= 0.5 ** (ages / p.time_half_life_s)
        return np.asarray(rows, dtype=np.int64), values.astype(np.float32)

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
        rows, values = self._fold(history, now)
        if rows.shape[0] == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        inverse, weighted = self._solve(rows, values)
        user = inverse @ weighted.sum(axis=0)
        return np.asarray(self.item_factors @ user, dtype=np.float32)

    def explain(self, history: Sequence[HistoryEntry], item_id: int, now: float) -> int | None:
        """The history item that contributes most to ``item_id``'s score ("listeners who
        like X also play this"), or None when nothing in the history supports it."""
        return self.explain_many(history, [item_id], now)[item_id]

    def explain_many(
        self, history: Sequence[HistoryEntry], item_ids: Sequence[int], now: float
    ) -> dict[int, int | None]:
        """:meth:`explain` for several items, folding the listener in once (a playlist
        explains many picks from one history)."""
        found: dict[int, int | None] = dict.fromkeys(item_ids)
        columns = {i: c for i in item_ids if (c := self._index.get(i)) is not None}
        rows, values = self._fold(history, now)
        if not columns or rows.shape[0] == 0:
            return found
        inverse, weighted = self._solve(rows, values)
        items = list(columns)
        targets = self.item_factors[[columns[i] for i in items]]  # picks × factors
        contribution = weighted @ (inverse @ targets.T)  # history × picks
        best = np.argmax(contribution, axis=0)
        for k, item in enumerate(items):
            if contribution[best[k], k] > 0:
                found[item] = int(self.item_ids[rows[best[k]]])
        return found


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
    for array in (known, factors, gram):
        array.flags.writeable = False
    return CollabModel(
        item_ids=known,
        item_factors=factors,
        gram=gram,
        strength=float(strength),
        params=params,
        _index=MappingProxyType({int(item): row for row, item in enumerate(known)}),
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
