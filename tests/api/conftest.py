"""The API tests' client: the app around the started ``station`` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api


@pytest.fixture
def client(station) -> Iterator[TestClient]:
    with TestClient(create_api(station, manage_lifecycle=False)) as c:
        yield c
