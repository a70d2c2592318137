"""`qfzz --help` and every command's `--help` answer at once: they load the command line
only, never the web framework, the database layer, the station or the audio stack (a
cold import of those is seconds on a busy 2-core machine; `bench/cli_start.py` times it)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("fastapi", "uvicorn", "sqlalchemy", "numpy", "av", "redis", "qfzz.station", "qfzz.api")

PROBE = """
import json, sys
from typer.main import get_command
from typer.testing import CliRunner
from qfzz.app import command_line

app = command_line()
paths, todo = [], [((), get_command(app))]
while todo:
    path, command = todo.pop()
    paths.append(list(path))
    todo += [((*path, name), sub) for name, sub in getattr(command, "commands", {}).items()]
runner = CliRunner()
answers = {" ".join(p): runner.invoke(app, [*p, "--help"]) for p in paths}
print(json.dumps({
    "failed": [p for p, r in answers.items() if r.exit_code != 0 or "Usage" not in r.output],
    "commands": len(answers),
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m in HEAVY
                    or any(m.startswith(h + ".") for h in HEAVY)),
}))
"""


def test_every_help_loads_the_command_line_only():
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["commands"] >= 20  # the groups and their commands were all reached
    assert found["failed"] == []
    assert found["heavy"] == []
