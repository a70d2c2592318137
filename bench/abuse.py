"""Hostile load: does one attacker cost the station memory, or its health endpoint time?

A real server (``qfzz serve`` in its own process, a six-track tone library) is attacked
scenario by scenario while a separate process asks ``GET /api/v1/health`` every 10 ms on a
keep-alive connection. For each scenario it prints the server's resident memory before,
its peak during the attack (the kernel's high-water mark, reset before each scenario),
and the health latencies served meanwhile:

* ``idle``: nothing but the probe (the reference);
* ``2 MB sign-up``: 20 registration bodies of a million wrong-typed genres (the probe that
  took 1.5 GB), four at a time;
* ``50 MB sign-up``: three such bodies of 50 MB (the probe that got the server killed);
* ``50 MB chunked``: the same without a Content-Length (counted as it arrives);
* ``500 silent listeners``: 500 connections to the shared stream that never read a byte;
* ``wrong logins``: 1,000 logins a second with wrong passwords for rotating user ids,
  from one address, then from a new address each time (the bench acting as a trusted
  reverse proxy that passes X-Forwarded-For on), so per-address limits do not apply.

Targets (issue 11): RSS growth <= 100 MB and health p99 <= 50 ms in every scenario.
With ``--against REV`` the same attacks also run against that git revision of QFZZ (e.g.
the commit before the fix), side by side; that server runs under a 6 GB address-space
limit so an unprotected one fails instead of taking the machine with it.

    python3 run.py bench abuse [--against REV] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from _server import http_ok, spawn
from qfzz.testing import free_port, write_tone_library

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MB = 1 << 20


@dataclass
class Server:
    """``qfzz serve`` in its own process; ``src`` picks which QFZZ source tree runs."""

    data: Path
    library: Path
    src: Path
    memory_cap: int | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def running(self) -> Iterator[None]:
        """The server from healthy to stopped (its process group killed however the block
        ends: an exception, a failed start, Ctrl-C)."""
        env = {
            **os.environ,
            "QFZZ_LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(self.src),
            # Sign-up bodies are the attack here, so the per-address sign-up limit (which
            # would refuse them unread after 20) is lifted; login limits stay as shipped.
            "QFZZ_REGISTRATIONS_PER_HOUR": "1000000",
            # The bench itself plays the reverse proxy for the rotating-address logins.
            "QFZZ_TRUSTED_PROXIES": "127.0.0.1",
        }
        cap = self.memory_cap

        def limit() -> None:
            if cap is not None:
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        command = [
            *(sys.executable, "-m", "qfzz", "serve", "--data-dir", str(self.data)),
            *("--library", str(self.library), "--port", str(self.port)),
        ]
        with spawn(
            command,
            ready=http_ok(f"{self.url}/api/v1/health"),
            env=env,
            name=f"qfzz serve ({self.src})",
            preexec_fn=limit,
            stop_timeout=20,
        ) as process:
            self.process = process
            yield

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_mb(self, field_name: str = "VmRSS") -> float:
        assert self.process is not None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
        return float("nan")

    def reset_peak(self) -> bool:
        """Reset the kernel's peak-RSS mark (``VmHWM``); False where that is not allowed."""
        assert self.process is not None
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False


@dataclass
class Outcome:
    name: str
    sent: int
    answers: dict[str, int]
    rss_before: float
    rss_peak: float
    health: list[float]
    alive: bool

    @property
    def growth(self) -> float:
        return self.rss_peak - self.rss_before

    def percentile(self, q: float) -> float:
        ordered = sorted(self.health)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3

    @property
    def failures(self) -> int:
        return sum(1 for t in self.health if t >= 5.0)


# -- attacks -------------------------------------------------------------------------------


