"""The station as a node: a NodeID kept across restarts in the data directory, told to
peers by ``GET /api/system.version`` and to the operator by ``qfzz node id``."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qfzz.api import create_api
from qfzz.app import command_line
from qfzz.network import SCHEMA_VERSION, node_id_of
from qfzz.settings import Settings
from qfzz.testing import FakeClock, synthetic_station


def test_system_version_names_the_node_and_survives_a_restart(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", demo_library=False)
    with synthetic_station(settings, clock=FakeClock()) as station:
        with TestClient(create_api(station, manage_lifecycle=False)) as client:
            answer = client.get("/api/system.version")  # public: no credentials
        first = answer.json()
    assert answer.status_code == 200
    assert first["status"] == "ok" and first["schema_version"] == SCHEMA_VERSION
    assert first["node_id"] == node_id_of(bytes.fromhex(first["public_key"]))
    assert os.stat(tmp_path / "d" / "node.key").st_mode & 0o777 == 0o600
    with synthetic_station(settings, clock=FakeClock()) as again:
        assert again.system_version()["node_id"] == first["node_id"]  # same key, same id


def test_qfzz_node_id_prints_the_stations_id_and_refuses_an_unsafe_key(tmp_path):
    data = tmp_path / "d"
    with synthetic_station(Settings(data_dir=data, demo_library=False), clock=FakeClock()) as st:
        expected = st.system_version()["node_id"]
    runner = CliRunner()
    shown = runner.invoke(command_line(), ["node", "id", "--data-dir", str(data)])
    assert shown.exit_code == 0, shown.output
    assert expected in shown.output
    os.chmod(data / "node.key", 0o644)  # readable by others: the key is no secret any more
    refused = runner.invoke(command_line(), ["node", "id", "--data-dir", str(data)])
    assert refused.exit_code == 1
    assert "chmod 600" in refused.output
    assert os.stat(data / "node.key").st_mode & 0o777 == 0o644  # left as found
