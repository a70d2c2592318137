"""Real Subsonic client libraries from PyPI against a real QFZZ server over real audio.

py-sonic sends form POSTs with ``f=json``; knuckles sends GETs.
"""

from __future__ import annotations

import knuckles
import libsonic
import pytest

from qfzz.testing import ffmpeg_decoded_seconds


@pytest.fixture
def sonic(live_subsonic) -> libsonic.Connection:
    return libsonic.Connection(
        live_subsonic.url, live_subsonic.user, live_subsonic.password, port=live_subsonic.port
    )


def test_py_sonic_browses_searches_and_lists(sonic, mbid):
    assert sonic.ping() is True
    found = sonic.search3("")  # an empty query returns everything
    result = found["searchResult3"]
    assert len(result["song"]) == 6 and len(result["album"]) == 3 and len(result["artist"]) == 3
    paged = sonic.search3("", songCount=2, songOffset=4)["searchResult3"]["song"]
    assert [s["title"] for s in paged] == [s["title"] for s in result["song"][4:6]]
    album_id = next(a["id"] for a in result["album"] if a["name"] == "Album 0")
    album = sonic.getAlbum(album_id)["album"]
    assert album["songCount"] == 2 and {s["title"] for s in album["song"]} == {"Tone 0", "Tone 3"}
    assert any(s.get("musicBrainzId") == mbid for s in album["song"])
    for kind in ("newest", "random", "alphabeticalByName", "alphabeticalByArtist"):
        listed = sonic.getAlbumList2(kind, size=10)["albumList2"]["album"]
        assert len(listed) == 3, kind
    by_year = sonic.getAlbumList2("byYear", fromYear=2003, toYear=2005)["albumList2"]["album"]
    assert {a["name"] for a in by_year} == {"Album 0", "Album 1", "Album 2"}


def test_py_sonic_stream_is_audio_ffmpeg_ffmpeg_decoded_seconds(sonic, live_subsonic):
    song = sonic.search3("Tone 1")["searchResult3"]["song"][0]
    raw = sonic.stream(song["id"], tformat="raw")
    assert raw.headers["Content-Type"] == "audio/mpeg"
    assert ffmpeg_decoded_seconds(raw.read()) == pytest.approx(3.0, abs=0.2)
    low = sonic.stream(song["id"], maxBitRate=32, timeOffset=1)
    assert low.headers["Content-Type"] == "audio/mpeg"
    assert ffmpeg_decoded_seconds(low.read()) == pytest.approx(2.0, abs=0.2)
    opus = sonic.stream(song["id"], tformat="opus", maxBitRate=48)
    assert opus.headers["Content-Type"] == "audio/ogg"
    assert ffmpeg_decoded_seconds(opus.read()) == pytest.approx(3.0, abs=0.2)
    assert ffmpeg_decoded_seconds(sonic.download(song["id"]).read()) == pytest.approx(3.0, abs=0.2)


def test_py_sonic_errors_are_json(sonic):
    with pytest.raises(libsonic.errors.DataNotFoundError):
        sonic.getAlbum("al-0000000000000000")
    with pytest.raises(libsonic.errors.DataNotFoundError, match="no track"):
        sonic.stream("tr-999999")  # py-sonic reads the JSON error document


def test_py_sonic_scrobble_changes_the_next_dj_playlist(sonic, live_subsonic):
    station = live_subsonic.station
    before = [i.track.track_id for i in station.generate_playlist("ann").items]
    rock = [s for s in sonic.search3("")["searchResult3"]["song"] if s["genre"] == "rock"]
    for song in rock:
        assert sonic.scrobble(song["id"], submission=True)["status"] == "ok"
    plays = [i for i in station.parts.store.interactions.for_listener("ann") if i.type == "play"]
    assert len(plays) == len(rock)
    after = [i.track.track_id for i in station.generate_playlist("ann").items]
    assert after != before
    profile = station.profile("ann")
    assert profile.weights["genre"]["rock"] > profile.weights["genre"].get("jazz", 0.0)
    # submission=false is "now playing", not a play
    sonic.scrobble(rock[0]["id"], submission=False)
    playing = sonic.getNowPlaying()["nowPlaying"]["entry"]
    assert playing[0]["id"] == rock[0]["id"] and playing[0]["username"] == "ann"
    assert len([i for i in station.parts.store.interactions.for_listener("ann")]) == len(rock)


