"""``qfzzArtistsPage``: one letter of the artist index a page at a time (QFZZ's web page),
the same artists under the same letters as ``getArtists``, which answers them all."""

from __future__ import annotations

from qfzz.models import index_letter
from qfzz.testing import SyntheticTrack, add_synthetic_tracks


def test_a_letter_comes_in_pages_that_add_up_to_get_artists(sub):
    extra = [SyntheticTrack(f"S{n}", f"The Zed {n:03d}", "jazz", album=f"Z{n}") for n in range(25)]
    add_synthetic_tracks(sub.station.parts.store, extra, prefix="/z")
    sub.json(
        "star", artistId=sub.json("search3", query="Zed 007")["searchResult3"]["artist"][0]["id"]
    )
    whole = sub.json("getArtists")["artists"]["index"]
    by_letter = {i["name"]: [a["id"] for a in i["artist"]] for i in whole}
    assert len(by_letter["Z"]) == 25  # "The" is passed over, as getArtists does

    first = sub.json("qfzzArtistsPage", size=10)["artistsPage"]
    assert first["letter"] == whole[0]["name"]  # no letter asked: the first
    assert [(x["name"], x["artistCount"]) for x in first["letters"]] == [
        (name, len(ids)) for name, ids in by_letter.items()
    ]
    pages, offset = [], 0
    while True:
        page = sub.json("qfzzArtistsPage", letter="Z", offset=offset, size=10)["artistsPage"]
        assert page["letter"] == "Z" and page["total"] == 25
        if not page["artist"]:
            break
        pages.append(page["artist"])
        offset += len(page["artist"])
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [a["id"] for p in pages for a in p] == by_letter["Z"]
    starred = [a["name"] for p in pages for a in p if a.get("starred")]
    assert starred == ["The Zed 007"]

    unknown = sub.json("qfzzArtistsPage", letter="Ω")["artistsPage"]
    assert unknown["letter"] == whole[0]["name"]  # a letter with no artists: the first
    refused = sub.json("qfzzArtistsPage", size=5000)
    assert refused["status"] == "failed"


def test_the_index_letter_passes_over_articles_and_keeps_non_letters_apart():
    names = ("The Beatles", "beck", "Los Lobos", "2Pac", "Ólafur", "The")
    assert [index_letter(n) for n in names] == ["B", "B", "L", "#", "Ó", "T"]
