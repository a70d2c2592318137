"""getArtists and getIndexes answer from bytes rendered once per version of the library's
groups: a track change, a star, a format or another listener's stars must each show."""

from __future__ import annotations

from qfzz.testing import SyntheticTrack, add_synthetic_tracks


def _names(sub, method="getArtists", key="artists") -> dict[str, dict]:
    index = sub.json(method)[key]["index"]
    return {a["name"]: a for letter in index for a in letter["artist"]}


def test_the_artist_index_follows_track_changes_and_stars(sub):
    store = sub.station.parts.store
    before = _names(sub)
    assert _names(sub) == before  # answered again from the kept bytes
    [new] = add_synthetic_tracks(
        store, [SyntheticTrack("Fresh", "Zed Newcomer", "jazz")], prefix="/new"
    )
    after = _names(sub)
    assert set(after) == set(before) | {"Zed Newcomer"}
    assert set(_names(sub, "getIndexes", "indexes")) == set(after)
    store.tracks.set_playable(new, False)
    assert set(_names(sub)) == set(before)

    some = sorted(before)[0]
    sub.json("star", artistId=before[some]["id"])
    assert "starred" in _names(sub)[some]
    assert "starred" in _names(sub, "getIndexes", "indexes")[some]
    xml = sub.get("getArtists").text  # another format: rendered apart
    assert xml.startswith("<?xml") and "starred=" in xml
    sub.json("unstar", artistId=before[some]["id"])
    assert "starred" not in _names(sub)[some]


def test_a_client_that_accepts_gzip_gets_the_kept_answer_gzipped(sub):
    params = {**sub.auth(), "f": "json"}
    plain = sub.client.get(
        "/rest/getArtists", params=params, headers={"Accept-Encoding": "identity"}
    )
    squeezed = sub.client.get(
        "/rest/getArtists", params=params, headers={"Accept-Encoding": "br, gzip;q=0.8"}
    )
    refused = sub.client.get(
        "/rest/getArtists", params=params, headers={"Accept-Encoding": "gzip;q=0, identity"}
    )
    assert "content-encoding" not in plain.headers
    assert squeezed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in refused.headers
    assert squeezed.headers["vary"] == "Accept-Encoding"
    # the client decoded it: the same answer, fewer bytes on the wire
    assert squeezed.json() == plain.json() == refused.json()
    assert int(squeezed.headers["content-length"]) < int(plain.headers["content-length"])
