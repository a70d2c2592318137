"""The personalized DJ: a numpy scoring index of the catalog and listener profiles.

Pure Python and numpy; it never touches the database. The station hands it the catalog's
columns and the listeners' stored state.
"""

from qfzz.dj._collab import CollabModel, CollabParams, fit_to_arrays, restore
from qfzz.dj._collab import fit as fit_collaborative
from qfzz.dj._collaborative import (
    ARTIST_PARAMS,
    W_ARTIST_COLLAB,
    W_COLLAB,
    Collaborative,
    artist_item_id,
)
from qfzz.dj._dj import PersonalizedDJ, Recommendation, TrustFilter
from qfzz.dj._genres import normalise_genre, related_genres
from qfzz.dj._index import CatalogIndex, TrackFeatures
from qfzz.dj._profile import (
    KINDS,
    STATED_WEIGHT,
    TEMPO_PREFERENCES,
    ListenerProfile,
    initial_weights,
)
from qfzz.dj._scoring import Scorer, project
from qfzz.dj._select import top_rows
from qfzz.dj._taste_fit import (
    TasteArrays,
    TasteModels,
    choose_artist_weight,
    fit_taste,
    fit_taste_arrays,
    restore_taste,
    taste_from_bytes,
    taste_to_bytes,
)
from qfzz.dj._view import CatalogView

__all__ = [
    "ARTIST_PARAMS",
    "KINDS",
    "STATED_WEIGHT",
    "TEMPO_PREFERENCES",
    "W_ARTIST_COLLAB",
    "W_COLLAB",
    "CatalogIndex",
    "CatalogView",
    "CollabModel",
    "CollabParams",
    "Collaborative",
    "ListenerProfile",
    "PersonalizedDJ",
    "Recommendation",
    "Scorer",
    "TasteArrays",
    "TasteModels",
    "TrackFeatures",
    "TrustFilter",
    "artist_item_id",
    "choose_artist_weight",
    "fit_collaborative",
    "fit_taste",
    "fit_taste_arrays",
    "fit_to_arrays",
    "initial_weights",
    "normalise_genre",
    "project",
    "related_genres",
    "restore",
    "restore_taste",
    "taste_from_bytes",
    "taste_to_bytes",
    "top_rows",
]
