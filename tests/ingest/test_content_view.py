"""The content view per role: anonymous, a listener without a licence, a licensed listener,
the owner and an admin — for a media upload under a restrictive licence, a media upload
under a free one, a non-media upload, and one still processing. Licences are granted by
the owner or an admin only; an upload's content is created once per upload."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.models import ContentStatus, Derivative, UploadedContent

RESTRICTED = "ab" * 32
FREE = "cd" * 32
BOOKLET = "ef" * 32
PENDING = "12" * 32


def _derivatives(*kinds):
    return tuple(
        Derivative(kind, f"{i:064x}", "audio/ogg", 1000 + i) for i, kind in enumerate(kinds, 1)
    )


def _content(content_id, *, license, media=True, status=ContentStatus.READY, kinds=()):
    return UploadedContent(
        content_id=content_id,
        upload_id=f"upload-{content_id[:8]}",
        owner="owner",
        title="Song",
        artist="Band",
        license=license,
        media_type="audio/flac" if media else "application/pdf",
        size=5000,
        media=media,
        status=status,
        created_at=1.0,
        derivatives=_derivatives(*kinds),
    )


@pytest.fixture
def api(station):
    for user in ("owner", "ann", "lic", "boss"):
        station.register_listener(user, {}, password="pw-1234")
    station.accounts.make_admin("boss")
    contents = station.parts.store.contents
    full = ("preview", "low", "high", "original")
    contents.create_once(_content(RESTRICTED, license="LicenseRef-All-Rights-Reserved", kinds=full))
    contents.create_once(_content(FREE, license="CC-BY-4.0", kinds=full))
    contents.create_once(
        _content(BOOKLET, license="LicenseRef-Booklet", media=False, kinds=("original",))
    )
    contents.create_once(
        _content(PENDING, license="LicenseRef-X", status=ContentStatus.PROCESSING,
                 kinds=("preview", "original"))
    )  # fmt: skip
    client = TestClient(create_api(station, manage_lifecycle=False))
    tokens = {u: station.accounts.issue_token(u) for u in ("owner", "ann", "lic", "boss")}
    headers = {u: {"Authorization": f"Bearer {t}"} for u, t in tokens.items()}
    granted = client.post(
        "/api/v1/licenses",
        json={"content_id": RESTRICTED, "user_id": "lic"},
        headers=headers["owner"],
    )
    assert granted.status_code == 201 and granted.json()["granted"] is True
    client.post(
        "/api/v1/licenses", json={"content_id": BOOKLET, "user_id": "lic"}, headers=headers["boss"]
    )
    headers["anonymous"] = {}
    return client, headers


LISTEN = ["preview", "low"]
ALL = ["preview", "low", "high", "original"]


@pytest.mark.parametrize(
    ("content", "viewer", "role", "options", "downloadable"),
    [
        (RESTRICTED, "anonymous", "anonymous", LISTEN, False),
        (RESTRICTED, "ann", "listener", LISTEN, False),
        (RESTRICTED, "lic", "licensed", ALL, True),
        (RESTRICTED, "owner", "owner", ALL, True),
        (RESTRICTED, "boss", "admin", ALL, True),
        (FREE, "anonymous", "anonymous", ALL, True),  # a free licence licenses everyone
        (FREE, "ann", "listener", ALL, True),
        (BOOKLET, "anonymous", "anonymous", [], False),  # nothing of a binary without one
        (BOOKLET, "ann", "listener", [], False),
        (BOOKLET, "lic", "licensed", ["original"], True),
        (BOOKLET, "owner", "owner", ["original"], True),
        (PENDING, "ann", "listener", ["preview"], False),  # what is ready, while processing
        (PENDING, "owner", "owner", ["preview", "original"], True),
    ],
)
def test_the_content_view_per_role(api, content, viewer, role, options, downloadable):
    client, headers = api
    view = client.get(f"/api/v1/content.view/{content}", headers=headers[viewer])
    assert view.status_code == 200
    body = view.json()
    assert body["role"] == role
    assert [o["kind"] for o in body["options"]] == options
    assert all(o["downloadable"] is downloadable for o in body["options"])
    expected_status = "processing" if content == PENDING else "ready"
    assert body["status"] == expected_status


def test_only_the_owner_or_an_admin_grants_licences(api, station):
    client, headers = api
    body = {"content_id": RESTRICTED, "user_id": "ann"}
    refused = client.post("/api/v1/licenses", json=body, headers=headers["lic"])
    assert refused.status_code == 403
    assert not station.parts.store.contents.licensed(RESTRICTED, "ann")
    assert client.post("/api/v1/licenses", json=body).status_code == 401
    unknown = client.post(
        "/api/v1/licenses", json={"content_id": RESTRICTED, "user_id": "nobody"},
        headers=headers["owner"],
    )  # fmt: skip
    assert unknown.status_code == 404
    again = client.post(
        "/api/v1/licenses", json={"content_id": RESTRICTED, "user_id": "lic"},
        headers=headers["boss"],
    )  # fmt: skip
    assert again.status_code == 201 and again.json()["granted"] is False


def test_unknown_or_malformed_addresses_and_bad_tokens(api):
    client, _headers = api
    assert client.get(f"/api/v1/content.view/{'9' * 64}").status_code == 404
    assert client.get("/api/v1/content.view/not-a-hash").status_code == 422
    bad = client.get(f"/api/v1/content.view/{FREE}", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_an_upload_creates_its_content_once(station):
    contents = station.parts.store.contents
    station.register_listener("owner", {}, password="pw-1234")
    first = _content(RESTRICTED, license="CC0-1.0")
    stored, created = contents.create_once(first)
    assert created and stored == first
    retry = _content(FREE, license="CC0-1.0")  # the same upload finishing again
    retry = UploadedContent(**{**_fields(retry), "upload_id": first.upload_id})
    again, created_again = contents.create_once(retry)
    assert not created_again and again == first
    assert contents.get(FREE) is None
    assert contents.bytes_owned("owner") == first.size


def _fields(content):
    return {f: getattr(content, f) for f in content.__slots__}
