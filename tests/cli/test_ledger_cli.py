from __future__ import annotations

import hashlib
import json

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy import text
from typer.testing import CliRunner

from qfzz.app import build_station, command_line
from qfzz.settings import Settings
from qfzz.testing import SIX_GENRES, add_synthetic_tracks

cli = command_line()
runner = CliRunner()


def verify_export_outside_qfzz(path) -> int:
    """What an outside auditor would run (the README's snippet): json, hashlib and PyNaCl."""
    lines = path.read_text().splitlines()
    head = json.loads(lines[0])
    key = VerifyKey(bytes.fromhex(head["public_key"]))
    difficulty = []  # (seq, from height, difficulty) of every validly signed record
    for e in head["events"]:
        fields = ("qfzz-ledger-event-v1", e["seq"], e["kind"], e["height"], e["value"])
        text = "\n".join(str(x) for x in (*fields, e["recorded_at_us"]))
        try:
            key.verify(text.encode(), bytes.fromhex(e["signature"]))
        except (BadSignatureError, ValueError):
            continue  # a forged record counts for nothing
        if e["kind"] == "difficulty":
            difficulty.append((e["seq"], e["height"], int(e["value"])))

    def required(height):
        return max((seq, d) for seq, start, d in difficulty if start <= height)[1]

    previous = "0" * 64
    for n, line in enumerate(lines[1:]):
        b = json.loads(line)
        changes = hashlib.sha256(b["changes"].encode()).hexdigest()
        fields = ("qfzz-block-v2", b["index"], b["timestamp_us"], b["through"], b["difficulty"])
        rest = (b["previous_hash"], changes, b["log_hash"], b["nonce"])
        header = "\n".join(str(x) for x in (*fields, *rest))
        assert hashlib.sha256(header.encode()).hexdigest() == b["hash"]
        assert b["previous_hash"] == previous and b["index"] == n
        assert n == 0 or b["difficulty"] == required(n)
        assert b["hash"].startswith("0" * b["difficulty"])
        previous = b["hash"]
    return n + 1


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    station = build_station(Settings(data_dir=data, difficulty=2))
    add_synthetic_tracks(station.parts.store, SIX_GENRES)
    station.start()
    station.register_listener("ann", {})
    station.register_listener("bob", {})
    for track in (1, 2, 3):
        station.record_interaction("ann", track, "like")
        station.parts.ledger.mine()
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
    assert verify_export_outside_qfzz(out) == 4
    first = json.loads(out.read_text().splitlines()[2])
    content_id, creator = json.loads(first["changes"])[0][0].split(":", 1)
    trust = qfzz("trust", content_id, creator, "--data-dir", data_dir)
    assert trust.exit_code == 0 and "score 0.500 (1 verifications, 1 reports)" in trust.output


def test_an_export_with_a_forged_difficulty_record_fails_the_outside_check(data_dir, tmp_path):
    out = tmp_path / "chain.jsonl"
    assert qfzz("ledger", "export", out, "--data-dir", data_dir).exit_code == 0
    lines = out.read_text().splitlines()
    head = json.loads(lines[0])
    assert [(e["kind"], e["height"], e["value"]) for e in head["events"]] == [
        ("difficulty", 1, "2")
    ]
    head["events"][0]["value"] = "0"  # "no work needed": the signature no longer holds
    out.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    with pytest.raises(ValueError):  # no validly signed record covers block 1
        verify_export_outside_qfzz(out)


def test_verify_names_the_tampered_block_and_repair_fixes_it(data_dir):
    station = build_station(Settings(data_dir=data_dir))
    with station.parts.store.db.write() as conn:
        conn.execute(text("UPDATE ledger_blocks SET nonce = nonce + 1 WHERE height = 2"))
    station.parts.store.close()
    bad = qfzz("ledger", "verify", "--data-dir", data_dir)
    assert bad.exit_code == 1 and "INVALID at block 2" in bad.output
    fixed = qfzz("ledger", "repair", "--data-dir", data_dir)
    assert fixed.exit_code == 0 and "repaired block 2: its hash does not match" in fixed.output
    assert qfzz("ledger", "verify", "--data-dir", data_dir).exit_code == 0
