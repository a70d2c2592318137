"""The collaborative model's trainer: a background job that learns from every listener.

Every ``interval`` seconds, when interactions were added since the last fit, it reads the
whole interaction log (the driver's raw rows, in pages, the ledger's fast path), turns each
into its QFZZ feedback strength, fits a new model (``qfzz.dj.fit_collaborative``: a pure
function) and swaps it into the DJ's :class:`~qfzz.dj.Collaborative`. Requests read the
current model without waiting: a fit never blocks one. Until enough interactions exist
(``min_interactions``) there is no model and the DJ scores by content alone.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from qfzz.dj import CollabModel, Collaborative, fit_collaborative
from qfzz.models import InteractionType, feedback_strength
from qfzz.station._poller import Poller
from qfzz.store import Store

log = logging.getLogger(__name__)

PAGE = 50_000
_TYPES = {kind.value: kind for kind in InteractionType}


class TasteModelTrainer:
    """Owns the retraining thread; the model itself lives in the DJ's ``Collaborative``."""

    def __init__(
        self,
        store: Store,
        collaborative: Collaborative,
        *,
        interval: float,
        min_interactions: int,
    ) -> None:
        self._store = store
        self._collaborative = collaborative
        self._min = min_interactions
        self._fitted_through = -1
        self._worker = Poller("qfzz-taste-model", self._due, interval)

    def _due(self) -> int:
        return 0 if self.retrain() is None else 1

    def retrain(self, *, force: bool = False) -> CollabModel | None:
        """Fit from the whole log now if it grew since the last fit (or ``force``)."""
        last = self._store.interactions.last_id()
        if last == self._fitted_through and not force:
            return None
        users: dict[str, int] = {}
        user_codes: list[int] = []
        items: list[int] = []
        weights: list[float] = []
        stamps: list[float] = []
        after = 0
        while True:
            rows = self._store.interactions.raw_after(after, limit=PAGE, through=last)
            for _id, user, track, kind, rating, created in rows:
                found = _TYPES.get(str(kind))
                if found is None or (found is InteractionType.RATE and rating is None):
                    continue  # a row the reader cannot use (the ledger audits those)
                user_codes.append(users.setdefault(str(user), len(users)))
                items.append(int(track))
                weights.append(feedback_strength(found, rating))
                stamps.append(float(created))
            if len(rows) < PAGE:
                break
            after = int(rows[-1][0])
        self._fitted_through = last
        if len(items) < self._min:
            return None
        started = time.perf_counter()
        try:
            model = fit_collaborative(
                np.asarray(user_codes), np.asarray(items), np.asarray(weights), np.asarray(stamps)
            )
        except ValueError as exc:  # e.g. nothing positive yet: no shared taste to learn
            log.info("taste model not fitted: %s", exc)
            return None
        self._collaborative.install(model)
        log.info(
            "taste model fitted on %d interactions of %d listeners: %d tracks, %.1f s",
            len(items),
            len(users),
            model.n_items,
            time.perf_counter() - started,
        )
        return model

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()
