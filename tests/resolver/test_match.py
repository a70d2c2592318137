"""Matching titles and artists as platforms write them: versions, guests, accents, edits."""

from __future__ import annotations

import pytest

from qfzz.resolver import ACCEPTABLE, HIGH_CONFIDENCE, Wanted, confidence, normalise


@pytest.mark.parametrize(
    ("messy", "clean"),
    [
        ("Bohemian Rhapsody - Remastered 2011", "bohemian rhapsody"),
        ("Bohemian Rhapsody (Remastered 2011)", "bohemian rhapsody"),
        ("Hey Jude [Live] (feat. Someone Else)", "hey jude"),
        ("Get Lucky (feat. Pharrell Williams & Nile Rodgers)", "get lucky"),
        ("Get Lucky feat. Pharrell Williams", "get lucky"),
        ("Get Lucky ft. Pharrell", "get lucky"),
        ("Ob-La-Di, Ob-La-Da - Remastered 2009", "ob la di ob la da"),
        ("Don’t Stop Me Now", "dont stop me now"),
        ("Don't Stop Me Now", "dont stop me now"),
        ("Beyoncé", "beyonce"),
        ("Sigur Rós – Hoppípolla", "sigur ros hoppipolla"),
        ("ＨＥＬＬＯ！", "hello"),  # full-width letters, as some Asian catalogues write them
        ("周杰伦 - 晴天", "周杰伦 晴天"),
        ("がっこう", "がっこう"),  # voiced kana are not accented letters
        ("방탄소년단", "방탄소년단"),  # Hangul syllables come back whole
        ("Motörhead", "motorhead"),
        ("  Stayin'   Alive  ", "stayin alive"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("Song (Live", "song"),  # an unclosed bracket
        ("Hello (Radio Edit) [2019 Remaster]", "hello"),
        ("Dancing with Myself", "dancing with myself"),  # "with" is not a guest
        ("Live and Let Die - 2018 Remaster", "live and let die"),
    ],
)
def test_normalise_removes_what_does_not_change_the_recording(messy: str, clean: str) -> None:
    assert normalise(messy) == clean


def test_a_leading_bracket_is_part_of_the_title() -> None:
    assert normalise("(I Can't Get No) Satisfaction (Mono)") == "i cant get no satisfaction"


def test_a_title_that_is_all_brackets_keeps_its_words() -> None:
    assert normalise("[Untitled]") == "untitled"
    assert normalise("((Remix))") == "remix"


def test_blank_stays_blank() -> None:
    assert normalise("  ") == ""
    assert normalise("!!!") == ""


HEY_JUDE = Wanted(1, "Hey Jude", "The Beatles", duration=431.0)


def test_the_same_recording_written_differently_is_a_sure_match() -> None:
    assert confidence(HEY_JUDE, "Hey Jude - Remastered 2015", "Beatles", 430) >= HIGH_CONFIDENCE
    assert confidence(HEY_JUDE, "HEY JUDE", "the beatles", 433.9) == 1.0


def test_a_duration_beyond_three_seconds_is_another_edit() -> None:
    assert confidence(HEY_JUDE, "Hey Jude", "The Beatles", 434.0) == 1.0  # ±3 s inclusive
    assert confidence(HEY_JUDE, "Hey Jude", "The Beatles", 427.9) == 0.0
    assert confidence(HEY_JUDE, "Hey Jude", "The Beatles", 240.0) == 0.0


def test_an_unknown_duration_is_acceptable_but_never_sure() -> None:
    unknown_here = Wanted(1, "Hey Jude", "The Beatles")
    for score in (
        confidence(HEY_JUDE, "Hey Jude", "The Beatles", None),
        confidence(unknown_here, "Hey Jude", "The Beatles", 431),
    ):
        assert ACCEPTABLE <= score < HIGH_CONFIDENCE


def test_an_unknown_artist_is_acceptable_but_never_sure() -> None:
    assert ACCEPTABLE <= confidence(HEY_JUDE, "Hey Jude", "", 431) < HIGH_CONFIDENCE


def test_a_longer_title_that_contains_the_wanted_one_is_not_a_match() -> None:
    # token_set_ratio would score these 100: a subset of words is not the same song.
    love = Wanted(1, "Love", "Taylor Swift", duration=235)
    assert confidence(love, "Love Story", "Taylor Swift", 235) < ACCEPTABLE
    yesterday = Wanted(1, "Yesterday", "Carpenters", duration=236)
    assert confidence(yesterday, "Yesterday Once More", "Carpenters", 236) < ACCEPTABLE


def test_the_right_title_by_another_artist_is_a_cover_not_a_match() -> None:
    assert confidence(HEY_JUDE, "Hey Jude", "Wilson Pickett", 431) < ACCEPTABLE
    pressure = Wanted(1, "Under Pressure", "Queen", duration=248)
    assert confidence(pressure, "Under Pressure", "Queen Latifah", 248) < ACCEPTABLE


def test_one_of_several_credited_artists_matches() -> None:
    pressure = Wanted(1, "Under Pressure", "Queen", duration=248)
    assert confidence(pressure, "Under Pressure", "David Bowie, Queen", 247) >= HIGH_CONFIDENCE
    assert confidence(pressure, "Under Pressure", "Queen & David Bowie", 247) >= HIGH_CONFIDENCE
    lucky = Wanted(1, "Get Lucky", "Daft Punk feat. Pharrell Williams", duration=369)
    assert confidence(lucky, "Get Lucky (Radio Edit)", "Daft Punk", 368) >= HIGH_CONFIDENCE


def test_small_spelling_differences_are_acceptable() -> None:
    wanted = Wanted(1, "Smells Like Teen Spirit", "Nirvana", duration=301)
    assert confidence(wanted, "Smells Like Teen Sprit", "Nirvana", 301) >= ACCEPTABLE
    assert confidence(wanted, "Smells Like Teen Spirit", "Nirvanna", 301) >= ACCEPTABLE


def test_non_latin_titles_match_themselves_and_not_others() -> None:
    wanted = Wanted(1, "晴天", "周杰伦", duration=269)
    assert confidence(wanted, "晴天", "周杰伦", 270) == 1.0
    assert confidence(wanted, "七里香", "周杰伦", 270) < ACCEPTABLE


def test_scores_stay_in_range_for_blank_input() -> None:
    assert confidence(Wanted(1, "", "x"), "Hey Jude", "x", None) == 0.0
    assert confidence(HEY_JUDE, "   ", "The Beatles", 431) == 0.0
    assert 0.0 <= confidence(HEY_JUDE, "Hey", "Jude", 431) <= 1.0