def post_raw(port: int, path: str, head_extra: str, body: bytes, *, chunked: bool = False) -> str:
    """Send one request on a raw socket; the status line's code, or what went wrong."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    except OSError as exc:
        return type(exc).__name__
    with sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"{head_extra}{framing}\r\n\r\n"
        )
        try:
            sock.sendall(head.encode())
            step = 1 << 20
            for start in range(0, len(body), step):
                piece = body[start : start + step]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before taking it all: read the answer
        try:
            line = sock.makefile("rb").readline()
        except OSError as exc:
            return type(exc).__name__
    return line.split(b" ")[1].decode() if line.startswith(b"HTTP/") else "closed"


def sign_up_flood(port: int, size: int, count: int, parallel: int, chunked: bool) -> dict:
    """``count`` sign-ups of about ``size`` bytes: genres of wrong-typed items."""
    items = max(1, (size - 100) // 2)
    body = (
        b'{"user_id": "mallory", "password": "pw-12345", "preferences": {"genres": ['
        + b",".join([b"1"] * items)
        + b"]}}"
    )
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(n):
            code = post_raw(port, "/api/v1/listeners", "", body, chunked=chunked)
            with lock:
                answers[code] = answers.get(code, 0) + 1

    threads = [threading.Thread(target=worker, args=(count // parallel,)) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def silent_listeners(port: int, token: str, count: int, hold: float) -> dict:
    """``count`` stream connections that send their request and never read."""
    sockets: list[socket.socket] = []
    answers = {"connected": 0}
    for _ in range(count):
        try:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(f"GET /stream/main?token={token} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sockets.append(sock)
            answers["connected"] += 1
        except OSError as exc:
            answers[type(exc).__name__] = answers.get(type(exc).__name__, 0) + 1
    time.sleep(hold)
    for sock in sockets:
        sock.close()
    return answers


def wrong_logins(
    port: int, rate: float, seconds: float, *, rotate_addresses: bool, connections: int = 40
) -> dict:
    """Open-loop: ``rate`` logins a second with wrong passwords, a new user id each time
    (and, through the trusted proxy, a new client address each time, if asked)."""
    answers: dict[str, int] = {}
    period = connections / rate

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        start = time.monotonic()
        n = 0
        while (due := start + n * period + index * period / connections) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            body = json.dumps({"user_id": f"guess{index}x{n}", "password": "wrong-pw"}).encode()
            forwarded = b""
            if rotate_addresses:
                forwarded = b"X-Forwarded-For: 10.%d.%d.%d\r\n" % (index, n // 250 % 250, n % 250)
            writer.write(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\n%sContent-Length: %d\r\n\r\n%s" % (forwarded, len(body), body)
            )
            status = (await reader.readline()).split(b" ")[1].decode()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            answers[status] = answers.get(status, 0) + 1
            n += 1
        writer.close()

    async def all_connections() -> None:
        await asyncio.gather(*(connection(i) for i in range(connections)))

    asyncio.run(all_connections())
    return answers


# -- running a scenario ----------------------------------------------------------------


def scenario(
    server: Server, name: str, attack: Callable[[], dict], probe_seconds: float
) -> Outcome:
    before = server.rss_mb()
    exact_peak = server.reset_peak()
    sampled = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set() and server.alive():
            sampled.append(server.rss_mb())
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    probe = subprocess.Popen(
        [
            *(sys.executable, str(HERE / "_health_probe.py"), "127.0.0.1", str(server.port)),
            *(str(probe_seconds), "0.01"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.3)  # the probe is connected before the attack starts
        answers = attack()
        out, _ = probe.communicate(timeout=probe_seconds + 60)
    finally:
        if probe.poll() is None:  # the attack failed: the probe must not outlive it
            probe.kill()
            probe.wait()
    stop.set()
    sampler.join()
    peak = server.rss_mb("VmHWM") if exact_peak and server.alive() else max(sampled)
    return Outcome(
        name,
        sum(answers.values()),
        answers,
        before,
        max(peak, max(sampled)),
        json.loads(out),
        server.alive(),
    )


def run_all(server: Server, seconds: float) -> list[Outcome]:
    with server.running():
        registered = httpx.post(
            f"{server.url}/api/v1/listeners", json={"user_id": "probe", "password": "pw-12345"}
        ).json()
        token = httpx.get(
            f"{server.url}/api/v1/auth/stream-token",
            headers={"Authorization": f"Bearer {registered['token']}"},
        ).json()["token"]
        port = server.port
        plan: list[tuple[str, Callable[[], dict]]] = [
            ("idle", lambda: (time.sleep(seconds - 1), {})[1]),
            ("2 MB sign-up", lambda: sign_up_flood(port, 2 * MB, 20, 4, False)),
            ("50 MB sign-up", lambda: sign_up_flood(port, 50 * MB, 3, 1, False)),
            ("50 MB chunked", lambda: sign_up_flood(port, 50 * MB, 3, 1, True)),
            ("500 silent listeners", lambda: silent_listeners(port, token, 500, seconds - 2)),
            (
                "wrong logins 1,000/s",
                lambda: wrong_logins(port, 1000, seconds - 1, rotate_addresses=False),
            ),
            (
                "… from 1,000 addresses/s",
                lambda: wrong_logins(port, 1000, seconds - 1, rotate_addresses=True),
            ),
        ]
        outcomes = []
        for name, attack in plan:
            if not server.alive():
                outcomes.append(Outcome(name, 0, {"server dead": 1}, 0, 0, [], False))
                continue
            outcomes.append(scenario(server, name, attack, seconds))
            print(f"  … {name} done", file=sys.stderr, flush=True)
        return outcomes


def table(label: str, outcomes: list[Outcome], seconds: float) -> None:
    print(f"\n{label}")
    print(
        f"{'scenario':<22} {'answers':<28} {'RSS MB':>7} {'peak':>7} {'growth':>7} "
        f"{'health p50':>10} {'p99':>7} {'max':>7} {'fail':>5}"
    )
    for o in outcomes:
        answers = ", ".join(f"{k}×{v}" for k, v in sorted(o.answers.items())) or "-"
        if not o.alive:
            answers = (answers + " SERVER DIED")[:40]
        print(
            f"{o.name:<22} {answers[:28]:<28} {o.rss_before:>7.0f} {o.rss_peak:>7.0f} "
            f"{o.growth:>7.0f} {o.percentile(0.5):>10.2f} {o.percentile(0.99):>7.2f} "
            f"{max(o.health, default=float('nan')) * 1e3:>7.1f} {o.failures:>5}"
        )


def verdict(outcomes: list[Outcome]) -> None:
    growth = max(o.growth for o in outcomes)
    p99 = max(o.percentile(0.99) for o in outcomes)
    alive = all(o.alive for o in outcomes)
    print(
        f"\nworst: RSS growth {growth:.0f} MB (target <= 100: "
        f"{'met' if growth <= 100 else 'MISSED'}), health p99 {p99:.1f} ms (target <= 50: "
        f"{'met' if p99 <= 50 else 'MISSED'}), server {'alive' if alive else 'DIED'}"
    )


def checkout(rev: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(into), rev],
        check=True,
        capture_output=True,
    )
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--against", metavar="REV", help="also attack this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        library = write_tone_library(root / "library", tracks=6, seconds=8.0)
        current = Server(root / "data", library, ROOT / "src")
        results = [("QFZZ (this tree)", run_all(current, args.seconds))]
        if args.against:
            try:
                src = checkout(args.against, root / "baseline")
                old = Server(root / "data-old", library, src, memory_cap=6 << 30)
                results.append((f"QFZZ at {args.against}", run_all(old, args.seconds)))
            finally:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT),
                        "worktree",
                        "remove",
                        "--force",
                        str(root / "baseline"),
                    ],
                    capture_output=True,
                )
        for label, outcomes in results:
            table(label, outcomes, args.seconds)
        verdict(results[0][1])


if __name__ == "__main__":
    main()
