"""Processes a bench starts (servers, feeders) whose lifetime is bounded by the bench's own.

Every bench that starts ``qfzz serve``, Icecast, ffmpeg or Redis goes through ``spawn``, so
two things hold everywhere:

* it waits for a ready server however long the first start takes (a loaded 2-core machine
  can take minutes to build an index), for as long as the process is alive; a server that
  exits while starting fails the bench at once, with the tail of its log;
* the process is stopped whatever happens: an exception, a failed start or Ctrl-C. It runs
  in a session of its own (so Ctrl-C at the terminal reaches only the bench, which then
  stops it), and its whole process group is killed at the end, so children it started
  (encoders, a model fit) do not outlive it either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import httpx

REPORT_EVERY = 30.0  # seconds between "still waiting" lines, so a slow start is visible


def http_ok(url: str, *, any_answer: bool = False) -> Callable[[], bool]:
    """Ready when ``url`` answers 200, or anything at all with ``any_answer`` (for servers
    whose front page may be missing); a refused or slow (> 2 s) connection is 'not yet'."""

    def ready() -> bool:
        try:
            status = httpx.get(url, timeout=2).status_code
        except httpx.HTTPError:
            return False
        return any_answer or status == 200

    return ready


@contextmanager
def spawn(
    command: Sequence[str],
    *,
    ready: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
    name: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
    stop_timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait until ``ready()`` (if given), yield the process, stop it.

    Stopping is SIGTERM to the process (a clean shutdown), then, after ``stop_timeout`` or
    at once if it had already exited, SIGKILL to its whole process group."""
    label = name or Path(command[0]).name
    with tempfile.TemporaryFile() as log:  # a pipe nobody reads could fill and stall it
        process = subprocess.Popen(
            list(command),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
        try:
            if ready is not None:
                _wait_ready(process, ready, label, log)
            yield process
        finally:
            _stop(process, stop_timeout)


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it exited meanwhile
            continue
        if int(fields[2]) == pgid:  # fields[2] is the process group (field 5 of stat)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wait_quiet(pid: int, *, busy: float = 0.05, window: float = 1.0, limit: float = 300.0) -> float:
    """Wait until a server started by ``spawn`` (its own process group) has finished its
    start-up work — a first model fit in a child, a columns file written in a thread —
    i.e. its group used under ``busy`` of a core over ``window`` seconds; the seconds
    waited. A benchmark that times requests meanwhile measures that work, not the server.
    """
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = group_cpu_seconds(pid)
        time.sleep(window)
        if group_cpu_seconds(pid) - before < busy * window:
            break
    return time.monotonic() - started


def _wait_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], label: str, log: IO[bytes]
) -> None:
    started = time.monotonic()
    reported = started
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(
                f"{label} exited with status {process.returncode} while starting:\n{_tail(log)}"
            )
        now = time.monotonic()
        if now - reported >= REPORT_EVERY:
            print(
                f"… still waiting for {label} to be ready ({now - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
            reported = now
        time.sleep(0.2)


def _tail(log: IO[bytes], size: int = 3000) -> str:
    try:
        log.seek(0)
        return log.read().decode(errors="replace")[-size:]
    except (OSError, ValueError):
        return ""


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    # whatever is left of its group: the server if it hung, its children in any case
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
