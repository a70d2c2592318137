"""Real clients against the real server: ffmpeg decodes, a raw socket reads ICY blocks."""

from __future__ import annotations

import itertools
import socket
import threading

import httpx
import pytest

from qfzz.testing import listen_in_background as _listen_in_background
from qfzz.testing import wait_for as _wait

pytestmark = pytest.mark.slow


def test_ffmpeg_decodes_the_shared_mount_in_each_codec(live, decode):
    _, token = live.sign_in()
    log = decode(f"{live.url}/stream/main?token={token}", 10)
    assert "Audio: mp3" in log and "128 kb/s" in log
    log = decode(f"{live.url}/stream/main?bitrate=256&token={token}", 4)
    assert "256 kb/s" in log
    log = decode(f"{live.url}/stream/main?format=opus&bitrate=96&token={token}", 6)
    assert "Audio: opus" in log


def test_ffmpeg_decodes_a_personal_stream(live, decode):
    _, token = live.sign_in("ann", genres=["jazz"])
    log = decode(f"{live.url}/api/v1/listeners/ann/stream?token={token}", 10)
    assert "Audio: mp3" in log


def test_bad_stream_requests_are_json_errors(live):
    headers, _ = live.sign_in()
    get = lambda path: httpx.get(f"{live.url}{path}", headers=headers)  # noqa: E731
    assert get("/stream/nope").json()["error"] == "unknown_mount"
    assert get("/stream/main?bitrate=100").status_code == 422
    assert get("/stream/main?format=wav").status_code == 422
    assert get("/api/v1/listeners/zed/stream").status_code == 403
    assert httpx.get(f"{live.url}/stream/main").status_code == 401
    assert httpx.get(f"{live.url}/stream/main?token=forged.1.abc").status_code == 401


def read_icy_titles(
    url: str, token: str, wanted: int, most_seconds: float = 60.0
) -> tuple[dict, list[str]]:
    """The first ``wanted`` stream titles of ICY metadata, within ``most_seconds`` of
    audio (the socket's timeout only guards against a hang)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    request = f"GET /stream/main?token={token} HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n"
    sock.sendall(request.encode())
    stream = sock.makefile("rb")
    status = stream.readline()
    assert status.startswith(b"HTTP/1.1 200")
    headers = {}
    while line := stream.readline().strip():
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    # sent as Icecast sends it: no chunks, the body ends when the connection does
    assert "transfer-encoding" not in headers and headers["connection"] == "close"
    body = stream
    metaint = int(headers["icy-metaint"])
    titles: list[str] = []
    budget = most_seconds * int(headers["icy-br"]) * 1000 / 8  # bytes of audio
    while len(titles) < wanted and budget > 0:
        audio = body.read(metaint)
        budget -= len(audio)
        assert len(audio) == metaint
        length = body.read(1)[0] * 16
        if length:
            block = body.read(length).rstrip(b"\0").decode()
            assert block.startswith("StreamTitle='") and block.endswith("';")
            titles.append(block[len("StreamTitle='") : -2])
    sock.close()
    return headers, titles


def test_icy_metadata_blocks_carry_the_title_and_change_with_the_track(live):
    _, token = live.sign_in()
    headers, titles = read_icy_titles(live.url, token, wanted=2)
    assert headers["icy-metaint"] == "8192" and headers["icy-br"] == "128"
    assert headers["icy-name"] and headers["content-type"] == "audio/mpeg"
    assert len(titles) == 2 and titles[0] != titles[1]
    assert all(" - Tone " in t for t in titles)


def test_personal_radio_records_plays_and_skips(live):
    station = live.station
    headers, _ = live.sign_in("ann", genres=["jazz"])
    stop = threading.Event()
    thread = _listen_in_background(f"{live.url}/api/v1/listeners/ann/stream", stop, headers)
    try:
        history = station.parts.store.interactions.for_listener
        assert _wait(lambda: any(i.type.value == "play" for i in history("ann")))
        mount = station.radio.personal("ann")
        assert _wait(lambda: mount.now().track is not None)
        playing = mount.now().track
        # time holds still from the moment a track begins until the skip is in
        assert live.clock.pause_when(lambda: mount.now().track not in (None, playing))
        skipped = httpx.post(f"{live.url}/api/v1/listeners/ann/skip", headers=headers).json()[
            "skipped"
        ]
        asked = live.clock()  # the blocks made from now on are cut
        live.clock.resume()
        assert _wait(lambda: _started_after(mount, skipped["track_id"], asked) is not None)
        # heard within the program's lead (the burst + 0.5 s, made ahead) and the fade
        lead = station.settings.burst_seconds + 0.5
        assert _started_after(mount, skipped["track_id"], asked) - asked < lead + 0.5
        assert _wait(
            lambda: any(
                i.type.value == "skip" and i.track_id == skipped["track_id"] for i in history("ann")
            )
        )
    finally:
        stop.set()
        thread.join(10)


def _started_after(mount, skipped_id: int, asked: float) -> float | None:
    """When the track after the skipped one went on air, the skip asked at ``asked``.

    The program runs a little ahead of the air (and crossfades), so the skipped track —
    the program's newest when the skip came — may start on air up to a moment after
    ``asked``; the track that follows it is the first to start after ``asked``.
    """
    entries = sorted(mount.recent(asked - 60, asked + 60), key=lambda entry: entry[0])
    for (started, _, track), following in itertools.pairwise(entries):
        if track.track_id == skipped_id and started <= asked + 1.0 and following[0] > asked:
            return following[0]
    return None


def test_now_and_history_follow_the_program(live):
    headers, _ = live.sign_in()
    stop = threading.Event()
    thread = _listen_in_background(f"{live.url}/stream/main", stop, headers)
    try:
        assert _wait(
            lambda: (
                len(
                    httpx.get(f"{live.url}/api/v1/stream/main/history", headers=headers).json()[
                        "tracks"
                    ]
                )
                >= 3
            )
        )
        now = httpx.get(f"{live.url}/api/v1/stream/main/now", headers=headers).json()
        assert now["track"]["title"].startswith("Tone") and now["position"] >= 0
        tracks = httpx.get(f"{live.url}/api/v1/stream/main/history", headers=headers).json()[
            "tracks"
        ]
        starts = [t["started_at"] for t in tracks]
        assert starts == sorted(starts)
        middle = tracks[1]
        window = httpx.get(
            f"{live.url}/api/v1/stream/main/history",
            headers=headers,
            params={"from": middle["started_at"] + 0.01, "to": middle["ended_at"] - 0.01},
        ).json()["tracks"]
        assert [t["track"]["track_id"] for t in window] == [middle["track"]["track_id"]]
    finally:
        stop.set()
        thread.join(10)


def test_encoders_start_with_the_first_listener_and_stop_after_the_last(live):
    mount = live.station.radio.mount("main")
    assert mount.encoders == []
    _, token = live.sign_in()
    stop = threading.Event()
    thread = _listen_in_background(f"{live.url}/stream/main?bitrate=96&token={token}", stop)
    assert _wait(lambda: mount.encoders == [("mp3", 96)])
    assert mount.listener_count() == 1 and mount.pcm.is_running
    stop.set()
    thread.join(10)
    assert _wait(lambda: mount.encoders == [])
    assert _wait(lambda: not mount.pcm.is_running)
