"""getCoverArt answers with the pictures the files carry, and generates one otherwise."""

from __future__ import annotations


def test_embedded_pictures_are_served_for_albums_songs_and_artists(art_sub, sleeve):
    albums = art_sub.json("getAlbumList2", type="alphabeticalByName")["albumList2"]["album"]
    by_name = {a["name"]: a for a in albums}
    pictured = art_sub.get("getCoverArt", id=by_name["Pictured"]["coverArt"])
    assert pictured.headers["content-type"] == "image/jpeg" and pictured.content == sleeve
    songs = art_sub.json("getAlbum", id=by_name["Pictured"]["id"])["album"]["song"]
    for song in songs:  # the untagged song borrows its album's picture
        answer = art_sub.get("getCoverArt", id=song["id"])
        assert answer.content == sleeve
    artist = art_sub.get("getCoverArt", id=by_name["Pictured"]["artistId"])
    assert artist.content == sleeve

    bare = art_sub.get("getCoverArt", id=by_name["Bare"]["coverArt"], size=32)
    assert bare.headers["content-type"] == "image/png"  # no picture anywhere: generated
    assert bare.content.startswith(b"\x89PNG")
