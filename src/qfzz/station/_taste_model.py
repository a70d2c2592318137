"""The collaborative model's trainer: a background job that learns from every listener.

Every ``interval`` seconds, when interactions were added since the last fit, it reads the
whole interaction log (the driver's raw rows, in pages, the ledger's fast path), turns each
into its QFZZ feedback strength, fits a new model in a spawned child process
(``qfzz.dj.fit_to_arrays``: a pure function; a fit in the serving process would hold the
GIL its requests need, ~100 ms of stall measured at 100k tracks) and swaps it into the
DJ's :class:`~qfzz.dj.Collaborative` — with the artist model, fitted from the same rows
with each track's feedback counted for its artist (as the catalog's current snapshot
names it). Requests read the current model without waiting: a
fit never blocks one. Until enough interactions exist
(``min_interactions``) there is no model and the DJ scores by content alone.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from qfzz.dj import (
    CatalogView,
    CollabModel,
    Collaborative,
    TasteArrays,
    fit_taste_arrays,
    restore_taste,
    taste_from_bytes,
    taste_to_bytes,
)
from qfzz.models import InteractionType, feedback_strength
from qfzz.station._poller import Poller
from qfzz.store import Store, TasteModelRepository

log = logging.getLogger(__name__)

PAGE = 50_000


#: QFZZ strength per stored interaction type (a rating's comes from the rating itself).
_STRENGTH = {
    kind.value: feedback_strength(kind) for kind in InteractionType if kind.value != "rate"
}


def _columns(
    rows: list[tuple[int, str, int, str, float | None, float]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A page of raw rows as columns (users, items, strengths, times), converted in bulk:
    a refit runs beside requests, and a per-row Python loop would hold the GIL they need.
    A row whose type is unknown, or a rating without its value, gets a NaN strength."""
    _ids, users, items, kinds, ratings, created = zip(*rows, strict=True)
    kind = np.asarray(kinds, dtype=object)
    rating = np.asarray([np.nan if r is None else r for r in ratings], dtype=np.float64)
    strength = np.full(len(rows), np.nan)
    for name, value in _STRENGTH.items():
        strength[kind == name] = value
    rated = (kind == "rate") & np.isfinite(rating)  # usually few: one call each
    strength[rated] = [feedback_strength(InteractionType.RATE, r) for r in rating[rated]]
    return (
        np.asarray(users, dtype=object),
        np.asarray(items, dtype=np.int64),
        strength,
        np.asarray(created, dtype=np.float64),
    )


