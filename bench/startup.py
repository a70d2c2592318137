"""Start-up of a station with a large catalog: time to a healthy API and the server's RSS.

For each catalog size a synthetic catalog (bench/_catalog.py) is written into a fresh
SQLite database (``--postgres``: a fresh PostgreSQL database as well), then a real
``qfzz serve`` is started as a subprocess and ``GET /api/v1/health`` is polled until it
answers 200 with the station running and every track indexed. Printed per size: the wall
time from spawning the process to that answer, the server's CPU seconds by then (user +
system: on a shared machine the wall time also holds other processes' turns, the CPU
time does not), its peak RSS (VmHWM) and its RSS a few seconds after (steady), next to
the targets of issue 19: healthy in ≤ 3 s with RSS ≤ 300 MB at 1M tracks.

Baseline, measured before this change on the same 1M-track SQLite catalog: 8.3 s to
healthy and 640 MB RSS (45 % of the time loading the feature columns as rows and lists,
22 % the trust ledger mapping every track to a key string although it was empty).

Measured with this change (``--runs 2 --before`` main at 7d261d3, 2 cores shared with
other benchmarks, load average ~10, so wall times are 2-3x the CPU time):

    server  tracks     healthy s  CPU s  peak MB  steady MB
    before  100,000        15.47   2.60      213        213
    ours    100,000        13.00   1.97      169        167
    before  1,000,000      25.50   8.46      746        723
    ours    1,000,000      13.27   4.25      288        233    (2.0x less CPU, 3.1x less RSS)

The old server's 8.5 CPU seconds match its 8.3 s on an idle machine, so ours should be
about 4.2 s there: above the 3 s target. What is left at 1M: ~1.75 s importing the server's
modules (the whole of a 100k start, nearly), ~0.9 s SQLite handing a million rows of
Python objects to the read, ~0.6 s coding the artist/genre/mood strings, ~0.2 s the index.

Since then: restarts read the columns kept in the data directory; a first start's columns
are written in the background, and a catalog from 200k tracks is read by two processes at
once (``store._column_part``). Measured on 2026-11-27 (1M tracks, SQLite, a quiet machine
that ran the previous day's code ~2x slower than the day before: its restart took 3.1-3.3
CPU s against 1.5), first start, the previous day's code (9a16fad) against ours in turns:
6.38-7.11 s against 5.11-5.31 s (4.18-4.57 s in another run); restarts 2.24-2.94 s;
peak 272-280 MB, steady 202-212 MB.

``--before SRC`` starts another checkout's server too (``--before /work/main/src``), in
turns with this one on the same catalog, and prints before/ours ratios: on a machine
shared with other work that comparison is the fair one, not the figures above.

Since the index's columns are kept in the data directory (``qfzz.station._index_columns``),
the first start on a catalog ("first": every track read from the database, the columns
written) and a restart ("restart", the median of the later runs: the columns read back, the
database asked only whether they are still its tracks' state) are printed apart.

Usage: bench/startup.py [--sizes 100000 1000000] [--runs 3] [--postgres] [--before SRC]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from _catalog import fill
from qfzz.settings import Settings
from qfzz.store import open_store
from qfzz.testing import free_port

TARGET_SECONDS = 3.0
TARGET_RSS_MB = 300.0
BASELINE_SECONDS = 8.3
BASELINE_RSS_MB = 640.0
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_DB = "qfzz_bench_startup"
#: How long the server is left idle after it turned healthy before its steady RSS is read.
SETTLE_SECONDS = 3.0
TIMEOUT = 300.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OUR_SOURCE = str(Path(__file__).resolve().parents[1] / "src")


@dataclass(frozen=True)
class Start:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    steady_mb: float


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def health(port: int) -> dict | None:
    """The health answer, or ``None`` while the server is not listening or not healthy."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return None
    return json.loads(body)


