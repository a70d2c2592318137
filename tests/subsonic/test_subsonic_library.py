"""Subsonic behaviour over the synthetic catalog: lists, stars, ratings, playlists, queue."""

from __future__ import annotations

import struct
from urllib.parse import parse_qs, urlsplit

from qfzz.api.subsonic import HANDLERS

REQUIRED = [
    "ping",
    "getLicense",
    "getOpenSubsonicExtensions",
    "getUser",
    "getMusicFolders",
    "getIndexes",
    "getArtists",
    "getArtist",
    "getArtistInfo2",
    "getAlbum",
    "getAlbumInfo2",
    "getSong",
    "getAlbumList2",
    "getRandomSongs",
    "getGenres",
    "getSongsByGenre",
    "search3",
    "stream",
    "download",
    "getCoverArt",
    "scrobble",
    "star",
    "unstar",
    "setRating",
    "getStarred",
    "getStarred2",
    "getPlaylists",
    "getPlaylist",
    "createPlaylist",
    "updatePlaylist",
    "deletePlaylist",
    "getSimilarSongs2",
    "getTopSongs",
    "getNowPlaying",
    "savePlayQueue",
    "getPlayQueue",
    "getScanStatus",
    "startScan",
    "getInternetRadioStations",
    "getTranscodeDecision",
    "reportPlayback",
]


def test_every_required_method_is_served():
    assert set(REQUIRED) <= set(HANDLERS)


def test_unknown_method_is_a_subsonic_error(sub):
    assert sub.json("nonsense")["error"] == {"code": 70, "message": "unknown method 'nonsense'"}


def test_album_list_types(sub):
    every = sub.json("getAlbumList2", type="alphabeticalByArtist", size=500)["albumList2"]["album"]
    assert len(every) == 24  # 6 genres x 4 artists, one "Album" each
    assert every == sorted(every, key=lambda a: a["artist"].casefold())
    page = sub.json("getAlbumList2", type="alphabeticalByArtist", size=5, offset=5)
    assert page["albumList2"]["album"] == every[5:10]
    jazz = sub.json("getAlbumList2", type="byGenre", genre="jazz")["albumList2"]["album"]
    assert {a["genre"] for a in jazz} == {"jazz"} and len(jazz) == 4
    assert sub.json("getAlbumList2", type="byYear", fromYear=2020, toYear=2020)["albumList2"]
    assert sub.json("getAlbumList2", type="byYear", fromYear=1990)["error"] == {
        "code": 10,
        "message": "required parameter is missing: fromYear and toYear",
    }
    assert sub.json("getAlbumList2", type="byGenre")["error"] == {
        "code": 10,
        "message": "required parameter is missing: genre",
    }
    assert sub.json("getAlbumList2", type="sideways")["error"]["code"] == 0
    assert sub.json("getAlbum", id="al-" + "0" * 16)["error"]["code"] == 70
    assert sub.json("getArtist", id="ar-" + "0" * 16)["error"]["code"] == 70
    album = sub.json("getAlbum", id=every[0]["id"])["album"]
    song = album["song"][0]["id"]
    sub.json("scrobble", id=song)
    assert [a["id"] for a in sub.json("getAlbumList2", type="frequent")["albumList2"]["album"]] == [
        every[0]["id"]
    ]
    assert (
        sub.json("getAlbumList2", type="recent")["albumList2"]["album"][0]["id"] == every[0]["id"]
    )
    sub.json("setRating", id=song, rating=5)
    assert (
        sub.json("getAlbumList2", type="highest")["albumList2"]["album"][0]["id"] == every[0]["id"]
    )
    sub.json("star", albumId=every[1]["id"])
    starred = sub.json("getAlbumList2", type="starred")["albumList2"]["album"]
    assert [a["id"] for a in starred] == [every[1]["id"]]


def test_browse_artists_genres_and_songs(sub):
    index = sub.json("getIndexes")["indexes"]["index"]
    assert {i["name"] for i in index} == {"B", "C", "E", "J", "M", "R"}
    artist = sub.json("getArtists")["artists"]["index"][0]["artist"][0]
    found = sub.json("getArtist", id=artist["id"])["artist"]
    assert found["name"] == artist["name"] and len(found["album"]) == 1
    similar = sub.json("getArtistInfo2", id=artist["id"])["artistInfo2"]["similarArtist"]
    assert similar and artist["id"] not in {a["id"] for a in similar}
    genres = {g["value"]: g for g in sub.json("getGenres")["genres"]["genre"]}
    assert genres["metal"]["songCount"] == 12 and genres["metal"]["albumCount"] == 4
    metal = sub.json("getSongsByGenre", genre="metal", count=5)["songsByGenre"]["song"]
    assert len(metal) == 5 and {s["genre"] for s in metal} == {"metal"}
    randoms = sub.json("getRandomSongs", size=7, genre="blues")["randomSongs"]["song"]
    assert len(randoms) == 7 and {s["genre"] for s in randoms} == {"blues"}
    song = sub.json("getSong", id=metal[0]["id"])["song"]
    assert song["title"] == metal[0]["title"] and song["isDir"] is False
    assert sub.json("getSong", id="tr-99999")["error"]["code"] == 70
    top = sub.json("getTopSongs", artist=song["artist"], count=2)["topSongs"]["song"]
    assert len(top) == 2 and {s["artist"] for s in top} == {song["artist"]}
    alike = sub.json("getSimilarSongs2", id=song["artistId"], count=5)["similarSongs2"]["song"]
    assert len(alike) == 5
    assert all(s["genre"] == "metal" and s["artist"] != song["artist"] for s in alike)
    assert sub.json("getAlbumInfo2", id=song["albumId"])["albumInfo"]["notes"] == ""


