"""How long `qfzz --help` and a command's `--help` take, as a user waits for them.

Each figure is the median wall time of ``--runs`` fresh processes (nothing cached in the
interpreter; the OS's file cache warm after the first, as on any second call), side by
side with the floor — the same Python starting and exiting (``python -c pass``) — and
with what the station's own import costs (``import qfzz.app._serve``: the web framework,
the database layer, the station, the audio stack), which is what `--help` cost while the
command line imported it. Target (issue 21): every `--help` <= 1 s.

    python3 run.py bench cli_start [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass (floor)": ["-c", "pass"],
    "qfzz --help": ["-m", "qfzz", "--help"],
    "qfzz serve --help": ["-m", "qfzz", "serve", "--help"],
    "qfzz node share --help": ["-m", "qfzz", "node", "share", "--help"],
    "import the station (what --help paid)": ["-c", "import qfzz.app._serve"],
}


def wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"{'command':<40} {'median s':>9} {'max s':>7}  target")
    for name, command in CASES.items():
        wall(command)  # the first run reads the files from disk; the figure is for the rest
        times = [wall(command) for _ in range(args.runs)]
        met = "yes" if max(times) <= 1 else "NO"
        target = f"<= 1 s {met}" if name.startswith("qfzz") else ""
        print(f"{name:<40} {statistics.median(times):>9.3f} {max(times):>7.3f}  {target}")


if __name__ == "__main__":
    main()
