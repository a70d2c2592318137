"""Licence parsing: permissiveness comes from the licence id, never from uploader flags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qfzz.catalog.licenses import (
    DEFAULT_ALLOWED_LICENSES,
    KNOWN_FAMILIES,
    LicenseTerms,
    check_allowed,
    derive_permissiveness,
    parse_license,
)
from qfzz.errors import InvalidDataset, LicenseRejected

# The design's table, plus NC-ND from the documented rule (1.0 − 0.3 − 0.3).
TABLE = [
    ("CC0-1.0", "CC0-1.0", "CC0", 1.0),
    ("Public Domain", "PD", "PD", 1.0),
    ("CC-BY-4.0", "CC-BY-4.0", "CC-BY", 1.0),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0", "CC-BY-SA", 0.9),
    ("CC-BY-NC-4.0", "CC-BY-NC-4.0", "CC-BY-NC", 0.7),
    ("CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-SA", 0.6),
    ("CC-BY-ND-4.0", "CC-BY-ND-4.0", "CC-BY-ND", 0.7),
    ("CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0", "CC-BY-NC-ND", 0.4),
    ("MIT", "MIT", "MIT", 1.0),
    ("Apache-2.0", "Apache-2.0", "Apache", 1.0),
    ("ODbL-1.0", "ODbL-1.0", "ODbL", 0.9),
    ("ODC-By-1.0", "ODC-By-1.0", "ODC-By", 1.0),
    ("PDDL-1.0", "PDDL-1.0", "PDDL", 1.0),
]


@pytest.mark.parametrize(("raw", "license_id", "family", "permissiveness"), TABLE)
def test_design_table(raw: str, license_id: str, family: str, permissiveness: float) -> None:
    terms = parse_license(raw)
    assert terms.license_id == license_id
    assert terms.family == family
    assert terms.permissiveness == permissiveness


def test_terms_of_a_non_commercial_share_alike_licence() -> None:
    assert parse_license("CC-BY-NC-SA-4.0") == LicenseTerms(
        license_id="CC-BY-NC-SA-4.0",
        family="CC-BY-NC-SA",
        commercial_use=False,
        derivatives=True,
        share_alike=True,
        permissiveness=0.6,
    )


@pytest.mark.parametrize(
    ("raw", "license_id"),
    [
        ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
        ("  cc_by_sa_v4 ", "CC-BY-SA-4.0"),
        ("CC BY-SA 4", "CC-BY-SA-4.0"),
        ("CC-BY-SA", "CC-BY-SA"),
        ("CC BY-SA 3.0", "CC-BY-SA-3.0"),
        ("CC-BY-SA-2.5", "CC-BY-SA-2.5"),
        ("CC BY-SA 1.0", "CC-BY-SA-1.0"),
        ("Creative Commons Attribution-ShareAlike 4.0 International", "CC-BY-SA-4.0"),
        ("CC0-1.0", "CC0-1.0"),
        ("cc0", "CC0-1.0"),
        ("CC0 1.0 Universal", "CC0-1.0"),
        ("Public Domain", "PD"),
        ("public domain", "PD"),
        ("PDM", "PD"),
        ("Public Domain Mark 1.0", "PD"),
        ("cc by-nc-sa 4.0", "CC-BY-NC-SA-4.0"),
        ("CC BY-NC 3.0", "CC-BY-NC-3.0"),
        ("Attribution-NonCommercial-NoDerivatives", "CC-BY-NC-ND"),
        ("Creative Commons Attribution Non-Commercial No-Derivs 4.0", "CC-BY-NC-ND-4.0"),
        ("apache license 2.0", "Apache-2.0"),
        ("Open Database License", "ODbL-1.0"),
        ("odc-by", "ODC-By-1.0"),
    ],
)
def test_common_spellings_normalise(raw: str, license_id: str) -> None:
    assert parse_license(raw).license_id == license_id


@pytest.mark.parametrize(
    "raw",
    ["GPL-3.0", "Proprietary", "", "   ", "CC", "CC-SA", "CC-BY-SA-ND", "CC-BY-BY", "BY"],
)
def test_unknown_licences_are_rejected(raw: str) -> None:
    with pytest.raises(LicenseRejected) as info:
        parse_license(raw)
    assert "CC-BY-SA" in str(info.value)  # the message lists the known ids
    assert isinstance(info.value, InvalidDataset)


@pytest.mark.parametrize("raw", ["CC0-4.0", "CC-BY-5.0", "MIT-2.0", "Apache-1.1", "CC-BY-SA-3.5"])
def test_unknown_versions_are_rejected(raw: str) -> None:
    with pytest.raises(LicenseRejected, match="version"):
        parse_license(raw)


def test_permissiveness_rule() -> None:
    """Start at 1.0; share-alike −0.1, non-commercial −0.3, no-derivatives −0.3."""
    assert derive_permissiveness(commercial_use=True, derivatives=True, share_alike=False) == 1.0
    assert derive_permissiveness(commercial_use=True, derivatives=True, share_alike=True) == 0.9
    assert derive_permissiveness(commercial_use=False, derivatives=True, share_alike=True) == 0.6
    assert derive_permissiveness(commercial_use=False, derivatives=False, share_alike=False) == 0.4
    assert derive_permissiveness(commercial_use=True, derivatives=False, share_alike=False) == 0.7


@given(st.sampled_from(KNOWN_FAMILIES))
def test_every_family_parses_to_itself(family: str) -> None:
    terms = parse_license(family)
    assert terms.family == family
    assert terms.permissiveness == derive_permissiveness(
        commercial_use=terms.commercial_use,
        derivatives=terms.derivatives,
        share_alike=terms.share_alike,
    )
    assert 0.0 <= terms.permissiveness <= 1.0


def test_default_allow_list_covers_the_design_families() -> None:
    expected = {"CC0", "PD", "CC-BY", "CC-BY-SA", "CC-BY-NC", "CC-BY-NC-SA", "CC-BY-ND"}
    assert expected | {"CC-BY-NC-ND", "ODbL", "ODC-By", "PDDL"} <= DEFAULT_ALLOWED_LICENSES
    for family in DEFAULT_ALLOWED_LICENSES:
        check_allowed(parse_license(family), DEFAULT_ALLOWED_LICENSES)


def test_allow_list_by_family_is_case_insensitive() -> None:
    check_allowed(parse_license("CC BY-SA 4.0"), ["cc-by-sa"])
    check_allowed(parse_license("odbl"), ["ODBL"])


def test_allow_list_by_exact_id() -> None:
    check_allowed(parse_license("CC-BY-4.0"), ["cc-by-4.0"])
    with pytest.raises(LicenseRejected):
        check_allowed(parse_license("CC-BY-3.0"), ["CC-BY-4.0"])


def test_disallowed_family_is_rejected() -> None:
    terms = parse_license("CC-BY-NC-4.0")
    with pytest.raises(LicenseRejected, match=r"CC-BY-NC-4\.0 is not allowed"):
        check_allowed(terms, ["CC0", "CC-BY", "CC-BY-SA"])


def test_empty_allow_list_rejects_everything() -> None:
    with pytest.raises(LicenseRejected):
        check_allowed(parse_license("CC0"), [])
