"""Idle mounts: what N personal radios cost once their listeners have gone.

Starts a station on the wall clock over a generated tone library, tunes N listeners into
their personal radios (mp3 128 kbps) for ``--listen`` seconds, lets them leave, waits out
the grace period (``--grace``, the ``encoder_idle_seconds`` setting) and measures the
process CPU over ``--measure`` seconds after it. ``--without-reaper`` stops the radio's
reaper first: the behaviour before it existed, when an encoder stopped only if ``reap``
happened to be called after its grace period.

    python3 run.py bench idle_mounts [--mounts 5] [--listen 5] [--grace 5] [--measure 30]
        [--without-reaper]

Prints one JSON line: CPU (% of one core) while listening and after the grace period,
threads, running encoders and mounts on the radio at each moment.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.testing import write_tone_library


def cpu_percent(seconds: float) -> float:
    """Process CPU (user + system) over ``seconds`` of wall time, in % of one core."""
    started, cpu = time.monotonic(), time.process_time()
    time.sleep(seconds)
    return round(100 * (time.process_time() - cpu) / (time.monotonic() - started), 1)


def snapshot(station) -> dict[str, int]:
    mounts = station.radio.all_mounts()
    return {
        "threads": threading.active_count(),
        "encoders": sum(len(m.encoders) for m in mounts),
        "mounts": len(mounts),
        "programs_running": sum(1 for m in mounts if m.pcm.is_running),
    }


def listen(station, user: str, seconds: float) -> None:
    mount = station.radio.personal(user)
    tuning = mount.tune_in("mp3", 128)
    deadline = time.monotonic() + seconds
    with tuning.reader:
        while time.monotonic() < deadline:
            tuning.reader.read_many(64, block=True, timeout=0.5)
    tuning.mount.leave("mp3", 128)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mounts", type=int, default=5)
    parser.add_argument("--listen", type=float, default=5.0)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--measure", type=float, default=30.0)
    parser.add_argument("--without-reaper", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = write_tone_library(Path(tmp) / "tones", tracks=6, seconds=30.0)
        settings = Settings(
            data_dir=Path(tmp) / "data", demo_library=False, encoder_idle_seconds=args.grace
        )
        station = build_station(settings)
        try:
            station.start()
            if args.without_reaper:
                station.radio._reaper.stop()  # the radio as it was: reaped only on leave
            station.scan(library)
            users = [f"listener{n}" for n in range(args.mounts)]
            for user in users:
                station.register_listener(user, {"genres": ["jazz"]})
            idle_before = cpu_percent(2.0)
            listeners = [
                threading.Thread(target=listen, args=(station, user, args.listen + 2.0))
                for user in users
            ]
            for thread in listeners:
                thread.start()
            time.sleep(1.0)
            listening = {"cpu_percent": cpu_percent(args.listen), **snapshot(station)}
            for thread in listeners:
                thread.join()
            time.sleep(args.grace + 1.0)
            after = {"cpu_percent": cpu_percent(args.measure), **snapshot(station)}
            print(
                json.dumps(
                    {
                        "mounts": args.mounts,
                        "grace_seconds": args.grace,
                        "reaper": not args.without_reaper,
                        "cpu_percent_before_any_listener": idle_before,
                        "listening": listening,
                        f"{args.measure:g}s_after_grace": after,
                        "resting_radios": len(station.radio.resting),
                    }
                )
            )
        finally:
            station.close()


if __name__ == "__main__":
    main()
