"""What other listeners teach the DJ: the current collaborative model, and its share of a
track's score.

The trainer (the station's background job) fits a new :class:`CollabModel` from everyone's
interactions and hands it to :meth:`Collaborative.install`; a request reads whichever
model is current — one reference read, never a wait for training. A listener is folded in
from their own latest feedback at each request, so what they did a second ago counts.

The model's scores are normalised per request to [-1, 1] (its largest magnitude), so the
blend weight :data:`W_COLLAB` means the same for every listener, and mapped from the
model's item ids to the catalog snapshot's rows (the mapping is cached per pair of model
and snapshot).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from qfzz.dj._collab import CollabModel
from qfzz.dj._index import CatalogIndex

#: Weight of the collaborative term next to the content score (genre 0.30, artist 0.25…):
#: chosen on MovieLens-100k's validation split by ``bench/recommend.py``.
W_COLLAB = 2.0
#: A pick is explained by its collaborative term when that term gives at least this.
EXPLAIN_SHARE = 0.05

History = Sequence[tuple[int, float, float]]


class Collaborative:
    """Holds the current model (None until the first fit) and blends it into scores."""

    def __init__(self, weight: float = W_COLLAB) -> None:
        if weight < 0:
            raise ValueError("the collaborative weight must be >= 0")
        self.weight = weight
        self._model: CollabModel | None = None
        self._rows: tuple[CollabModel, CatalogIndex, npt.NDArray[np.int64]] | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> CollabModel | None:
        return self._model

    def install(self, model: CollabModel | None) -> None:
        """Swap in a newly fitted model (requests in flight keep the one they read)."""
        self._model = model

    def boost(
        self, index: CatalogIndex, history: History, now: float
    ) -> tuple[npt.NDArray[np.float32], CollabModel] | None:
        """``weight`` × the listener's normalised collaborative scores per catalog row, and
        the model that made them; None without a model or a usable history."""
        model = self._model
        if model is None or self.weight == 0 or not history:
            return None
        scores = model.scores(history, now)
        peak = float(np.abs(scores).max()) if scores.size else 0.0
        if peak <= 0:
            return None
        rows = self._rows_of(model, index)
        boost = np.zeros(len(index), dtype=np.float32)
        known = rows >= 0
        boost[rows[known]] = scores[known] * (self.weight / peak)
        return boost, model

    def _rows_of(self, model: CollabModel, index: CatalogIndex) -> npt.NDArray[np.int64]:
        cached = self._rows
        if cached is not None and cached[0] is model and cached[1] is index:
            return cached[2]
        rows = index.rows_of(model.item_ids.tolist()).astype(np.int64)
        with self._lock:
            self._rows = (model, index, rows)
        return rows
