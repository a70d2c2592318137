#!/usr/bin/env python3
"""One entry point that sets itself up: ``python3 run.py station`` or ``python3 run.py test``.

It creates ``.venv`` beside this file on first use and (re)installs QFZZ with its test
extras whenever ``pyproject.toml`` changes, so a fresh clone needs nothing but Python 3.11+.

    python3 run.py station [qfzz serve options]   run the station on http://127.0.0.1:8000
    python3 run.py test [pytest options]          lint, import contracts, mypy, all tests
    python3 run.py qfzz ARGS...                   any other qfzz command
    python3 run.py bench NAME                     a benchmark from bench/ (e.g. playlist)
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".qfzz-install-stamp"


def ensure_environment() -> None:
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("installing QFZZ and its dependencies into .venv …", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[test,bench]"], check=True)
        STAMP.write_text(wanted)


#: Debian packages the end-to-end tests drive, each with a file it installs: Chromium for
#: the web player, VLC (with its MP3 and Opus decoders) and mpv for the radio streams and
#: their .m3u/.pls playlists, HAProxy in front of several `qfzz serve` processes, and wrk,
#: the benches' load generator (C: it leaves the cores to the server).
PLAYERS = {
    "chromium": "/usr/bin/chromium",
    "vlc-bin": "/usr/bin/cvlc",
    "vlc-plugin-base": "/usr/lib/*/vlc/plugins/codec/libopus_plugin.so",
    "mpv": "/usr/bin/mpv",
    "libchromaprint1": "/usr/lib/*/libchromaprint.so.1",  # the resolver's fingerprint check
    "haproxy": "/usr/sbin/haproxy",
    "wrk": "/usr/bin/wrk",
}


def ensure_browser() -> None:
    """Install the players the end-to-end tests drive, when we can (root and apt-get);
    tests whose player is missing skip and say which package to install."""
    missing = [package for package, path in PLAYERS.items() if not glob.glob(path)]
    if not missing or not Path("/usr/bin/apt-get").exists():
        return
    if os.geteuid() != 0:
        print(f"missing players (apt-get install {' '.join(missing)}): their tests will skip")
        return
    print(f"installing Debian's {', '.join(missing)} for the end-to-end tests …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=False)


def run(*args: str) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT).returncode


def test(extra: list[str]) -> int:
    checks = [
        ("ruff check", ["-m", "ruff", "check", "src", "tests", "bench", "run.py"]),
        ("ruff format", ["-m", "ruff", "format", "--check", "src", "tests", "bench", "run.py"]),
        (
            "import contracts",
            ["-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        ),
        ("mypy", ["-m", "mypy"]),
    ]
    for name, args in checks:
        print(f"== {name}", flush=True)
        if run(*args) != 0:
            print(f"{name} failed", file=sys.stderr)
            return 1
    print("== pytest", flush=True)
    return run("-m", "pytest", "-n", "2", *extra)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("station", [])
    ensure_environment()
    if command == "station":
        return run("-m", "qfzz", "serve", *rest)
    if command == "test":
        ensure_browser()
        return test(rest)
    if command == "qfzz":
        return run("-m", "qfzz", *rest)
    if command == "bench":
        if not rest:
            sys.exit("usage: python3 run.py bench NAME [args]")
        return run(str(ROOT / "bench" / f"{rest[0]}.py"), *rest[1:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
