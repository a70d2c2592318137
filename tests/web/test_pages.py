"""The page and its static files: served with the right types, cached by ETag, locked in."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qfzz.api import create_api, web
from qfzz.api.web.pages import FILES


@pytest.fixture
def client(station):
    with TestClient(create_api(station, manage_lifecycle=False)) as c:
        yield c


def test_the_page_is_served_at_the_root_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/static/app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("api.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_static_files_have_their_content_types(client, name, media_type):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.content == FILES[name].body


def test_every_module_the_page_imports_is_served(client):
    """A module import that 404s breaks the whole page; catch it without a browser."""
    for name, found in FILES.items():
        if not name.endswith(".js"):
            continue
        for line in found.body.decode().splitlines():
            if line.startswith("import ") and ' from "./' in line:
                imported = line.split(' from "./')[1].split('"')[0]
                assert client.get(f"/static/{imported}").status_code == 200, (name, imported)


def test_an_unchanged_file_is_revalidated_with_a_304(client):
    first = client.get("/static/app.js")
    again = client.get("/static/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert first.headers["cache-control"] == "no-cache"


def test_unknown_static_files_are_a_json_404(client):
    for path in ("/static/nope.js", "/static/..%2Fpages.py", "/static/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


def test_only_the_events_are_in_the_api_schema():
    app = FastAPI()
    app.include_router(web.router)
    paths = app.openapi()["paths"]
    assert set(paths) == {"/api/v1/events"}
    assert "text/event-stream" in paths["/api/v1/events"]["get"]["responses"]["200"]["content"]


def test_static_files_go_out_gzipped_when_the_client_accepts_it(client):
    raw = client.get("/static/app.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    packed = client.get("/static/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == raw.content  # httpx decoded it
    assert int(packed.headers["content-length"]) < len(raw.content) / 2
