"""REST API under load: playlist (from cache), search and interaction routes.

The server runs in its own process on SQLite (a 10k-track synthetic catalog); a separate
process runs 100 keep-alive clients for 30 s per route. Prints requests/s and p50/p99 per
route. Targets on 2 cores: >= 2,000 playlist requests/s from the cache with p99 <= 50 ms;
>= 1,000 interactions/s acknowledged durably (each 201 means committed).

    python3 run.py bench api [--seconds 30] [--clients 100]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _catalog import fill
from qfzz.settings import Settings
from qfzz.store import open_store

HERE = Path(__file__).resolve().parent
USERS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(port: int, seconds: float, clients: int, spec: list, tokens: list[str]) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "_api_clients.py"),
            "127.0.0.1",
            str(port),
            str(seconds),
            str(clients),
            json.dumps(spec),
            json.dumps(tokens),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the client process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


WRK_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = '{"track_id": ' .. math.random(1, 10000) .. ', "type": "play"}'
  return wrk.format(nil, nil, nil, body)
end
"""


def run_wrk(url: str, seconds: float, clients: int, token: str, post: bool) -> str:
    """wrk (C, from Debian's package) as the load generator: it leaves the CPU to the server."""
    args = [
        "wrk",
        "-t2",
        f"-c{clients}",
        f"-d{int(seconds)}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_POST)
    if post:
        args += ["-s", script.name]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
    os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", done.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)

    def ms(m: re.Match[str] | None) -> float:
        if m is None:
            return float("nan")
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
        return float(m.group(1)) * scale

    return (
        f"{float(rate.group(1)) if rate else 0:>10,.0f} {ms(p50):>9.2f} {ms(p99):>9.2f} "
        f"{'non-2xx ' + errors.group(1) if errors else 'all 2xx':>8}"
    )


def report(name: str, samples: list, seconds: float) -> None:
    latencies = sorted(t for t, _ in samples)
    ok = sum(1 for _, status in samples if status < 400)
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1e3  # noqa: E731
    print(
        f"{name:<14} {len(samples) / seconds:>10,.0f} {p(0.5):>9.2f} {p(0.99):>9.2f} "
        f"{ok / max(1, len(samples)):>8.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store = open_store(Settings(data_dir=data).resolved_database_url)
        fill(store, 10_000)
        store.close()
        port = free_port()
        env = {
            **os.environ,
            "QFZZ_LOG_LEVEL": "WARNING",
            # the bench signs up its clients from one address as fast as it can
            "QFZZ_REGISTRATIONS_PER_HOUR": "1000",
            "QFZZ_PASSWORD_CHECKS_PER_SECOND": "1000",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qfzz",
                "serve",
                "--data-dir",
                str(data),
                "--no-demo",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(f"{base}/api/v1/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            tokens, users = [], []
            for n in range(USERS):
                created = httpx.post(
                    f"{base}/api/v1/listeners",
                    json={
                        "user_id": f"u{n}",
                        "password": "pw-1234",
                        "preferences": {"genres": ["jazz", "rock"][n % 2 : n % 2 + 1]},
                    },
                )
                if created.status_code != 201:
                    raise SystemExit(f"sign-up of u{n}: {created.status_code} {created.text}")
                tokens.append(created.json()["token"])
                users.append(f"u{n}")
            # one connection per user, so each client reads and writes its own listener
            playlist = [["playlist", "GET", f"/api/v1/listeners/{u}/playlist", None] for u in users]
            search = [
                ["search", "GET", f"/api/v1/tracks?q=track%20{n}&limit=20", None]
                for n in range(100)
            ]
            interact = [
                [
                    "interaction",
                    "POST",
                    f"/api/v1/listeners/{u}/interactions",
                    {"track_id": 1 + (n * 37) % 10_000, "type": "play"},
                ]
                for n, u in enumerate(users)
            ]
            print(f"{'route':<14} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'ok':>8}")
            if shutil.which("wrk"):
                user, token = users[0], tokens[0]
                for name, path, post in (
                    ("playlist", f"/api/v1/listeners/{user}/playlist", False),
                    ("search", "/api/v1/tracks?q=track%201&limit=20", False),
                    ("interaction", f"/api/v1/listeners/{user}/interactions", True),
                ):
                    line = run_wrk(f"{base}{path}", args.seconds, args.clients, token, post)
                    print(f"{name:<14} {line}   (wrk)", flush=True)
                return
            print("wrk not installed (apt-get install wrk): using Python clients")
            for name, spec in (
                ("playlist", playlist),
                ("search", search),
                ("interaction", interact),
            ):
                per_user = [spec[i % len(spec)] for i in range(len(spec))]
                out = run(port, args.seconds, args.clients, per_user, tokens)
                report(name, out.get(name, []), args.seconds)
        finally:
            server.terminate()
            server.wait(30)
    print(
        "targets: playlist >= 2,000 req/s from cache with p99 <= 50 ms; "
        "interactions >= 1,000/s durable"
    )


if __name__ == "__main__":
    main()