def test_py_sonic_star_shows_in_get_starred2(sonic, live_subsonic):
    songs = sonic.search3("")["searchResult3"]
    song, album = songs["song"][0], songs["album"][0]
    sonic.star(sids=[song["id"]], albumIds=[album["id"]])
    starred = sonic.getStarred2()["starred2"]
    assert [s["id"] for s in starred["song"]] == [song["id"]]
    assert "starred" in starred["song"][0]
    assert [a["id"] for a in starred["album"]] == [album["id"]]
    kinds = [i.type for i in live_subsonic.station.parts.store.interactions.for_listener("ann")]
    assert kinds == ["favorite"]
    sonic.unstar(sids=[song["id"]])
    assert sonic.getStarred2()["starred2"]["song"] == []


def test_py_sonic_transcode_decision_for_a_3g_phone(sonic):
    song = sonic.search3("Tone 2")["searchResult3"]["song"][0]

    def decide(info: dict) -> dict:
        request = sonic._getRequest(
            "getTranscodeDecision.view",
            {
                "mediaId": song["id"],
                "mediaType": "song",
                "clientInfo": __import__("json").dumps(info),
            },
        )
        return sonic._doInfoReq(request)["transcodeDecision"]

    phone = {
        "name": "phone",
        "platform": "android",
        "networkType": "3g",
        "bandwidthMbps": 0.5,
        "directPlayProfiles": [{"containers": ["opus"], "audioCodecs": ["opus"]}],
        "transcodingProfiles": [{"container": "ogg", "audioCodec": "opus", "protocol": "http"}],
    }
    on_3g = decide(phone)
    assert on_3g["streamingProfile"]["profile"] == "bandwidth_save"
    assert on_3g["streamingProfile"]["bitrateKbps"] <= 96
    assert on_3g["canDirectPlay"] is False  # an MP3 file, an Opus-only phone
    assert on_3g["transcodeStream"]["codec"] == "opus"
    assert on_3g["transcodeStream"]["audioBitrate"] <= 96
    desktop = decide(
        {"name": "pc", "platform": "linux", "bandwidthMbps": 50, "networkType": "ethernet"}
    )
    assert desktop["streamingProfile"]["bitrateKbps"] > on_3g["streamingProfile"]["bitrateKbps"]
    stream = sonic._doBinReq(
        sonic._getRequest(
            "getTranscodeStream.view",
            {
                "mediaId": song["id"],
                "mediaType": "song",
                "transcodeParams": on_3g["transcodeParams"],
            },
        )
    )
    assert stream.headers["Content-Type"] == "audio/ogg"
    assert ffmpeg_decoded_seconds(stream.read()) == pytest.approx(3.0, abs=0.2)


@pytest.fixture
def knuckled(live_subsonic) -> knuckles.Subsonic:
    return knuckles.Subsonic(
        f"127.0.0.1:{live_subsonic.port}",
        live_subsonic.user,
        live_subsonic.password,
        "knuckles-test",
        use_https=False,
    )


def test_knuckles_ping_search_album_lists_and_stream(knuckled, live_subsonic):
    assert knuckled.system.ping().status == "ok"
    found = knuckled.searching.search("")
    assert len(found.songs) == 6 and len(found.albums) == 3
    album = knuckled.browsing.get_album(found.albums[0].id)
    assert album.song_count == 2 and len(album.songs) == 2
    assert len(knuckled.lists.get_album_list_newest(10)) == 3
    url = knuckled.media_retrieval.stream(album.songs[0].id)
    import requests

    answer = requests.get(url, timeout=10)
    assert answer.headers["Content-Type"].startswith("audio/")
    assert ffmpeg_decoded_seconds(answer.content) > 2.5
    knuckled.media_annotation.star_song(album.songs[0].id)
    assert [s.id for s in knuckled.lists.get_starred().songs] == [album.songs[0].id]