def test_star_unstar_and_ratings_keep_the_store_the_truth(sub):
    songs = sub.json("search3", query="Jazz Song", songCount=3)["searchResult3"]["song"]
    ids = [s["id"] for s in songs]
    sub.json("star", id=ids[:2])
    sub.json("star", id=ids[:2])  # starring twice logs one favorite each
    log = sub.station.parts.store.interactions.for_listener("ann")
    assert [i.type for i in log] == ["favorite", "favorite"]
    sub.json("unstar", id=ids[0])
    assert [s["id"] for s in sub.json("getStarred")["starred"]["song"]] == [ids[1]]
    sub.json("setRating", id=ids[2], rating=4)
    rated = sub.station.parts.store.interactions.for_listener("ann")[-1]
    assert rated.type == "rate" and rated.rating == 0.75
    assert sub.json("getSong", id=ids[2])["song"]["userRating"] == 4
    sub.json("setRating", id=ids[2], rating=0)
    assert "userRating" not in sub.json("getSong", id=ids[2])["song"]
    assert sub.json("setRating", id=ids[2], rating=6)["error"]["code"] == 0


def test_playlists_and_the_read_only_dj_playlist(sub):
    songs = [s["id"] for s in sub.json("getRandomSongs", size=4)["randomSongs"]["song"]]
    made = sub.json("createPlaylist", name="Mine", songId=songs[:3])["playlist"]
    assert made["name"] == "Mine" and [e["id"] for e in made["entry"]] == songs[:3]
    sub.json(
        "updatePlaylist",
        playlistId=made["id"],
        name="Renamed",
        songIdToAdd=songs[3],
        songIndexToRemove="0",
    )
    got = sub.json("getPlaylist", id=made["id"])["playlist"]
    assert got["name"] == "Renamed" and [e["id"] for e in got["entry"]] == songs[1:]
    listed = sub.json("getPlaylists")["playlists"]["playlist"]
    assert listed[0] == {**listed[0], "id": "pl-dj", "name": "QFZZ for ann", "readonly": True}
    assert sub.json("getPlaylist", id="pl-dj")["playlist"]["entry"]
    assert sub.json("deletePlaylist", id="pl-dj")["error"]["code"] == 50
    sub.station.register_listener("bob", {}, password="pw-5678")
    assert sub.station.collections.playlists("bob") == []
    sub.json("deletePlaylist", id=made["id"])
    assert sub.json("getPlaylist", id=made["id"])["error"]["code"] == 70


def test_play_queue_round_trip(sub):
    songs = [s["id"] for s in sub.json("getRandomSongs", size=3)["randomSongs"]["song"]]
    assert "playQueue" not in sub.json("getPlayQueue")
    sub.json("savePlayQueue", id=songs, current=songs[1], position=12345)
    queue = sub.json("getPlayQueue")["playQueue"]
    assert [e["id"] for e in queue["entry"]] == songs
    assert queue["current"] == songs[1] and queue["position"] == 12345
    assert queue["changedBy"] == "tests"


def test_report_playback_stop_early_is_a_skip(sub):
    song = sub.json("getRandomSongs", size=1)["randomSongs"]["song"][0]["id"]
    sub.json("reportPlayback", mediaId=song, mediaType="song", state="playing", positionMs=0)
    assert sub.json("getNowPlaying")["nowPlaying"]["entry"][0]["id"] == song
    sub.json("reportPlayback", mediaId=song, mediaType="song", state="stopped", positionMs=3000)
    assert [i.type for i in sub.station.parts.store.interactions.for_listener("ann")] == ["skip"]
    sub.json("reportPlayback", mediaId=song, mediaType="song", state="stopped", positionMs=29000)
    assert len(sub.station.parts.store.interactions.for_listener("ann")) == 1
    assert sub.json("getNowPlaying")["nowPlaying"]["entry"] == []
    wrong = sub.json("reportPlayback", mediaId=song, mediaType="song", state="rewinding")
    assert wrong["error"]["code"] == 0 and "state must be" in wrong["error"]["message"]


def test_cover_art_is_a_deterministic_png(sub):
    album = sub.json("getAlbumList2", type="newest", size=2)["albumList2"]["album"]
    first = sub.get("getCoverArt", id=album[0]["coverArt"], size=64)
    assert first.headers["content-type"] == "image/png"
    assert first.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", first.content[16:24]) == (64, 64)
    again = sub.get("getCoverArt", id=album[0]["coverArt"], size=64)
    other = sub.get("getCoverArt", id=album[1]["coverArt"], size=64)
    assert again.content == first.content != other.content


def test_audio_errors_follow_f_and_never_pretend_to_be_audio(sub):
    song = sub.json("getRandomSongs", size=1)["randomSongs"]["song"][0]["id"]
    answer = sub.get("stream", id=song, f="json")  # synthetic tracks have no file
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["subsonic-response"]["error"]["code"] == 70


def test_radio_stations_folders_and_scan_status(sub):
    stations = sub.json("getInternetRadioStations")["internetRadioStations"]
    url = urlsplit(stations["internetRadioStation"][0]["streamUrl"])
    assert url.path == "/stream/main"
    assert parse_qs(url.query) == {
        "u": ["ann"],
        "t": [sub.auth()["t"]],
        "s": ["s4lt"],
        "v": ["1.16.1"],
        "c": ["tests"],
    }
    assert sub.json("getMusicFolders")["musicFolders"]["musicFolder"] == [
        {"id": 1, "name": "Music"}
    ]
    assert sub.json("getScanStatus")["scanStatus"] == {"scanning": False, "count": 72}
    assert sub.json("getLicense")["license"]["valid"] is True
