"""Dataset quality score, as the QFZZ design specifies it.

``score = 0.30 metadata + 0.25 consistency + 0.20 size + 0.15 diversity + 0.10 license``,
every component in [0, 1]:

* **metadata**: per track ``0.7 · present required / 4 + 0.3 · present optional / 5``
  (required title, artist, genre, duration; optional album, year, mood, energy, tempo),
  averaged over tracks.
* **consistency**: ``0.5 · field overlap + 0.5 · validity``. Overlap per track is
  ``|fields(first) ∩ fields(track)| / |fields(first)|``, averaged (0 when the first track
  has no fields). Validity starts at 1.0 and loses 0.01 for each track whose duration is
  present but not a finite number > 0, and 0.01 for each track whose energy is present but
  not a number in [0, 1]; floored at 0.
* **size**: 0 tracks 0, <10 0.2, <50 0.4, <100 0.6, <500 0.8, else 1.0.
* **diversity**: ``0.5 · min(1, genres / 10) + 0.5 · min(1, artists / max(1, n / 5))``,
  distinct values counted case-insensitively after stripping.
* **license**: the permissiveness derived from the licence id (:mod:`.licenses`).

A field is *present* when its value is not None and not a blank string (see
:func:`qfzz.catalog.dataset_file.is_present`): an empty CSV cell is missing, an energy of
0.0 is present. The scores read the raw records, so a dataset with some unparseable values
is still scored (they count as invalid) rather than rejected before the operator sees why.

One Python pass extracts presence and the few values needed; every component is then a
numpy operation over whole columns, never a Python loop per track.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qfzz.catalog.dataset_file import is_present
from qfzz.catalog.licenses import LicenseTerms, check_allowed, parse_license
from qfzz.errors import QualityTooLow
from qfzz.models import QualityReport

__all__ = [
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "WEIGHTS",
    "compute_components",
    "evaluate_dataset",
    "format_components",
    "score_dataset",
    "size_score",
]

REQUIRED_FIELDS = ("title", "artist", "genre", "duration")
OPTIONAL_FIELDS = ("album", "year", "mood", "energy", "tempo")
WEIGHTS: Mapping[str, float] = {
    "metadata": 0.30,
    "consistency": 0.25,
    "size": 0.20,
    "diversity": 0.15,
    "license": 0.10,
}
_SIZE_STEPS = ((10, 0.2), (50, 0.4), (100, 0.6), (500, 0.8))
_PENALTY = 0.01


def size_score(n: int) -> float:
    """The size component for a dataset of ``n`` tracks."""
    if n <= 0:
        return 0.0
    return next((score for limit, score in _SIZE_STEPS if n < limit), 1.0)


def _number(value: object) -> float:
    """A raw value as a float; NaN when it is not a number (so it fails every range test)."""
    if isinstance(value, bool):
        return math.nan
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except OverflowError:
        return math.inf  # an integer too large for a float is still out of every range
    except ValueError:
        return math.nan
    return math.nan


def _norm(value: object) -> str:
    return str(value).strip().casefold()


@dataclass(frozen=True, slots=True)
class _Columns:
    """What the one parsing pass extracts: a presence mask and the values scored."""

    present: npt.NDArray[np.bool_]  # (tracks, columns)
    first_columns: npt.NDArray[np.intp]  # columns holding the first track's fields
    duration: npt.NDArray[np.float64]  # NaN where missing or not a number
    energy: npt.NDArray[np.float64]
    genres: int
    artists: int


def _extract(records: Sequence[Mapping[str, object]]) -> _Columns:
    first = [k for k, v in records[0].items() if is_present(v)] if records else []
    names = list(dict.fromkeys([*REQUIRED_FIELDS, *OPTIONAL_FIELDS, *first]))
    index = {name: j for j, name in enumerate(names)}
    rows: list[int] = []
    cols: list[int] = []
    duration: list[float] = []
    energy: list[float] = []
    genres: set[str] = set()
    artists: set[str] = set()
    for i, record in enumerate(records):
        for key, value in record.items():
            j = index.get(key)
            if j is not None and is_present(value):
                rows.append(i)
                cols.append(j)
        dur, en = record.get("duration"), record.get("energy")
        duration.append(_number(dur) if is_present(dur) else math.nan)
        energy.append(_number(en) if is_present(en) else math.nan)
        genre, artist = record.get("genre"), record.get("artist")
        if is_present(genre):
            genres.add(_norm(genre))
        if is_present(artist):
            artists.add(_norm(artist))
    present = np.zeros((len(records), len(names)), dtype=np.bool_)
    present[np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)] = True
    return _Columns(
        present=present,
        first_columns=np.asarray([index[k] for k in first], dtype=np.intp),
        duration=np.asarray(duration, dtype=np.float64),
        energy=np.asarray(energy, dtype=np.float64),
        genres=len(genres),
        artists=len(artists),
    )


def compute_components(
    records: Sequence[Mapping[str, object]], license_terms: LicenseTerms
) -> dict[str, float]:
    """The five components, unrounded; :func:`score_dataset` is what callers want."""
    n = len(records)
    if n == 0:
        track_based = dict.fromkeys(("metadata", "consistency", "size", "diversity"), 0.0)
        return {**track_based, "license": license_terms.permissiveness}
    c = _extract(records)
    n_req = len(REQUIRED_FIELDS)
    required = c.present[:, :n_req].sum(axis=1) / n_req
    optional = c.present[:, n_req : n_req + len(OPTIONAL_FIELDS)].sum(axis=1) / len(OPTIONAL_FIELDS)
    metadata = float(np.mean(0.7 * required + 0.3 * optional))

    if c.first_columns.size:
        overlap = float(np.mean(c.present[:, c.first_columns].sum(axis=1) / c.first_columns.size))
    else:
        overlap = 0.0
    d_col = REQUIRED_FIELDS.index("duration")
    e_col = n_req + OPTIONAL_FIELDS.index("energy")
    with np.errstate(invalid="ignore"):
        bad_duration = c.present[:, d_col] & ~(np.isfinite(c.duration) & (c.duration > 0))
        bad_energy = c.present[:, e_col] & ~((c.energy >= 0) & (c.energy <= 1))
    bad = int(np.count_nonzero(bad_duration) + np.count_nonzero(bad_energy))
    validity = max(0.0, 1.0 - _PENALTY * bad)
    consistency = 0.5 * overlap + 0.5 * validity

    diversity = 0.5 * min(1.0, c.genres / 10) + 0.5 * min(1.0, c.artists / max(1.0, n / 5))
    return {
        "metadata": metadata,
        "consistency": consistency,
        "size": size_score(n),
        "diversity": diversity,
        "license": license_terms.permissiveness,
    }


def score_dataset(
    records: Sequence[Mapping[str, object]], license_terms: LicenseTerms
) -> QualityReport:
    """Score a dataset's raw records; components and score are rounded to 4 decimals.

    The score is the weighted sum of the unrounded components, then rounded, so it can
    differ from the weighted sum of the shown components by at most 0.0001.
    """
    components = compute_components(records, license_terms)
    score = sum(WEIGHTS[name] * value for name, value in components.items())
    return QualityReport(
        score=round(min(1.0, max(0.0, score)), 4),
        components={name: round(value, 4) for name, value in components.items()},
        license_id=license_terms.license_id,
        track_count=len(records),
    )


def format_components(report: QualityReport) -> str:
    """``metadata 0.8500, consistency 0.9900, …`` for messages and the CLI."""
    return ", ".join(f"{name} {value:.4f}" for name, value in report.components.items())


def evaluate_dataset(
    records: Sequence[Mapping[str, object]],
    raw_license: str,
    *,
    allowed: Collection[str],
    min_quality: float,
) -> QualityReport:
    """Accept or reject a dataset: licence known and allowed, then score ≥ ``min_quality``.

    Raises LicenseRejected for an unknown or disallowed licence (before any scoring) and
    QualityTooLow, whose message carries the score and every component, when the score is
    below ``min_quality``.
    """
    terms = parse_license(raw_license)
    check_allowed(terms, allowed)
    report = score_dataset(records, terms)
    if report.score < min_quality:
        raise QualityTooLow(
            f"dataset quality {report.score:.4f} is below the minimum {min_quality:.4f} "
            f"({format_components(report)})"
        )
    return report
