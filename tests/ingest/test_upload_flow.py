"""A finished upload becomes content: sealed and kept, recorded once, converted by the
worker (derivatives and loudness recorded), a catalog track, and shown per licence —
through the real tus routes. A booklet is ready at once with its original only; a finish
run twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import blake3
import pytest
from fastapi.testclient import TestClient
from mutagen.id3 import APIC, ID3

from qfzz.api import create_api
from qfzz.catalog.artwork import embedded_artwork
from qfzz.ingest import SealedFile, encode_metadata
from qfzz.testing import write_tone

TUS = {"Tus-Resumable": "1.0.0"}
#: A 1x1 PNG, as a cover inside an uploaded file.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def api(station):
    station.register_listener("ann", {}, password="pw-1234")
    token = station.accounts.issue_token("ann")
    client = TestClient(create_api(station, manage_lifecycle=False))
    return client, {"Authorization": f"Bearer {token}", **TUS}


def _upload(client, headers, data: bytes, **metadata: str) -> str:
    created = client.post(
        "/api/v1/upload/",
        headers={**headers, "Upload-Length": str(len(data)),
                 "Upload-Metadata": encode_metadata(metadata)},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    patched = client.patch(
        location,
        content=data,
        headers={**headers, "Upload-Offset": "0",
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    assert patched.status_code == 204, patched.text
    return location.rstrip("/").rsplit("/", 1)[1]


def test_an_uploaded_song_is_sealed_recorded_once_and_converted(api, station, tmp_path):
    client, headers = api
    song = tmp_path / "song.mp3"
    write_tone(song, 330, 6.0, 0.3, {"title": "Tagged", "artist": "Tag Band", "genre": "jazz"})
    tags = ID3(song)
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="front", data=PNG))
    tags.save(song)
    data = song.read_bytes()
    upload_id = _upload(
        client, headers, data, filename="song.mp3", title="Morning", license="LicenseRef-Mine"
    )
    content = station.parts.store.contents.by_upload(upload_id)
    assert content is not None and content.status.value == "processing"
    assert (content.title, content.artist) == ("Morning", "Tag Band")  # metadata, then tags
    # a finished upload names its content, for the client to follow it to ready
    head = client.head(f"/api/v1/upload/{upload_id}", headers=headers)
    assert head.headers["qfzz-content-id"] == content.content_id
    # sealed at rest: the stored blob hashes to the content id and opens with its key
    blob = (station.settings.data_dir / "content" / content.content_id).read_bytes()
    assert blake3.blake3(blob).hexdigest() == content.content_id
    key_path = station.settings.data_dir / "content" / f"{content.content_id}.key"
    assert key_path.stat().st_mode & 0o777 == 0o600  # the key is for this server's eyes only
    key = key_path.read_bytes()
    sealed = station.settings.data_dir / "content" / content.content_id
    assert SealedFile(sealed, key).read_all() == data

    assert station.parts.uploads.run_pending() == 1
    ready = station.parts.store.contents.get(content.content_id)
    assert ready is not None and ready.status.value == "ready"
    kinds = {d.kind: d for d in ready.derivatives}
    assert set(kinds) == {"preview", "low", "high", "original"}
    assert (kinds["low"].codec, kinds["high"].codec) == ("opus", "mp3")
    assert kinds["high"].duration == pytest.approx(6.0, abs=0.1)
    assert ready.loudness is not None and -40 < ready.loudness < 0

    # the song is a catalog track now: playable, found by its title
    _total, found = station.search_tracks(q="Morning")
    assert [(t.title, t.artist, t.playable) for t in found] == [("Morning", "Tag Band", True)]
    assert found[0].meta.duration == pytest.approx(6.0, abs=0.2)
    # with the cover the uploaded file carried (the MP3 made from it started without tags)
    cover = embedded_artwork(Path(found[0].path))
    assert cover is not None and (cover.data, cover.mime) == (PNG, "image/png")
    # and no plaintext of the upload is left: not in the upload store, not in the inbox
    assert not (station.settings.data_dir / "uploads" / upload_id / "data").exists()
    assert not (station.parts.uploads.jobs.uploads / upload_id).exists()
    head = client.head(f"/api/v1/upload/{upload_id}", headers=headers)  # the record stays
    assert head.status_code == 200 and head.headers["upload-offset"] == str(len(data))
    again = client.patch(
        f"/api/v1/upload/{upload_id}",
        content=b"",
        headers={**headers, "Upload-Offset": str(len(data)),
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    assert again.status_code == 204  # a retried last PATCH: done, nothing to write

    # what a listener without a licence sees
    view = client.get(f"/api/v1/content.view/{content.content_id}").json()
    assert [o["kind"] for o in view["options"]] == ["preview", "low"]

    # derivatives by the hash of their bytes; the original decrypted for its owner only
    low = kinds["low"]
    served = client.get(f"/api/v1.5/storage/{low.file_hash}")
    assert served.status_code == 200 and blake3.blake3(served.content).hexdigest() == low.file_hash
    assert served.headers["content-type"].startswith("audio/ogg")
    sealed = client.get(f"/api/v1.5/storage/{content.content_id}")
    assert blake3.blake3(sealed.content).hexdigest() == content.content_id
    original = f"/api/v1/content/{content.content_id}/original"
    assert client.get(original).status_code == 403  # a restrictive licence, no licence
    owner = {"Authorization": headers["Authorization"]}
    whole = client.get(original, headers=owner)
    assert whole.status_code == 200 and whole.content == data
    part = client.get(original, headers={**owner, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = client.get(original, headers={**owner, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    outside = client.get(original, headers={**owner, "Range": f"bytes={len(data)}-"})
    assert outside.status_code == 416

    # a finish run again (a crash inside the handler, recovered at start): nothing new
    upload = client.app.state.uploads.get(upload_id, "ann")
    station.upload_finished(upload, station.settings.data_dir / "uploads" / upload_id / "data")
    assert station.parts.uploads.run_pending() == 0
    assert station.parts.store.contents.by_upload(upload_id) == ready


def test_a_booklet_keeps_only_its_original_and_is_ready_at_once(api, station):
    client, headers = api
    booklet = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
    upload_id = _upload(client, headers, booklet, filename="booklet.pdf", license="CC-BY-4.0")
    content = station.parts.store.contents.by_upload(upload_id)
    assert content is not None and not content.media
    assert content.status.value == "ready"
    assert [d.kind for d in content.derivatives] == ["original"]
    assert content.media_type == "application/pdf"
    assert station.parts.uploads.run_pending() == 0  # nothing to convert
    view = client.get(f"/api/v1/content.view/{content.content_id}").json()
    assert [o["kind"] for o in view["options"]] == ["original"]  # a free licence: everyone


def test_a_file_that_does_not_decode_fails_with_its_reason(api, station):
    client, headers = api
    upload_id = _upload(client, headers, b"\x00garbage" * 500, filename="broken.mp3")
    content = station.parts.store.contents.by_upload(upload_id)
    assert content is not None and content.status.value == "processing"
    station.parts.uploads.run_pending()
    failed = station.parts.store.contents.get(content.content_id)
    assert failed is not None and failed.status.value == "failed" and failed.reason


def test_the_legacy_single_request_upload_goes_the_same_way(api, station, tmp_path):
    client, headers = api
    auth = {"Authorization": headers["Authorization"]}
    booklet = b"%PDF-1.4\n" + b"1" * 500 + b"\n%%EOF\n"
    stored = client.post(
        "/api/v1/storage?title=Notes&license=CC0-1.0&filename=notes.pdf",
        content=booklet,
        headers=auth,
    )
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["status"] == "ready"
    content = station.parts.store.contents.get(body["content_id"])
    assert content is not None and content.title == "Notes" and content.owner == "ann"
    # refused, and nothing made: no sign-in, an empty file, over the size limit
    assert client.post("/api/v1/storage", content=booklet).status_code == 401
    empty = client.post("/api/v1/storage", content=b"", headers=auth)
    assert empty.status_code == 422 and empty.json()["error"]
    too_long = client.post("/api/v1/storage?title=" + "x" * 600, content=booklet, headers=auth)
    assert too_long.status_code == 422
    assert station.parts.store.contents.bytes_owned("ann") == len(booklet)


def test_the_same_song_uploaded_twice_converts_twice(api, station, tmp_path):
    """Deterministic encoders make byte-identical derivatives: one file hash, two contents,
    both ready (it once left the second stuck in processing)."""
    client, headers = api
    song = tmp_path / "song.mp3"
    write_tone(song, 330, 4.0, 0.3, {"title": "Twice", "artist": "Band"})
    data = song.read_bytes()
    first = _upload(client, headers, data, filename="song.mp3")
    second = _upload(client, headers, data, filename="song.mp3")
    assert station.parts.uploads.run_pending() == 2
    for upload_id in (first, second):
        content = station.parts.store.contents.by_upload(upload_id)
        assert content is not None and content.status.value == "ready"
        low = content.derivative("low")
        assert low is not None
        assert client.get(f"/api/v1.5/storage/{low.file_hash}").status_code == 200


def test_a_listener_lists_only_their_own_uploads_newest_first(api, station, clock):
    client, headers = api
    station.register_listener("bob", {}, password="pw-1234")
    bob = {"Authorization": f"Bearer {station.accounts.issue_token('bob')}", **TUS}
    booklet = b"%PDF-1.4\n" + b"0" * 200 + b"\n%%EOF\n"
    _upload(client, headers, booklet, filename="first.pdf", title="First")
    clock.advance(1)
    _upload(client, headers, booklet + b" ", filename="second.pdf", title="Second")
    _upload(client, bob, booklet + b"  ", filename="bobs.pdf", title="Bob's")
    mine = client.get("/api/v1/me/contents", headers=headers).json()["contents"]
    assert [(view["title"], view["role"]) for view in mine] == [
        ("Second", "owner"),
        ("First", "owner"),
    ]
    assert (
        client.get("/api/v1/me/contents?limit=1", headers=headers).json()["contents"][0]["title"]
        == "Second"
    )
    assert client.get("/api/v1/me/contents").status_code == 401
    refused = client.get("/api/v1/me/contents?limit=100000", headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]
