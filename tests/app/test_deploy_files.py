"""The files in deploy/ (README, "Operating at scale") say only what is true of QFZZ: every
QFZZ_* variable is a setting, every qfzz command line parses with the real CLI, and
HAProxy accepts its configuration."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
import yaml

from qfzz.app import command_line
from qfzz.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/sbin:/bin")


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _variables() -> set[str]:
    found = set(re.findall(r"^(QFZZ_\w+)=", (DEPLOY / "qfzz.env.example").read_text(), re.M))
    for service in _compose()["services"].values():
        found |= {name for name in service.get("environment", {}) if name.startswith("QFZZ_")}
    return found


def _command_lines() -> list[list[str]]:
    lines = [
        service["command"]
        for service in _compose()["services"].values()
        if service.get("command", [""])[0] == "qfzz"
    ]
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for exec_start in re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.M):
            words = shlex.split(exec_start)
            lines.append(["qfzz", *words[1:]])
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    lines.append(json.loads(cmd.group(1)))
    return lines


def test_every_variable_is_a_setting():
    names = {f"QFZZ_{name.upper()}" for name in Settings.model_fields}
    variables = _variables()
    assert variables and variables <= names, variables - names


def test_every_command_line_parses_with_the_real_cli():
    group = typer.main.get_command(command_line())  # the click group `qfzz` runs
    lines = _command_lines()
    assert len(lines) >= 5
    for line in lines:
        assert line[0] == "qfzz", line
        with group.make_context("qfzz", list(line[1:])) as ctx:
            command = group.get_command(ctx, line[1])  # type: ignore[attr-defined]
            assert command is not None, line
            command.make_context(line[1], list(line[2:]))  # raises on an unknown option


def test_haproxy_accepts_its_configuration():
    if HAPROXY is None:
        pytest.skip("haproxy is not installed (apt-get install haproxy; run.py installs it)")
    checked = subprocess.run(
        [HAPROXY, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
