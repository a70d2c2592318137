"""Fuzzing the wire: arbitrary JSON into every REST body and wire model, arbitrary
parameters into every Subsonic method. Nothing may answer 5xx or raise anything but a
validation error, and a body over a route's limit never reaches a parser.

Bounded runs (hypothesis, a fixed number of examples, no database of past failures) so
the suite stays fast and deterministic in what it checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from qfzz.api import create_api
from qfzz.api._schemas import DatasetIn, InteractionIn, ListenerIn, PreferencesIn
from qfzz.api.routes.auth import LoginIn
from qfzz.api.routes.devices import DeviceIn, DeviceUpdateIn
from qfzz.api.routes.jobs import ScanIn
from qfzz.api.subsonic import HANDLERS
from qfzz.api.subsonic import _router as subsonic_router
from qfzz.settings import Settings

FUZZ = examples(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

#: Text as an attacker writes it: control characters, NUL, lone surrogates are not valid
#: JSON strings, but every other code point is.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)
#: Bodies near the right shape, so validation gets past the first field.
KEYS = st.sampled_from(
    [
        "user_id", "password", "preferences", "genres", "artists", "moods", "discovery_factor",
        "energy_level", "tempo_preference", "track_id", "type", "rating", "name", "license",
        "tracks", "min_quality", "title", "artist", "year", "device_id", "device_type",
        "network_type", "bandwidth_mbps", "battery_level", "codecs", "path",
    ]
)  # fmt: skip
SHAPED = st.dictionaries(KEYS, JSON, max_size=8)

BODY_ROUTES = [
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/listeners"),
    ("POST", "/api/v1/listeners/fuzz/interactions"),
    ("POST", "/api/v1/datasets"),
    ("POST", "/api/v1/datasets/jobs"),
    ("POST", "/api/v1/devices"),
    ("PATCH", "/api/v1/devices/d1"),
    ("POST", "/api/v1/scan"),
]
WIRE_MODELS: list[type[BaseModel]] = [
    ListenerIn,
    PreferencesIn,
    InteractionIn,
    DatasetIn,
    LoginIn,
    DeviceIn,
    DeviceUpdateIn,
    ScanIn,
]
#: Methods whose answer is audio (their parameters are fuzzed by the others' shared parser).
AUDIO = {"stream", "download", "getTranscodeStream"}
PARAMS = st.sampled_from(
    [
        "id", "albumId", "artistId", "songId", "playlistId", "mediaId", "size", "offset",
        "count", "type", "genre", "fromYear", "toYear", "query", "rating", "name", "public",
        "songIdToAdd", "songIndexToRemove", "current", "position", "positionMs", "time",
        "submission", "maxBitRate", "format", "timeOffset", "clientInfo", "state",
        "musicFolderId", "artistCount", "albumCount", "songCount", "username", "deviceId",
    ]
)  # fmt: skip
PARAM_VALUES = (
    TEXT
    | st.integers(min_value=-(2**80), max_value=2**80).map(str)
    | st.sampled_from(["tr-1", "tr-²", "al-x", "ar-", "pl-dj", "[[[[]]]]", "1e999", "NaN"])
)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """The station under fuzz: dataset bodies limited to 1 MiB, so oversized ones are cheap."""
    return Settings(data_dir=tmp_path / "data", demo_library=False, max_dataset_body_mb=1)


@pytest.fixture
def client(station) -> Iterator[TestClient]:
    token = station.register_listener("fuzz", {}, password="pw-12345").token
    station.accounts.make_admin("fuzz")
    station.register_device({"device_id": "d1", "device_type": "desktop"}, user_id="fuzz")
    with TestClient(
        create_api(station, manage_lifecycle=False),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        yield c


def _refused_as_json(answer) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        body = answer.json()
        assert set(body) == {"error", "detail"}, body


@pytest.mark.parametrize("model", WIRE_MODELS, ids=lambda m: m.__name__)
@FUZZ
@given(document=JSON | SHAPED)
def test_wire_models_only_ever_raise_validation_errors(model, document):
    try:
        model.model_validate(document)
    except ValidationError as exc:
        assert exc.error_count() <= 64  # bounded lists fail at their first excess item


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_any_json_body_is_answered_without_a_server_error(client, method, path):
    @FUZZ
    @given(document=JSON | SHAPED)
    def post(document: object) -> None:
        body = json.dumps(document, allow_nan=True)
        answer = client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        _refused_as_json(answer)

    post()


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES[:4])
def test_any_bytes_as_a_body_are_answered_without_a_server_error(client, method, path):
    @FUZZ
    @given(raw=st.binary(max_size=200))
    def post(raw: bytes) -> None:
        answer = client.request(
            method, path, content=raw, headers={"content-type": "application/json"}
        )
        _refused_as_json(answer)

    post()


@pytest.mark.parametrize("name", sorted(set(HANDLERS) - AUDIO))
def test_any_subsonic_parameters_are_answered_in_subsonic_form(client, station, name):
    auth = {"u": "fuzz", "p": station.accounts.app_password("fuzz"), "f": "json"}

    @examples(max_examples=25, deadline=None, database=None)
    @given(params=st.dictionaries(PARAMS, PARAM_VALUES, max_size=6), post=st.booleans())
    def call(params: dict[str, str], post: bool) -> None:
        if post:
            answer = client.post(f"/rest/{name}", params=auth, data=params)
        else:
            answer = client.get(f"/rest/{name}", params={**params, **auth})
        assert answer.status_code < 500, answer.text
        if answer.headers["content-type"].startswith("application/json"):
            envelope = answer.json()["subsonic-response"]
            assert envelope["status"] in ("ok", "failed")
            if envelope["status"] == "failed":
                assert "internal error" not in envelope["error"]["message"], envelope

    call()


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize("declared", [True, False], ids=["with-length", "chunked"])
def test_bodies_over_the_limit_never_reach_the_parser(
    client, station, monkeypatch, method, path, declared
):
    parsed: list[str] = []
    real_json = Request.json

    async def counting_json(self: Request) -> object:
        parsed.append(self.url.path)
        return await real_json(self)

    monkeypatch.setattr(Request, "json", counting_json)
    limit = station.settings.max_dataset_body_mb << 20  # the largest limit of any route
    body = b'{"name": "' + b"x" * (limit + 1) + b'"}'

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    answer = client.request(
        method,
        path,
        content=body if declared else chunks(),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "payload_too_large"
    assert parsed == []


def test_subsonic_bodies_over_the_limit_never_reach_its_parsers(client, station, monkeypatch):
    parsed: list[object] = []
    monkeypatch.setattr(subsonic_router, "parse_qs", lambda *a, **k: parsed.append(a) or {})
    monkeypatch.setattr(subsonic_router, "loads_bounded", lambda *a, **k: parsed.append(a))
    auth = {"u": "fuzz", "p": station.accounts.app_password("fuzz"), "f": "json"}
    body = b"[" + b"1," * subsonic_router.MAX_BODY + b"1]"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    for kind in ("application/json", "application/x-www-form-urlencoded"):
        for content in (body, chunks()):
            answer = client.post(
                "/rest/getTranscodeDecision",
                params=auth,
                content=content,
                headers={"content-type": kind},
            )
            assert answer.status_code in (200, 413), answer.text
            if answer.status_code == 200:  # chunked: counted as it came, a Subsonic error
                assert answer.json()["subsonic-response"]["status"] == "failed"
    assert parsed == []
