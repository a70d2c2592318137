"""Dataset licences: parse what an uploader wrote, derive what it permits.

The prototype compared licence strings verbatim and took "permissiveness" from flags the
uploader set, so ``CC-BY-NC`` could score as fully permissive. Here the licence id is the
only input: it is normalised (case, spaces, underscores, long Creative Commons names,
``v4.0`` / ``4`` / ``4.0``), mapped to a known family, and the family's *terms*
(commercial use, derivatives, share-alike) decide the permissiveness by one rule:

    start at 1.0; share-alike −0.1; non-commercial −0.3; no-derivatives −0.3

which gives CC0 / public domain 1.0, CC-BY 1.0, CC-BY-SA 0.9, CC-BY-NC 0.7,
CC-BY-NC-SA 0.6, CC-BY-ND 0.7, CC-BY-NC-ND 0.4. An id that maps to no known family is
rejected, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from qfzz.errors import LicenseRejected

__all__ = [
    "DEFAULT_ALLOWED_LICENSES",
    "KNOWN_FAMILIES",
    "LicenseTerms",
    "check_allowed",
    "derive_permissiveness",
    "parse_license",
]

SHARE_ALIKE_PENALTY = 0.1
NON_COMMERCIAL_PENALTY = 0.3
NO_DERIVATIVES_PENALTY = 0.3


def derive_permissiveness(*, commercial_use: bool, derivatives: bool, share_alike: bool) -> float:
    """How freely a station may use the data, in [0, 1], from the licence terms alone."""
    value = 1.0
    if share_alike:
        value -= SHARE_ALIKE_PENALTY
    if not commercial_use:
        value -= NON_COMMERCIAL_PENALTY
    if not derivatives:
        value -= NO_DERIVATIVES_PENALTY
    return round(max(0.0, value), 4)


@dataclass(frozen=True, slots=True)
class LicenseTerms:
    """A recognised licence: its canonical id, its family and what it permits.

    ``license_id`` is the SPDX id when the input named a version (``CC-BY-SA-4.0``) or the
    family has a single version (``CC0`` → ``CC0-1.0``); otherwise the family name alone
    (``CC-BY-SA``), because inventing a version would misstate what was licensed. Public
    domain has no SPDX id and is always ``PD``.
    """

    license_id: str
    family: str
    commercial_use: bool
    derivatives: bool
    share_alike: bool
    permissiveness: float


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    commercial_use: bool = True
    derivatives: bool = True
    share_alike: bool = False
    versions: tuple[str, ...] = ()
    versioned_id: bool = True


_CC_VERSIONS = ("1.0", "2.0", "2.5", "3.0", "4.0")


def _cc(elements: str) -> _Family:
    parts = set(elements.split("-"))
    return _Family(
        name=f"CC-{elements}",
        commercial_use="NC" not in parts,
        derivatives="ND" not in parts,
        share_alike="SA" in parts,
        versions=_CC_VERSIONS,
    )


_FAMILY_LIST: tuple[_Family, ...] = (
    _Family("CC0", versions=("1.0",)),
    _Family("PD", versions=("1.0",), versioned_id=False),
    *(_cc(e) for e in ("BY", "BY-SA", "BY-NC", "BY-NC-SA", "BY-ND", "BY-NC-ND")),
    _Family("MIT"),
    _Family("Apache", versions=("2.0",)),
    _Family("ODbL", share_alike=True, versions=("1.0",)),
    _Family("ODC-By", versions=("1.0",)),
    _Family("PDDL", versions=("1.0",)),
)
_FAMILIES: dict[str, _Family] = {f.name.upper(): f for f in _FAMILY_LIST}

#: Every family :func:`parse_license` recognises, in canonical spelling.
KNOWN_FAMILIES: tuple[str, ...] = tuple(f.name for f in _FAMILY_LIST)

#: Families accepted when the operator configures no allow-list: every known one.
DEFAULT_ALLOWED_LICENSES: frozenset[str] = frozenset(KNOWN_FAMILIES)

# Spellings folded into the short tokens above, applied to adjacent token pairs first.
_PAIRS = {
    ("CREATIVE", "COMMONS"): "CC",
    ("PUBLIC", "DOMAIN"): "PD",
    ("NON", "COMMERCIAL"): "NC",
    ("SHARE", "ALIKE"): "SA",
    ("NO", "DERIVATIVES"): "ND",
    ("NO", "DERIVS"): "ND",
    ("CC", "ZERO"): "CC0",
    ("OPEN", "DATABASE"): "ODBL",
    ("PD", "MARK"): "PD",
}
_SINGLE = {
    "ATTRIBUTION": "BY",
    "NONCOMMERCIAL": "NC",
    "SHAREALIKE": "SA",
    "NODERIVATIVES": "ND",
    "NODERIVS": "ND",
    "PDM": "PD",
}
_NOISE = {"LICENSE", "LICENCE", "INTERNATIONAL", "UNPORTED", "GENERIC", "UNIVERSAL", "MARK"}
_CC_ELEMENTS = ("NC", "SA", "ND")
_VERSION = re.compile(r"^V?(\d)(?:\.(\d))?$")


def _tokens(raw: str) -> list[str]:
    words = [w for w in re.split(r"[\s_\-/,]+", raw.strip().upper()) if w]
    merged: list[str] = []
    for word in words:
        if merged and (merged[-1], word) in _PAIRS:
            merged[-1] = _PAIRS[(merged[-1], word)]
        else:
            merged.append(_SINGLE.get(word, word))
    return [w for w in merged if w not in _NOISE]


def _family_key(words: list[str]) -> str | None:
    """The ``_FAMILIES`` key the words name, or None; CC elements may come in any order.

    A bare ``Attribution-…`` (``BY-SA``) is the Creative Commons long name without its
    prefix, so a leading BY implies CC; a lone ``BY`` is too vague and is rejected.
    """
    if words[:1] == ["BY"] and len(words) > 1:
        words = ["CC", *words]
    if words[:1] == ["CC"] and len(words) > 1 and words[1] == "BY":
        extra = words[2:]
        if len(set(extra)) != len(extra) or not set(extra) <= set(_CC_ELEMENTS):
            return None
        if "SA" in extra and "ND" in extra:
            return None
        return "CC-BY" + "".join(f"-{e}" for e in _CC_ELEMENTS if e in extra)
    key = "-".join(words)
    return key if key in _FAMILIES else None


def _known_list() -> str:
    shown = [f"{f.name} ({', '.join(f.versions)})" if f.versions else f.name for f in _FAMILY_LIST]
    return "; ".join(shown)


def parse_license(raw: str) -> LicenseTerms:
    """Recognise a licence id and derive its terms; raise LicenseRejected if unknown.

    Accepts SPDX ids and common spellings: ``CC BY-SA 4.0``, ``cc-by-sa-4.0``,
    ``CC-BY-SA``, ``CC0-1.0``, ``Public Domain``, ``PDM``, ``Creative Commons
    Attribution-NonCommercial 4.0 International``, ``Apache 2.0``, ``ODbL-1.0``.
    """
    words = _tokens(raw)
    version: str | None = None
    if words and (match := _VERSION.match(words[-1])):
        version = f"{match.group(1)}.{match.group(2) or '0'}"
        words = words[:-1]
    key = _family_key(words) if words else None
    if key is None:
        raise LicenseRejected(
            f"unknown licence {raw!r}; known licence families (versions): {_known_list()}"
        )
    family = _FAMILIES[key]
    if version is not None and version not in family.versions:
        allowed = ", ".join(family.versions) or "none"
        raise LicenseRejected(
            f"unknown licence {raw!r}: {family.name} has no version {version} "
            f"(known versions: {allowed})"
        )
    if version is None and len(family.versions) == 1:
        version = family.versions[0]
    versioned = family.versioned_id and version is not None
    return LicenseTerms(
        license_id=f"{family.name}-{version}" if versioned else family.name,
        family=family.name,
        commercial_use=family.commercial_use,
        derivatives=family.derivatives,
        share_alike=family.share_alike,
        permissiveness=derive_permissiveness(
            commercial_use=family.commercial_use,
            derivatives=family.derivatives,
            share_alike=family.share_alike,
        ),
    )


def check_allowed(terms: LicenseTerms, allowed: Collection[str]) -> None:
    """Raise LicenseRejected unless the family or exact id is in ``allowed``.

    Matching ignores case, so an operator may write ``cc-by`` in the settings. Listing a
    family allows all its versions; listing an id (``CC-BY-4.0``) allows only that one.
    """
    wanted = {a.strip().casefold() for a in allowed}
    if terms.family.casefold() in wanted or terms.license_id.casefold() in wanted:
        return
    shown = ", ".join(sorted(allowed)) or "none"
    raise LicenseRejected(
        f"licence {terms.license_id} is not allowed on this station (allowed: {shown})"
    )
