"""The demo library a first start makes: CPU seconds (all processes), wall time, size.

Each run makes the whole demo library into a fresh folder in a subprocess of its own, as
``qfzz serve`` does on a fresh data directory (``generate_demo_library`` with its default
arguments, its render workers spawned), and reads that subprocess's CPU time with its
workers' (``RUSAGE_CHILDREN`` counts every waited-for descendant). Printed side by side:

- ``ours``: this checkout's defaults;
- ``44.1 kHz``: the same plan at 44.1 kHz and 192 kbps, the usual settings of a music
  file (the simple alternative to a lower rate);
- ``before`` (with ``--before SRC``): another checkout's generator and defaults, e.g. the
  commit before this change, whose plan was two thirds MP3 at 44.1 kHz.

Issue 21's target: at most 15 s of CPU on 2 cores.

    PYTHONPATH=src:bench .venv/bin/python bench/demo.py [--runs 2] [--before /tmp/old/src]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_MAKE = """
import json, sys
from pathlib import Path
from qfzz.catalog.demo import generate_demo_library
if __name__ == "__main__":
    paths = generate_demo_library(Path(sys.argv[1]), **json.loads(sys.argv[2]))
    print(json.dumps([p.suffix for p in paths]))
"""


def make(src: Path, dest: Path, overrides: dict[str, object]) -> dict[str, float | str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MAKE, str(dest), json.dumps(overrides)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    suffixes = json.loads(done.stdout)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    mix = ", ".join(f"{suffixes.count(s)} {s[1:]}" for s in sorted(set(suffixes)))
    return {"cpu": cpu, "wall": wall, "mb": size / 1e6, "mix": mix}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--before", type=Path, help="another checkout's src directory")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent / "src"
    variants: list[tuple[str, Path, dict[str, object]]] = [
        ("ours", here, {}),
        ("44.1 kHz", here, {"sample_rate": 44100, "bitrate_kbps": 192}),
    ]
    if args.before is not None:
        variants.append(("before", args.before.resolve(), {}))
    print(f"{os.cpu_count()} cores; the whole demo library, made from nothing")
    print(f"{'variant':<10} {'run':>3} {'CPU s':>7} {'wall s':>7} {'MB':>6}  files")
    results: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for run in range(1, args.runs + 1):
        for name, src, overrides in variants:  # in turns: a shared machine's drift is shared
            with tempfile.TemporaryDirectory(prefix="qfzz-demo-") as dest:
                got = make(src, Path(dest), overrides)
            results[name].append(float(got["cpu"]))
            print(
                f"{name:<10} {run:>3} {got['cpu']:>7.1f} {got['wall']:>7.1f} "
                f"{got['mb']:>6.1f}  {got['mix']}"
            )
    ours = min(results["ours"])
    for name, cpus in results.items():
        if name != "ours":
            print(f"{name} / ours: {min(cpus) / ours:.2f}x the CPU (best runs)")
    print(f"ours: {ours:.1f} CPU s against the target of 15: {'met' if ours <= 15 else 'MISSED'}")


if __name__ == "__main__":
    main()
