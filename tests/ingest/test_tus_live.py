"""tus 1.0.0 against a live server, with the real ``tuspy`` client where it can speak."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from ingest_helpers import MIB, Server
from tusclient.client import TusClient
from tusclient.uploader import Uploader

from qfzz.testing import wait_for

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}

# Another client process: resumes the upload at the URL it is given, as tuspy does after a
# restart (HEAD for the offset, then PATCHes with Upload-Checksum), and prints the offset.
RESUME = """
import hashlib, json, sys
from tusclient.client import TusClient
from tusclient.uploader import Uploader

url, path, headers, algorithm = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]

class Checked(Uploader):
    CHECKSUM_ALGORITHM_PAIR = (algorithm, getattr(hashlib, algorithm))

uploader = Checked(
    path, url=url, client=TusClient(url, headers=headers), chunk_size=300_000,
    upload_checksum=True,
)
print(json.dumps({"resumed_at": uploader.offset}))
uploader.upload()
print(json.dumps({"done_at": uploader.offset}))
"""


def song(tmp_path: Path, size: int = 1_000_000) -> Path:
    path = tmp_path / "song.flac"
    path.write_bytes(hashlib.shake_256(b"a song").digest(size))
    return path


def create(server: Server, auth: dict[str, str], length: int, **headers: str) -> httpx.Response:
    return httpx.post(
        server.uploads, headers={**TUS, **auth, "Upload-Length": str(length), **headers}
    )


def head(url: str, auth: dict[str, str]) -> httpx.Response:
    return httpx.head(url, headers={**TUS, **auth})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def checksum(algorithm: str, body: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_interrupted_at_half_resumes_from_another_process(
    server: Server, auth: dict[str, str], user: str, tmp_path: Path, algorithm: str
) -> None:
    path = song(tmp_path)
    stream = path.open("rb")  # tuspy leaves files it opens itself to the collector
    first = Uploader(
        file_stream=stream,
        client=TusClient(server.uploads, headers=auth),
        chunk_size=250_000,
        metadata={"filename": "song.flac"},
        upload_checksum=True,
    )
    with stream:
        first.upload(stop_at=500_000)  # the first client stops (crashes) at 50 %
    assert first.offset == 500_000 and first.url is not None
    upload_id = first.url.rsplit("/", 1)[1]
    assert server.finished.of(upload_id) == []

    done = subprocess.run(
        [sys.executable, "-c", RESUME, first.url, str(path), json.dumps(auth), algorithm],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == [{"resumed_at": 500_000}, {"done_at": 1_000_000}]

    [received] = server.finished.of(upload_id)
    assert hashlib.sha256(received).digest() == hashlib.sha256(path.read_bytes()).digest()
    state = json.loads((server.store.root / upload_id / "state.json").read_text())
    assert state["state"] == "finished" and state["metadata"] == {"filename": "song.flac"}
    assert state["owner"] == user


def test_wrong_checksum_is_460_and_appends_nothing(server: Server, auth: dict[str, str]) -> None:
    url = create(server, auth, 100).headers["Location"]
    good = httpx.patch(
        url,
        content=b"a" * 40,
        headers={
            **PATCH,
            **auth,
            "Upload-Offset": "0",
            "Upload-Checksum": checksum("sha1", b"a" * 40),
        },
    )
    assert good.status_code == 204 and good.headers["Upload-Offset"] == "40"
    bad = httpx.patch(
        url,
        content=b"b" * 40,
        headers={
            **PATCH,
            **auth,
            "Upload-Offset": "40",
            "Upload-Checksum": checksum("sha256", b"not these bytes"),
        },
    )
    assert bad.status_code == 460 and bad.json()["error"] == "upload_checksum_mismatch"
    assert head(url, auth).headers["Upload-Offset"] == "40"
    upload_id = url.rsplit("/", 1)[1]
    assert server.store.data_path(upload_id).read_bytes() == b"a" * 40


def test_unknown_checksum_algorithm_is_400(server: Server, auth: dict[str, str]) -> None:
    url = create(server, auth, 10).headers["Location"]
    answer = httpx.patch(
        url,
        content=b"x",
        headers={**PATCH, **auth, "Upload-Offset": "0", "Upload-Checksum": "md5 AAAA"},
    )
    assert answer.status_code == 400 and "Upload-Checksum" in answer.json()["detail"]


def test_expired_upload_is_gone_and_the_cleaner_removes_it(
    server: Server, auth: dict[str, str]
) -> None:
    answer = create(server, auth, 100)
    assert "GMT" in answer.headers["Upload-Expires"]
    kept = create(server, auth, 100).headers["Location"]
    url = answer.headers["Location"]
    upload_id = url.rsplit("/", 1)[1]
    server.clock.advance(20)
    touched = httpx.patch(kept, content=b"k", headers={**PATCH, **auth, "Upload-Offset": "0"})
    assert touched.status_code == 204  # a PATCH moves the expiry on
    server.clock.advance(20)  # 40 s > 36 s since the first was created

    removed = server.store.remove_expired(server.clock())  # other tests' uploads go too
    assert upload_id in removed and kept.rsplit("/", 1)[1] not in removed
    assert not (server.store.root / upload_id).exists()
    assert head(url, auth).status_code == 404
    assert head(kept, auth).headers["Upload-Offset"] == "1"

    server.clock.advance(40)
    assert head(kept, auth).status_code == 410  # expired, seen before the cleaner ran
    assert head(kept, auth).status_code == 404


def test_retried_last_patch_finishes_once(server: Server, auth: dict[str, str]) -> None:
    url = create(server, auth, 10).headers["Location"]
    last = {**PATCH, **auth, "Upload-Offset": "0"}
    assert httpx.patch(url, content=b"0123456789", headers=last).status_code == 204
    retried = httpx.patch(url, content=b"0123456789", headers=last)
    assert retried.status_code == 409 and retried.json()["error"] == "upload_offset_mismatch"
    at_end = httpx.patch(url, content=b"", headers={**last, "Upload-Offset": "10"})
    assert at_end.status_code == 204 and at_end.headers["Upload-Offset"] == "10"
    assert server.store.recover() == []
    assert server.finished.of(url.rsplit("/", 1)[1]) == [b"0123456789"]
    assert head(url, auth).headers["Upload-Offset"] == "10"


def test_creation_with_upload(server: Server, auth: dict[str, str]) -> None:
    answer = create(
        server,
        auth,
        6,
        **{"Content-Type": "application/offset+octet-stream"},
        **{"Upload-Checksum": checksum("sha256", b"abc")},
    )
    # httpx sends no body without content; send one for real
    answer = httpx.post(
        server.uploads,
        content=b"abc",
        headers={
            **PATCH,
            **auth,
            "Upload-Length": "6",
            "Upload-Checksum": checksum("sha256", b"abc"),
        },
    )
    assert answer.status_code == 201 and answer.headers["Upload-Offset"] == "3"
    url = answer.headers["Location"]
    done = httpx.patch(url, content=b"def", headers={**PATCH, **auth, "Upload-Offset": "3"})
    assert done.status_code == 204
    assert server.finished.of(url.rsplit("/", 1)[1]) == [b"abcdef"]


def test_termination_removes_the_upload(server: Server, auth: dict[str, str]) -> None:
    url = create(server, auth, 100).headers["Location"]
    upload_id = url.rsplit("/", 1)[1]
    httpx.patch(url, content=b"x" * 10, headers={**PATCH, **auth, "Upload-Offset": "0"})
    assert (server.store.root / upload_id).is_dir()
    assert httpx.delete(url, headers={**TUS, **auth}).status_code == 204
    assert not (server.store.root / upload_id).exists()
    assert head(url, auth).status_code == 404
    assert httpx.delete(url, headers={**TUS, **auth}).status_code == 404


def test_options_advertises_the_server(server: Server, auth: dict[str, str]) -> None:
    answer = httpx.options(server.uploads)
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert answer.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert answer.headers["Tus-Max-Size"] == str(2 * MIB)


def test_only_signed_in_listeners_upload(server: Server, auth: dict[str, str], user: str) -> None:
    url = create(server, auth, 10).headers["Location"]
    assert create(server, {}, 10).status_code == 401
    assert head(url, {}).status_code == 401
    assert (
        httpx.patch(url, content=b"x", headers={**PATCH, "Upload-Offset": "0"}).status_code == 401
    )
    assert httpx.delete(url, headers=TUS).status_code == 401
    bob = server.sign_in(f"{user}-bob")
    assert head(url, bob).status_code == 404  # another listener's upload does not exist for bob
    assert httpx.delete(url, headers={**TUS, **bob}).status_code == 404
    assert head(url, auth).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Upload-Length": "0"}, 422, "upload_empty"),
        ({"Upload-Length": str(2 * MIB + 1)}, 413, "upload_too_large"),
        ({"Upload-Length": "-5"}, 400, "upload_invalid"),
        ({"Upload-Length": "1" * 30}, 400, "upload_invalid"),
        ({"Upload-Length": "10", "Upload-Metadata": "filename not*base64"}, 400, "upload_invalid"),
        (
            {"Upload-Length": "10", "Upload-Metadata": f"a {b64('x')},a {b64('y')}"},
            400,
            "upload_invalid",
        ),
        (
            {"Upload-Length": "10", "Upload-Metadata": ",".join(f"k{i}" for i in range(17))},
            400,
            "upload_invalid",
        ),
        ({"Upload-Length": "10", "Upload-Metadata": f"k {b64('x' * 1025)}"}, 400, "upload_invalid"),
        ({"Upload-Length": "10", "Upload-Defer-Length": "1"}, 400, "upload_invalid"),
        ({"Upload-Length": "10", "Tus-Resumable": "0.2.2"}, 412, "tus_version_unsupported"),
    ],
)
def test_hostile_creation(
    server: Server, auth: dict[str, str], user: str, headers: dict[str, str], status: int, code: str
) -> None:
    before = sorted(server.store.root.iterdir())
    answer = httpx.post(server.uploads, headers={**TUS, **auth, **headers})
    assert answer.status_code == status and answer.json()["error"] == code
    assert server.store.uploads_of(user) == []
    assert sorted(server.store.root.iterdir()) == before


def test_quota_counts_what_a_listener_holds(
    server: Server, auth: dict[str, str], user: str
) -> None:
    assert create(server, auth, 2 * MIB).status_code == 201
    over = create(server, auth, MIB + 1)
    assert over.status_code == 413 and over.json()["error"] == "upload_quota_exceeded"
    assert create(server, auth, MIB).status_code == 201
    assert (
        create(server, server.sign_in(f"{user}-bob"), MIB).status_code == 201
    )  # quotas are per user


def test_hostile_patches(server: Server, auth: dict[str, str]) -> None:
    url = create(server, auth, 100).headers["Location"]
    upload_id = url.rsplit("/", 1)[1]

    def patch(body: bytes, **headers: str) -> httpx.Response:
        return httpx.patch(url, content=body, headers={**PATCH, **auth, **headers})

    missing = httpx.patch(url, content=b"x", headers={**auth, "Upload-Offset": "0"})
    assert missing.status_code == 412 and missing.headers["Tus-Version"] == "1.0.0"
    assert missing.json()["error"] == "tus_version_unsupported"
    wrong_type = patch(b"x", **{"Upload-Offset": "0", "Content-Type": "application/json"})
    assert wrong_type.status_code == 415 and wrong_type.json()["error"] == "upload_content_type"
    assert patch(b"x", **{"Upload-Offset": "5"}).status_code == 409
    assert patch(b"x", **{"Upload-Offset": "zero"}).status_code == 400
    too_long = patch(b"y" * 101, **{"Upload-Offset": "0"})
    assert too_long.status_code == 413 and too_long.json()["error"] == "upload_too_large"
    assert (
        httpx.patch(
            url.replace(upload_id, "0" * 32),
            content=b"x",
            headers={**PATCH, **auth, "Upload-Offset": "0"},
        ).status_code
        == 404
    )
    assert (
        httpx.patch(
            url.replace(upload_id, "..%2F..%2Fetc"),
            content=b"x",
            headers={**PATCH, **auth, "Upload-Offset": "0"},
        ).status_code
        == 404
    )
    assert head(url, auth).headers["Upload-Offset"] == "0"
    assert server.store.data_path(upload_id).read_bytes() == b""

    # A lying Upload-Length: fewer bytes stay incomplete, more are refused whole.
    assert patch(b"z" * 60, **{"Upload-Offset": "0"}).headers["Upload-Offset"] == "60"
    assert patch(b"z" * 41, **{"Upload-Offset": "60"}).status_code == 413
    assert head(url, auth).headers["Upload-Offset"] == "60"
    assert server.store.data_path(upload_id).read_bytes() == b"z" * 60
    assert server.finished.of(upload_id) == []


def test_a_finished_upload_is_not_terminated(server: Server, auth: dict[str, str]) -> None:
    url = create(server, auth, 3).headers["Location"]
    httpx.patch(url, content=b"abc", headers={**PATCH, **auth, "Upload-Offset": "0"})
    answer = httpx.delete(url, headers={**TUS, **auth})
    assert answer.status_code == 403 and answer.json()["error"] == "upload_finished"
    assert server.finished.of(url.rsplit("/", 1)[1]) == [b"abc"]


def test_a_client_that_disconnects_mid_patch_keeps_what_arrived(
    server: Server, auth: dict[str, str]
) -> None:
    url = create(server, auth, 100).headers["Location"]
    path = urlsplit(url).path
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    request = (
        f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n"
        f"Authorization: {auth['Authorization']}\r\nUpload-Offset: 0\r\n"
        "Content-Type: application/offset+octet-stream\r\nContent-Length: 50\r\n\r\n"
    )
    with socket.create_connection((host, port)) as sock:
        sock.sendall(request.encode() + b"t" * 20)  # then the connection drops
    assert wait_for(lambda: head(url, auth).headers["Upload-Offset"] == "20")
    done = httpx.patch(url, content=b"u" * 80, headers={**PATCH, **auth, "Upload-Offset": "20"})
    assert done.status_code == 204
    assert server.finished.of(urlsplit(url).path.rsplit("/", 1)[1]) == [b"t" * 20 + b"u" * 80]
