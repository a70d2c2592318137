"""How well a source's track matches a wanted one: normalised text, fuzzy scores, duration.

Titles and artists differ between platforms in ways that do not change the recording —
case, accents, "(Remastered 2011)", "[Live]", " - 2009 Remaster", "feat. X", punctuation,
"The Beatles" against "Beatles" — and in ways that do (another song with a similar name,
another edit). ``normalise`` removes the first kind; ``confidence`` scores what is left with
rapidfuzz, and the duration tells edits apart.

Scorers, and why:

- Titles: ``token_sort_ratio`` (order-insensitive edit distance over the whole string).
  ``token_set_ratio`` is the usual choice for names, but it scores 100 whenever one side's
  words are a subset of the other's — "Love" against "Love Story", "Yesterday" against
  "Yesterday Once More" — which for titles is exactly the mistake to avoid; extra words
  must cost.
- Artists: the best ``token_sort_ratio`` over the whole credit and over each credited
  artist on either side (split on "," ";" "/" "&" "feat."), with a leading "the" ignored,
  so "David Bowie, Queen" matches "Queen" while "Queen Latifah" does not.
- The two are multiplied: both must match (a right title by the wrong artist is a cover).

Duration: within ±``DURATION_TOLERANCE`` seconds the score stands; beyond it the score is
0, another edit or another recording. When either side's duration (or artist) is unknown
nothing can rule that out, so the score is capped just below ``HIGH_CONFIDENCE``: such a
match can be accepted, but it never ends the search at once as a sure match does.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from qfzz.resolver._types import Wanted

HIGH_CONFIDENCE = 0.9  # title, artist and duration agree: the resolver may stop here
ACCEPTABLE = 0.75  # good enough to download and verify
DURATION_TOLERANCE = 3.0  # seconds either way, inclusive
UNCONFIRMED_CAP = HIGH_CONFIDENCE - 0.01  # a match whose duration or artist is unknown

# A bracketed part that follows some text: "(Remastered 2011)", "[Live]", "{Demo}". One at
# the very start is part of the title: "(I Can't Get No) Satisfaction".
_BRACKETED = re.compile(r"(?<=\S)\s*[(\[{][^()\[\]{}]*[)\]}]")
_UNCLOSED = re.compile(r"(?<=\S)\s*[(\[{][^()\[\]{}]*$")
# " - Remastered 2009", " - Live at Wembley", " - Radio Edit": a dash suffix naming a version.
_VERSION_SUFFIX = re.compile(
    r"\s+[-–—]\s+[^-–—]*\b(remaster(ed)?|live|version|edit|mix|mono|stereo|demo|"
    r"acoustic|instrumental|single|deluxe|bonus|re-?recorded)\b.*$",
    re.IGNORECASE,
)
_FEATURING = re.compile(r"\s*\b(feat|ft|featuring)\b\.?\s.*$", re.IGNORECASE)
_APOSTROPHES = re.compile(r"['’‘`´]")
_SPACES = re.compile(r"\s+")
_ARTIST_SEPARATORS = re.compile(r"\s*(?:[,;/&+×]|\bx\b|\bvs\.?(?=\s)|\band\b)\s*")


# Kana voicing marks decompose like accents but change the word (が is not か): kept.
_KEPT_MARKS = frozenset("\u3099\u309a")


def _fold(text: str) -> str:
    """Casefolded, compatibility-decomposed (full-width → ASCII), without accents; then
    recomposed, so Hangul syllables and voiced kana come back whole."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if c in _KEPT_MARKS or not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def _clean(text: str) -> str:
    """Punctuation and symbols become spaces (apostrophes vanish: "don't" = "dont")."""
    text = _APOSTROPHES.sub("", text)
    chars = (" " if unicodedata.category(c)[0] in "PSZC" else c for c in text)
    return _SPACES.sub(" ", "".join(chars)).strip()


def searchable(text: str) -> str:
    """The text without version suffixes and featured artists, case and accents kept: what
    to send a remote search, whose own matching may not fold accents."""
    stripped = _strip_versions(text.strip())
    return stripped if _clean(stripped) else text.strip()


def _strip_versions(text: str) -> str:
    previous = None
    while previous != text:  # nested brackets go from the inside out
        previous = text
        text = _BRACKETED.sub("", text)
    text = _UNCLOSED.sub("", text)
    text = _VERSION_SUFFIX.sub("", text)
    return _FEATURING.sub("", text).strip()


def normalise(text: str) -> str:
    """The comparable form of a title or an artist: casefolded, without accents, bracketed
    suffixes, version suffixes, featured artists and punctuation, spaces collapsed.

    When stripping would leave nothing (a title that is all brackets), the brackets'
    words are kept instead."""
    folded = _fold(text)
    return _clean(_strip_versions(folded)) or _clean(folded)


def _artists(credit: str) -> list[str]:
    """The whole credit and each credited artist, normalised, without a leading "the"."""
    folded = _fold(credit)
    main = _FEATURING.sub("", folded)  # featured artists are guests, not the credit
    parts = [folded, main, *_ARTIST_SEPARATORS.split(main)]
    names = {_clean(p).removeprefix("the ") for p in parts}
    return [n for n in names if n]


def _artist_score(wanted: str, found: str) -> float | None:
    """Best match between the two credits in [0, 1]; None when either side is blank."""
    ours, theirs = _artists(wanted), _artists(found)
    if not ours or not theirs:
        return None
    return max(fuzz.token_sort_ratio(a, b) for a in ours for b in theirs) / 100.0


def confidence(wanted: Wanted, title: str, artist: str, duration: float | None) -> float:
    """How sure it is that (``title``, ``artist``, ``duration``) is ``wanted``, in [0, 1]."""
    ours, theirs = normalise(wanted.title), normalise(title)
    if not ours or not theirs:
        return 0.0
    score = fuzz.token_sort_ratio(ours, theirs) / 100.0
    artist_score = _artist_score(wanted.artist, artist)
    unconfirmed = artist_score is None or wanted.duration is None or duration is None
    if artist_score is not None:
        score *= artist_score
    if (
        wanted.duration is not None
        and duration is not None
        and abs(wanted.duration - duration) > DURATION_TOLERANCE
    ):
        return 0.0  # another edit, another recording
    if unconfirmed:
        score = min(score, UNCONFIRMED_CAP)
    return max(0.0, min(1.0, score))
