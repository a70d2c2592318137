from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from qfzz.app import prepare_station, run_http
from qfzz.cli import Wiring, build_cli
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks

cli = build_cli(Wiring(prepare=prepare_station, run=run_http))
runner = CliRunner()


def verify_export_with_hashlib_only(path) -> int:
    """What an outside auditor would run: nothing but json and hashlib."""
    previous = "0" * 64
    for n, line in enumerate(path.read_text().splitlines()):
        b = json.loads(line)
        digest = hashlib.sha256(b["changes"].encode()).hexdigest()
        header = "\n".join(
            str(x)
            for x in (
                "qfzz-block-v1",
                b["index"],
                b["timestamp_us"],
                b["through"],
                b["difficulty"],
                b["previous_hash"],
                digest,
                b["nonce"],
            )
        )
        assert hashlib.sha256(header.encode()).hexdigest() == b["hash"]
        assert b["hash"].startswith("0" * b["difficulty"])
        assert b["previous_hash"] == previous and b["index"] == n
        previous = b["hash"]
    return n + 1


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    station = QFZZStation(Settings(data_dir=data, difficulty=2))
    add_synthetic_tracks(station.store, SIX_GENRES)
    station.start()
    station.register_listener("ann", {})
    station.register_listener("bob", {})
    for track in (1, 2, 3):
        station.record_interaction("ann", track, "like")
        station.ledger.mine()
    station.record_interaction("bob", 1, "dislike")  # left pending
    station.close()
    return data


def qfzz(*args):
    return runner.invoke(cli, [str(a) for a in args])


def test_verify_show_export_trust(data_dir, tmp_path):
    ok = qfzz("ledger", "verify", "--data-dir", data_dir)
    assert ok.exit_code == 0 and "ledger valid: 4 blocks" in ok.output
    shown = qfzz("ledger", "show", "--last", "2", "--data-dir", data_dir)
    assert shown.exit_code == 0 and "height 4, 1 changes pending" in shown.output
    out = tmp_path / "chain.jsonl"
    exported = qfzz("ledger", "export", out, "--data-dir", data_dir)
    assert exported.exit_code == 0
    assert verify_export_with_hashlib_only(out) == 4
    first = json.loads(out.read_text().splitlines()[1])
    content_id, creator = json.loads(first["changes"])[0][0].split(":", 1)
    trust = qfzz("trust", content_id, creator, "--data-dir", data_dir)
    assert trust.exit_code == 0 and "score 0.500 (1 verifications, 1 reports)" in trust.output


def test_verify_names_the_tampered_block_and_repair_fixes_it(data_dir):
    station = QFZZStation(Settings(data_dir=data_dir))
    with station.store.db.write() as conn:
        conn.execute(text("UPDATE ledger_blocks SET nonce = nonce + 1 WHERE height = 2"))
    station.store.close()
    bad = qfzz("ledger", "verify", "--data-dir", data_dir)
    assert bad.exit_code == 1 and "INVALID at block 2" in bad.output
    fixed = qfzz("ledger", "repair", "--data-dir", data_dir)
    assert fixed.exit_code == 0 and "repaired from block 2" in fixed.output
    assert qfzz("ledger", "verify", "--data-dir", data_dir).exit_code == 0
