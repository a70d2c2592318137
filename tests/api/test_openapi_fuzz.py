"""schemathesis over /openapi.json: no 5xx, no response that breaks the documented schema.

Bounded in examples so it stays fast; streaming routes are left out (they never end), and
so are the Subsonic and web-page routes (not JSON APIs). Requests carry an admin's token
so the authenticated paths are reached, not only the 401 answers.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from qfzz.api import create_api

SKIP = r"(^/stream/|/stream$|^/rest|^/$|events|^/static)"


def test_no_server_errors_and_responses_match_the_schema(station):
    token = station.register_listener("fuzz", {}, password="pw-1234").token
    station.accounts.make_admin("fuzz")
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_api(station, manage_lifecycle=False)
    ).exclude(path_regex=SKIP)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )

        check()
