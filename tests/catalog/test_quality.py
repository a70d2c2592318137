"""Dataset quality: hand-computed scores, edge cases, and a naive reference to compare to."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.catalog.licenses import parse_license
from qfzz.catalog.quality import (
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    WEIGHTS,
    compute_components,
    evaluate_dataset,
    format_components,
    score_dataset,
    size_score,
)
from qfzz.errors import LicenseRejected, QualityTooLow

CC0 = parse_license("CC0-1.0")
COMPONENTS = ["metadata", "consistency", "size", "diversity", "license"]

FULL = {
    "title": "A",
    "artist": "X",
    "genre": "rock",
    "duration": 200,
    "album": "Al",
    "year": 2001,
    "mood": "happy",
    "energy": 0.0,
    "tempo": 120,
}


def test_hand_computed_mixed_dataset() -> None:
    records = [
        FULL,
        {"title": "B", "artist": "x ", "genre": "Rock", "duration": 180, "energy": 0.5},
        {"title": "C", "artist": "Y", "genre": "jazz", "duration": 0, "energy": 1.5, "album": ""},
    ]
    report = score_dataset(records, parse_license("CC BY-SA 4.0"))
    # metadata: t0 all 9 present -> 1.0; t1, t2: 4/4 required, 1/5 optional (energy; the
    #   empty album is missing) -> 0.7 + 0.3*0.2 = 0.76; mean (1 + 0.76 + 0.76)/3 = 0.84
    # overlap: fields(t0) = 9; t1, t2 share 5 of them -> (1 + 5/9 + 5/9)/3 = 19/27
    # validity: t2 has duration 0 and energy 1.5 -> 1 - 0.02 = 0.98
    # consistency: 0.5*19/27 + 0.5*0.98 = 0.351852 + 0.49 = 0.841852
    # size: 3 tracks -> 0.2
    # diversity: genres {rock, jazz} -> 0.5*2/10 = 0.1; artists {x, y}: 2/max(1, 3/5) -> 0.5
    # license: CC-BY-SA 0.9
    # score: 0.3*0.84 + 0.25*0.841852 + 0.2*0.2 + 0.15*0.6 + 0.1*0.9
    #      = 0.252 + 0.210463 + 0.04 + 0.09 + 0.09 = 0.682463
    assert report.components == {
        "metadata": 0.84,
        "consistency": 0.8419,
        "size": 0.2,
        "diversity": 0.6,
        "license": 0.9,
    }
    assert report.score == 0.6825
    assert report.license_id == "CC-BY-SA-4.0"
    assert report.track_count == 3


def test_hand_computed_csv_like_dataset() -> None:
    """All values are strings, as a CSV gives them; empty cells are missing."""
    records = [
        {"title": "Song", "artist": "Ann", "genre": "", "duration": "210.5", "album": "",
         "year": "1999", "mood": "", "energy": "0.0", "tempo": ""},
        {"title": "Other", "artist": "Ann", "genre": "folk", "duration": "abc", "album": "LP",
         "year": "", "mood": "calm", "energy": "", "tempo": "90"},
    ]  # fmt: skip
    report = score_dataset(records, parse_license("CC-BY-NC-4.0"))
    # metadata: t0 required 3/4 (genre empty), optional 2/5 (year, energy "0.0")
    #   -> 0.525 + 0.12 = 0.645; t1 4/4 ("abc" is present), 3/5 -> 0.7 + 0.18 = 0.88
    #   mean 0.7625
    # overlap: fields(t0) = {title, artist, duration, year, energy}; t1 has 3 -> (1+0.6)/2 = 0.8
    # validity: t1's duration "abc" is not a positive number -> 0.99
    # consistency: 0.4 + 0.495 = 0.895
    # size 0.2; diversity: 1 genre -> 0.05, 1 artist / max(1, 0.4) -> 0.5; total 0.55
    # license CC-BY-NC 0.7
    # score: 0.22875 + 0.22375 + 0.04 + 0.0825 + 0.07 = 0.645
    assert report.components == {
        "metadata": 0.7625,
        "consistency": 0.895,
        "size": 0.2,
        "diversity": 0.55,
        "license": 0.7,
    }
    assert report.score == 0.645


def test_hand_computed_diversity_dataset() -> None:
    records = [{"title": f"t{i}", "artist": ["Ann", "BOB"][i % 2], "genre": f"g{i}"}
               for i in range(12)]  # fmt: skip
    report = score_dataset(records, CC0)
    # metadata: 3/4 required, no optional -> 0.525 for every track
    # consistency: every track has the first's 3 fields, nothing invalid -> 1.0
    # size: 12 -> 0.4
    # diversity: 12 genres -> 0.5; 2 artists / max(1, 12/5 = 2.4) = 0.8333 -> 0.416667
    # score: 0.1575 + 0.25 + 0.08 + 0.15*0.916667 (= 0.1375) + 0.1 = 0.725
    assert report.components == {
        "metadata": 0.525,
        "consistency": 1.0,
        "size": 0.4,
        "diversity": 0.9167,
        "license": 1.0,
    }
    assert report.score == 0.725


def test_component_names_and_order() -> None:
    assert list(score_dataset([FULL], CC0).components) == COMPONENTS
    assert list(WEIGHTS) == COMPONENTS
    assert math.isclose(sum(WEIGHTS.values()), 1.0)


def test_empty_dataset_scores_only_its_licence() -> None:
    report = score_dataset([], parse_license("CC-BY-NC-SA"))
    assert report.components == {
        "metadata": 0.0,
        "consistency": 0.0,
        "size": 0.0,
        "diversity": 0.0,
        "license": 0.6,
    }
    assert report.score == 0.06
    assert report.track_count == 0


def test_energy_zero_is_present_and_valid() -> None:
    base = {"title": "a", "artist": "b", "genre": "c", "duration": 1.0}
    without = score_dataset([base], CC0).components
    for zero in (0.0, 0, "0", "0.0"):
        with_zero = score_dataset([{**base, "energy": zero}], CC0).components
        # one more optional field: +0.3 * 1/5 = +0.06; validity stays 1.0
        assert with_zero["metadata"] == pytest.approx(without["metadata"] + 0.06)
        assert with_zero["consistency"] == 1.0


def test_empty_and_blank_strings_and_none_are_missing() -> None:
    for missing in ("", "   ", None):
        record = {"title": "a", "artist": "b", "genre": missing, "duration": missing}
        # 2/4 required -> 0.35
        assert score_dataset([record], CC0).components["metadata"] == 0.35


def test_validity_floors_at_zero_with_many_bad_tracks() -> None:
    records = [{"title": f"t{i}", "duration": -1, "energy": 2} for i in range(150)]
    components = compute_components(records, CC0)
    # 300 penalties of 0.01 -> validity 0; every track matches the first -> overlap 1
    assert components["consistency"] == 0.5


def test_validity_counts_each_bad_value() -> None:
    records: list[dict[str, object]] = [
        {"title": "a", "duration": 0},  # non-positive duration
        {"title": "b", "duration": -3.0, "energy": -0.1},  # both bad: 0.02
        {"title": "c", "energy": "loud"},  # not a number
        {"title": "d", "duration": "nan", "energy": True},  # NaN and a bool are invalid
        {"title": "e", "duration": 1e-9, "energy": 1},  # both valid
    ]
    components = compute_components(records, CC0)
    # 6 penalties -> validity 0.94; fields(first) = {title, duration}: c lacks duration
    overlap = (1 + 1 + 0.5 + 1 + 1) / 5
    assert components["consistency"] == pytest.approx(0.5 * overlap + 0.5 * 0.94)  # 0.92


def test_first_track_without_fields_gives_zero_overlap() -> None:
    records: list[dict[str, object]] = [{"title": "", "artist": None}, {"title": "a"}]
    assert compute_components(records, CC0)["consistency"] == 0.5  # overlap 0, validity 1


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, 0.0),
        (1, 0.2),
        (9, 0.2),
        (10, 0.4),
        (49, 0.4),
        (50, 0.6),
        (99, 0.6),
        (100, 0.8),
        (499, 0.8),
        (500, 1.0),
        (5000, 1.0),
    ],
)
def test_size_thresholds(n: int, expected: float) -> None:
    assert size_score(n) == expected
    records = [{"title": str(i)} for i in range(n)]
    assert score_dataset(records, CC0).components["size"] == expected


def test_licence_component_ignores_uploader_flags() -> None:
    record = {**FULL, "commercial_use": True, "license_permissiveness": 1.0}
    assert score_dataset([record], parse_license("CC-BY-NC")).components["license"] == 0.7


def test_evaluate_accepts_a_good_dataset() -> None:
    records = [{**FULL, "title": f"t{i}", "artist": f"a{i}", "genre": f"g{i % 12}"}
               for i in range(120)]  # fmt: skip
    report = evaluate_dataset(records, "cc by 4.0", allowed={"CC-BY"}, min_quality=0.9)
    # metadata 1, consistency 1, size 0.8, diversity 1, licence 1 -> 0.96
    assert report.score == 0.96
    assert report.license_id == "CC-BY-4.0"


def test_evaluate_rejects_low_quality_with_components_in_message() -> None:
    with pytest.raises(QualityTooLow) as info:
        evaluate_dataset([{"title": "a"}], "CC0", allowed={"CC0"}, min_quality=0.5)
    message = str(info.value)
    assert "0.5" in message
    for name in COMPONENTS:
        assert name in message


def test_evaluate_score_equal_to_minimum_passes() -> None:
    report = score_dataset([FULL], CC0)
    assert evaluate_dataset([FULL], "CC0", allowed={"cc0"}, min_quality=report.score) == report


@pytest.mark.parametrize(
    ("raw", "allowed"),
    [("GPL-3.0", {"CC0"}), ("CC-BY-NC-4.0", {"CC0", "CC-BY"})],
)
def test_evaluate_rejects_unknown_or_disallowed_licence(raw: str, allowed: set[str]) -> None:
    with pytest.raises(LicenseRejected):
        evaluate_dataset([FULL], raw, allowed=allowed, min_quality=0.0)


def test_format_components() -> None:
    text = format_components(score_dataset([], CC0))
    assert (
        text == "metadata 0.0000, consistency 0.0000, size 0.0000, diversity 0.0000, license 1.0000"
    )


# --- a naive per-track reference (the prototype's loops, with the documented fixes) ---


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def _fields(record: Mapping[str, object]) -> set[str]:
    return {key for key, value in record.items() if _present(value)}


def _as_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def reference(records: Sequence[Mapping[str, object]], permissiveness: float) -> dict[str, float]:
    n = len(records)
    if n == 0:
        return {"metadata": 0, "consistency": 0, "size": 0, "diversity": 0,
                "license": permissiveness}  # fmt: skip
    metadata = 0.0
    for record in records:
        have = _fields(record)
        req = sum(1 for f in REQUIRED_FIELDS if f in have)
        opt = sum(1 for f in OPTIONAL_FIELDS if f in have)
        metadata += 0.7 * req / 4 + 0.3 * opt / 5
    metadata /= n
    first = _fields(records[0])
    overlap = 0.0
    if first:
        for record in records:
            overlap += len(first & _fields(record)) / len(first)
        overlap /= n
    validity = 1.0
    for record in records:
        have = _fields(record)
        if "duration" in have:
            d = _as_float(record["duration"])
            if d is None or not math.isfinite(d) or d <= 0:
                validity -= 0.01
        if "energy" in have:
            e = _as_float(record["energy"])
            if e is None or not 0 <= e <= 1:
                validity -= 0.01
    validity = max(0.0, validity)
    genres = set()
    artists = set()
    for record in records:
        if _present(record.get("genre")):
            genres.add(str(record["genre"]).strip().lower())
        if _present(record.get("artist")):
            artists.add(str(record["artist"]).strip().lower())
    if n < 10:
        size = 0.2
    elif n < 50:
        size = 0.4
    elif n < 100:
        size = 0.6
    elif n < 500:
        size = 0.8
    else:
        size = 1.0
    return {
        "metadata": metadata,
        "consistency": 0.5 * overlap + 0.5 * validity,
        "size": size,
        "diversity": 0.5 * min(1, len(genres) / 10) + 0.5 * min(1, len(artists) / max(1, n / 5)),
        "license": permissiveness,
    }


_WORDS = st.sampled_from(["rock", "Rock ", "JAZZ", "jazz", "pop", "x", "Y", "y", "zz"])
_NUMBERS = st.one_of(
    st.integers(-5, 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1, 2),
)
_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "0", "0.0", "-1", "1.5", "abc", "nan", "inf", " 0.5 "]),
    st.booleans(),
    _NUMBERS,
    _WORDS,
    _NUMBERS.map(str),
)
_KEYS = st.sampled_from([*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "id", "source", "Title"])
_RECORDS = st.lists(st.dictionaries(_KEYS, _VALUES, max_size=12), max_size=60)
_LICENCES = st.sampled_from(["CC0", "CC-BY-SA", "CC-BY-NC-ND", "ODbL", "CC-BY-NC"])


@settings(max_examples=300)
@given(_RECORDS, _LICENCES)
def test_vectorised_scoring_matches_the_naive_reference(
    records: list[dict[str, object]], licence: str
) -> None:
    terms = parse_license(licence)
    got = compute_components(records, terms)
    want = reference(records, terms.permissiveness)
    assert list(got) == COMPONENTS
    for name in COMPONENTS:
        assert got[name] == pytest.approx(want[name], abs=1e-9), name


@settings(max_examples=200)
@given(_RECORDS, _LICENCES)
def test_scores_are_in_unit_interval_and_rounded(
    records: list[dict[str, object]], licence: str
) -> None:
    terms = parse_license(licence)
    report = score_dataset(records, terms)
    raw = compute_components(records, terms)
    assert 0.0 <= report.score <= 1.0
    assert report.score == round(sum(WEIGHTS[k] * v for k, v in raw.items()), 4)
    for name, value in report.components.items():
        assert 0.0 <= value <= 1.0
        assert value == round(raw[name], 4)
