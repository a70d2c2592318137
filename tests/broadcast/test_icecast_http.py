"""Streams framed as Icecast frames them, spoken to on a raw socket.

An HTTP/1.0 request to a stream gets an ``HTTP/1.0`` answer whose body is the audio up to
the close — never chunk-size lines, which players such as VLC decode as audio. An
HTTP/1.1 stream answer is close-delimited too (``Connection: close``); every other
response keeps uvicorn's framing (a length, or chunks to HTTP/1.1 clients).
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg
import pytest

from qfzz.testing import tracks_of_genre

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

pytestmark = pytest.mark.slow


@dataclass
class Answer:
    status: str
    headers: dict[str, str]
    body: bytes = field(repr=False)


def ask(
    url: str, path: str, version: str = "1.0", body_bytes: int | None = 0, **headers: str
) -> Answer:
    """One request on a raw socket: the head, and ``body_bytes`` of the body (all of a
    body whose length is given; everything up to the close when ``body_bytes`` is None)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [
        f"GET {path} HTTP/{version}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        stream = sock.makefile("rb")
        status = stream.readline().decode().rstrip("\r\n")
        head: dict[str, str] = {}
        while line := stream.readline().strip():
            name, _, value = line.decode().partition(":")
            head[name.strip().lower()] = value.strip()
        if body_bytes is None:
            body = stream.read()
        else:
            wanted = int(head.get("content-length", body_bytes))
            body = stream.read(wanted)
            assert len(body) == wanted, f"the body ended after {len(body)} of {wanted} bytes"
    return Answer(status, head, body)


def decoded_seconds(audio: bytes, tmp_path: Path, suffix: str) -> tuple[int, str]:
    """Whole seconds ffmpeg decodes from ``audio`` without an error, and its log."""
    path = tmp_path / f"body.{suffix}"
    path.write_bytes(audio)
    result = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # a clean stream ends mid-frame here (we stopped reading), which ffmpeg may report
    # only as a truncated last packet; anything else is a decoding error
    errors = [
        line
        for line in result.stderr.splitlines()
        if "error" in line.lower() and "partial file" not in line.lower()
    ]
    assert errors == [], errors
    last = result.stderr.rsplit("time=", 1)[1][:8]
    hours, minutes, seconds = (int(part) for part in last.split(":"))
    return hours * 3600 + minutes * 60 + seconds, result.stderr


SECONDS = 10
BYTES = SECONDS * 128_000 // 8  # 128 kb/s, the default bitrate


@pytest.mark.parametrize(
    ("fmt", "suffix", "codec"), [("mp3", "mp3", "mp3"), ("opus", "ogg", "opus")]
)
def test_an_http_1_0_request_gets_an_http_1_0_close_delimited_stream(
    live, tmp_path, fmt, suffix, codec
):
    _, token = live.sign_in()
    answer = ask(live.url, f"/stream/main?format={fmt}&token={token}", "1.0", BYTES)
    assert answer.status == "HTTP/1.0 200 OK"
    assert "transfer-encoding" not in answer.headers
    assert "content-length" not in answer.headers
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"] == {"mp3": "audio/mpeg", "opus": "audio/ogg"}[fmt]
    seconds, log = decoded_seconds(answer.body, tmp_path, suffix)
    assert f"Audio: {codec}" in log
    assert seconds >= SECONDS - 2  # container overhead; chunk lines would have broken it


def test_an_http_1_1_stream_is_close_delimited_too(live, tmp_path):
    _, token = live.sign_in("bo", genres=["rock"])
    for path in (f"/stream/main?token={token}", f"/api/v1/listeners/bo/stream?token={token}"):
        answer = ask(live.url, path, "1.1", BYTES, Host="radio", Icy_MetaData="0")
        assert answer.status == "HTTP/1.1 200 OK"
        assert "transfer-encoding" not in answer.headers
        assert answer.headers["connection"] == "close"
        seconds, _ = decoded_seconds(answer.body, tmp_path, "mp3")
        assert seconds >= SECONDS - 2


def test_an_error_on_a_stream_route_keeps_its_length(live):
    answer = ask(live.url, "/stream/nowhere", "1.0")
    assert answer.status == "HTTP/1.1 401 Unauthorized"  # uvicorn's own framing
    assert int(answer.headers["content-length"]) == len(answer.body) > 0


def test_other_responses_are_framed_as_before(live):
    one_one = ask(live.url, "/api/v1/health", "1.1", Host="radio")
    assert one_one.status == "HTTP/1.1 200 OK"
    assert "connection" not in one_one.headers  # kept alive
    assert int(one_one.headers["content-length"]) == len(one_one.body)
    one_oh = ask(live.url, "/api/v1/health", "1.0")
    assert one_oh.status == "HTTP/1.1 200 OK" and one_oh.headers["connection"] == "close"


def test_pipelined_requests_are_answered_in_order(live):
    host, port = live.url.removeprefix("http://").split(":")
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: radio\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request * 2 + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert received.count(b'"status":"ok"') == 3


def test_a_finite_stream_without_a_length_is_chunked_to_http_1_1_and_not_to_http_1_0(
    live, tmp_path
):
    """Subsonic's transcoded ``stream`` (a file made Opus): uvicorn chunks it for HTTP/1.1
    as before; an HTTP/1.0 client gets it close-delimited, whole."""
    live.sign_in()
    password = live.station.accounts.app_password("ann")
    track = tracks_of_genre(live.station, "jazz")[0]
    path = f"/rest/stream?id=tr-{track}&format=opus&maxBitRate=64&u=ann&p={password}&c=t&v=1.16.1"
    chunked = ask(live.url, path, "1.1", 64, Host="radio")
    assert chunked.headers["transfer-encoding"] == "chunked", chunked
    answer = ask(live.url, path, "1.0", None)
    assert answer.status == "HTTP/1.0 200 OK" and "transfer-encoding" not in answer.headers
    seconds, log = decoded_seconds(answer.body, tmp_path, "ogg")
    assert "Audio: opus" in log and seconds >= 3  # the tones are 4 s long