def start_once(
    data_dir: Path, database_url: str | None, tracks: int, source: str | None = None
) -> Start:
    port = free_port()
    # this checkout's qfzz, or another's (--before)
    env = {**os.environ, "QFZZ_LOG_LEVEL": "WARNING", "PYTHONPATH": source or OUR_SOURCE}
    if database_url:
        env["QFZZ_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "qfzz", "serve", "--data-dir", str(data_dir), "--no-demo"]
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            answer = health(port)
            if answer and answer.get("running") and answer.get("tracks") == tracks:
                seconds = time.perf_counter() - started
                break
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            if time.perf_counter() - started > TIMEOUT:
                raise SystemExit(f"not healthy after {TIMEOUT:.0f} s (last answer {answer})")
            time.sleep(0.01)
        cpu = cpu_seconds(server.pid)
        time.sleep(SETTLE_SECONDS)
        return Start(
            seconds,
            cpu,
            status_kb(server.pid, "VmHWM") / 1024,
            status_kb(server.pid, "VmRSS") / 1024,
        )
    finally:
        server.terminate()
        server.wait(60)


def postgres_database() -> str:
    """A fresh, empty PostgreSQL database for the bench (dropped and made again)."""
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {POSTGRES_DB}"))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{POSTGRES_DB}"


def drop_postgres_database() -> None:
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)"))
    admin.dispose()


def measure(
    backend: str, tracks: int, runs: int, before: str | None
) -> tuple[list[Start], list[Start]]:
    """Starts of this checkout's server and, with ``before``, of that checkout's, taking
    turns on the same catalog (so both see the same machine and page cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        url = postgres_database() if backend == "postgresql" else None
        try:
            store = open_store(url or Settings(data_dir=data_dir).resolved_database_url)
            fill(store, tracks)
            store.close()
            ours: list[Start] = []
            theirs: list[Start] = []
            for _ in range(runs):
                if before:
                    theirs.append(start_once(data_dir, url, tracks, before))
                ours.append(start_once(data_dir, url, tracks))
            return ours, theirs
        finally:
            if url:
                drop_postgres_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--runs", type=int, default=3, help="starts per size: the first, then restarts (median)"
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL as well")
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also start the server from another checkout's src (e.g. the main branch), "
        "in turns with ours, and print the ratios",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    print(
        f"{'server':<8} {'backend':<11} {'tracks':>9} {'healthy s':>10} {'target':>7} "
        f"{'CPU s':>7} {'peak MB':>8} {'steady MB':>10} {'target':>7}   runs (healthy s)"
    )
    for backend in backends:
        for tracks in args.sizes:
            ours, theirs = measure(backend, tracks, args.runs, args.before)
            # ours: the first start reads every track from the database and keeps the
            # index's columns in the data directory; the later ones (restarts) read those
            for name, starts in (("before", theirs), ("first", ours[:1]), ("restart", ours[1:])):
                if starts:
                    print(f"{name:<8} {backend:<11} {tracks:>9,} {row(starts)}", flush=True)
            if theirs:
                print(
                    f"{'ratio':<8} {backend:<11} {tracks:>9,} "
                    f"{median(theirs, 'seconds') / median(ours, 'seconds'):>9.1f}x "
                    f"{'':>7} {median(theirs, 'cpu_seconds') / median(ours, 'cpu_seconds'):>6.1f}x "
                    f"{median(theirs, 'peak_mb') / median(ours, 'peak_mb'):>7.1f}x "
                    f"{median(theirs, 'steady_mb') / median(ours, 'steady_mb'):>9.1f}x",
                    flush=True,
                )
    print(
        f"baseline measured before this change (1,000,000 tracks, SQLite, an idle machine): "
        f"{BASELINE_SECONDS} s to healthy, {BASELINE_RSS_MB:.0f} MB RSS"
    )


def median(starts: list[Start], field: str) -> float:
    return float(statistics.median(getattr(s, field) for s in starts))


def row(starts: list[Start]) -> str:
    return (
        f"{median(starts, 'seconds'):>10.2f} {TARGET_SECONDS:>7.1f} "
        f"{median(starts, 'cpu_seconds'):>7.2f} {median(starts, 'peak_mb'):>8.0f} "
        f"{median(starts, 'steady_mb'):>10.0f} {TARGET_RSS_MB:>7.0f}   "
        + " ".join(f"{s.seconds:.2f}" for s in starts)
    )


if __name__ == "__main__":
    main()