class TasteModelTrainer:
    """Owns the retraining thread; the model itself lives in the DJ's ``Collaborative``."""

    def __init__(
        self,
        store: Store,
        collaborative: Collaborative,
        catalog: CatalogView,
        *,
        interval: float,
        min_interactions: int,
        in_child: bool = True,
        shared: TasteModelRepository | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``in_child``: fit in a spawned child process (the default, for a serving
        process); False fits in the calling thread (tests, short CLI runs)."""
        self._in_child = in_child
        self._store = store
        self._collaborative = collaborative
        self._catalog = catalog
        self._min = min_interactions
        self._fitted_through = -1
        #: Where fits are kept for the station's other processes (None: one process).
        self._shared = shared
        self._clock = clock
        self._following = False
        self._loaded = 0  # the id of the shared fit installed here (following)
        self._worker = Poller("qfzz-taste-model", self._due, interval)

    def _due(self) -> int:
        if self._following:
            return 1 if self.follow() else 0
        return 0 if self.retrain() is None else 1

    def follow(self) -> bool:
        """Install the newest fit another process of the station stored, if it is newer
        than the one installed here; whether it installed one."""
        if self._shared is None:
            return False
        newest = self._shared.newest_id()
        if newest <= self._loaded:
            return False
        data = self._shared.load(newest)
        if data is None:  # dropped meanwhile (two newer fits came): the next poll
            return False
        try:
            fitted = restore_taste(taste_from_bytes(data))
        except ValueError:
            log.exception("stored taste model %d could not be read", newest)
            self._loaded = newest  # not again
            return False
        self._collaborative.install(fitted.tracks, fitted.artists, fitted.artist_weight)
        self._loaded = newest
        log.info(
            "taste model %d of the station installed (%d tracks)", newest, fitted.tracks.n_items
        )
        return True

    def retrain(self, *, force: bool = False) -> CollabModel | None:
        """Fit from the whole log now if it grew since the last fit (or ``force``)."""
        last = self._store.interactions.last_id()
        if last == self._fitted_through and not force:
            return None
        pages = []
        after = 0
        while True:
            rows = self._store.interactions.raw_after(after, limit=PAGE, through=last)
            if rows:
                pages.append(_columns(rows))
            if len(rows) < PAGE:
                break
            after = int(rows[-1][0])
        self._fitted_through = last
        if not pages:
            return None
        users = np.concatenate([p[0] for p in pages])
        items = np.concatenate([p[1] for p in pages])
        weights = np.concatenate([p[2] for p in pages])
        stamps = np.concatenate([p[3] for p in pages])
        usable = np.isfinite(weights)  # a row the reader cannot use (the ledger audits it)
        users, items, weights, stamps = (
            users[usable],
            items[usable],
            weights[usable],
            stamps[usable],
        )
        if items.shape[0] < self._min:
            return None
        _, user_codes = np.unique(users, return_inverse=True)
        artists = self._collaborative.artist_items(self._catalog.current, items)
        started = time.perf_counter()
        try:
            arrays = self._fit(user_codes, items, artists, weights, stamps)
        except ValueError as exc:  # e.g. nothing positive yet: no shared taste to learn
            log.info("taste model not fitted: %s", exc)
            return None
        fitted = restore_taste(arrays)
        if self._shared is not None:  # for the station's other processes
            self._shared.save(taste_to_bytes(arrays), fitted_through=last, now=self._clock())
        model = fitted.tracks
        self._collaborative.install(model, fitted.artists, fitted.artist_weight)
        log.info(
            "artist model weight %.1f (held-out percentile rank by weight: %s)",
            fitted.artist_weight,
            {w: round(r, 4) for w, r in fitted.ranks.items()} or "too few listeners to judge",
        )
        log.info(
            "taste model fitted on %d interactions of %d listeners: %d tracks, %.1f s",
            items.shape[0],
            int(user_codes.max()) + 1,
            model.n_items,
            time.perf_counter() - started,
        )
        return model

    def _fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        artists: np.ndarray,
        weights: np.ndarray,
        stamps: np.ndarray,
    ) -> TasteArrays:
        """Fit both models (and choose the artist model's weight) in a child process
        (spawned: the server has threads) so requests keep the GIL; the arrays go there
        and back, the models are rebuilt from them here."""
        if not self._in_child:
            return fit_taste_arrays(users, items, artists, weights, stamps)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            job = pool.submit(_fit_with_one_thread, users, items, artists, weights, stamps)
            return job.result()

    def start(self, *, follow: bool = False) -> None:
        """Refit every interval; or, ``follow``ing (an API process of a station shared by
        several), install the fits another process stores instead of fitting here."""
        self._following = follow and self._shared is not None
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()


def _fit_with_one_thread(
    users: np.ndarray,
    items: np.ndarray,
    artists: np.ndarray,
    weights: np.ndarray,
    stamps: np.ndarray,
) -> TasteArrays:
    """The fit in the child, its BLAS limited to one thread: with a thread per core the fit
    takes every core from the server for a few percent of fit time (measured at 1M tracks
    on 2 cores, ``bench/playlist.py``: a playlist's p99 during a refit 35 ms, 14 ms so)."""
    with threadpool_limits(limits=1):
        return fit_taste_arrays(users, items, artists, weights, stamps)
