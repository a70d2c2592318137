"""schemathesis over /openapi.json, as a listener and as an admin: no 5xx, no answer
outside its documented status codes, content types and schema, invalid input always
refused with a 4xx, and every method a path does not take answered 405 with ``Allow``.

Bounded in examples so it stays fast; streaming routes are left out (they never end), and
so are the Subsonic and web-page routes (not JSON APIs). Path parameters naming a
listener are pinned to the caller, so the listener's own routes are reached, not only
the 403 answers.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from qfzz.api import create_api
from qfzz.overlay import Overlay, OverlayConfig

SKIP = r"(^/stream/|/stream$|^/rest|^/$|events|^/static)"
#: 413 (a body over the route's limit, refused unread) is a rejection too.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
            }
        }
    }
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.mark.parametrize("role", ["listener", "admin"])
def test_no_server_errors_and_answers_match_the_schema(station, role, tmp_path):
    user = f"fuzz-{role}"
    token = station.register_listener(user, {}, password="pw-1234").token
    if role == "admin":
        station.accounts.make_admin(user)
    node = Overlay(station.parts.node, OverlayConfig(public_host="http://fuzz.example"), tmp_path)
    app = create_api(station, overlay=node, manage_lifecycle=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG).exclude(
        path_regex=SKIP
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    headers = {"Authorization": f"Bearer {token}"}

    for operation in operations:
        pinned = {"user_id": user} if "{user_id}" in operation.path else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = [
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ]
            if mode is GenerationMode.NEGATIVE:
                checks.append(negative_data_rejection)

            @given(case=operation.as_strategy(mode, path_parameters=pinned))
            @settings(
                max_examples=6,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=checks)  # noqa: B023 (run now)

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label


def test_every_method_a_path_does_not_take_is_405_with_allow(station):
    app = create_api(station, manage_lifecycle=False)
    spec = app.openapi()
    with TestClient(app) as client:
        for template in spec["paths"]:
            path = template.format_map(_Filler())
            # Every documented operation whose template this path fits (``/cache/stats``
            # is also ``/cache/{namespace}``).
            declared = {
                method.upper()
                for other, operations in spec["paths"].items()
                if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", other), path)
                for method in operations
            }
            for method in METHODS:
                if method in declared:
                    continue
                answer = client.request(method, path)
                assert answer.status_code == 405, (method, path, answer.text)
                assert answer.json()["error"] == "method_not_allowed"
                allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
                # HEAD comes with every GET; a path may also declare it alone (tus uploads).
                assert allowed - {"HEAD"} == declared - {"HEAD"}, (method, path, allowed)
                assert declared & {"HEAD"} <= allowed, (method, path, allowed)


class _Filler(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "1"
