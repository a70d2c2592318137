"""Many concurrent HTTP listeners on one mount: QFZZ next to Icecast 2, in one run.

For N = 100, 500 and 1000 listeners (asyncio clients in a separate process) on one mount
at 128 kbps MP3 for 30 s, this prints the server's CPU seconds per listener-minute,
bytes delivered against the real-time expectation, underruns (a listener that received
less than real time over any 5 s window after its first second) and time to first audio
byte. Icecast 2 (Debian ``icecast2``), fed the same MP3 by ffmpeg, gets the same clients;
without ``icecast2`` installed that column is skipped. Both stations are on air before the
clients come: Icecast's source connects 5 s ahead, and QFZZ's mount has one listener from
5 s ahead (its encoder starts with its first listener), so neither run measures a cold
start. Also prints the time from a skip to
the next track's title arriving on a personal stream.

    python3 run.py bench listeners [--sizes 100,500,1000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import imageio_ffmpeg

from _server import http_ok, spawn

HERE = Path(__file__).resolve().parent
BYTES_PER_SECOND = 128_000 // 8
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def run_clients(
    port: int, path: str, n: int, seconds: float, server_pid: int, source_pid: int | None = None
) -> dict:
    """``source_pid``: a process that does the decoding and encoding for the server (Icecast's
    ffmpeg), counted apart so both the server alone and the whole station can be compared."""
    before = cpu_seconds(server_pid)
    source_before = cpu_seconds(source_pid) if source_pid else 0.0
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "_listen_clients.py"),
            "127.0.0.1",
            str(port),
            path,
            str(n),
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    used = cpu_seconds(server_pid) - before
    source_used = cpu_seconds(source_pid) - source_before if source_pid else 0.0
    out = json.loads(done.stdout)
    underruns = 0
    delivered = 0
    for buckets in out["buckets"]:
        series = [int(buckets.get(str(s), 0)) for s in range(int(seconds))]
        delivered += sum(series)
        for start in range(1, len(series) - 5):
            if sum(series[start : start + 5]) < 5 * BYTES_PER_SECOND * 0.97:
                underruns += 1
                break
    ttfb = [t for t in out["ttfb"] if t is not None]
    return {
        "cpu_per_listener_minute": used / (n * seconds / 60),
        "station_cpu_per_listener_minute": (used + source_used) / (n * seconds / 60),
        "delivered_ratio": delivered / (n * seconds * BYTES_PER_SECOND),
        "underruns": underruns,
        "errors": len(out["errors"]),
        "ttfb_p50_ms": statistics.median(ttfb) * 1e3 if ttfb else float("nan"),
        "ttfb_p99_ms": sorted(ttfb)[int(len(ttfb) * 0.99) - 1] * 1e3 if ttfb else float("nan"),
    }


def qfzz(tmp: Path, port: int) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``qfzz serve`` (with its demo library), stopped when the block ends however it ends."""
    env = {**os.environ, "QFZZ_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "qfzz", "serve", "--data-dir", str(tmp / "qfzz")]
    return spawn(
        [*command, "--port", str(port)],
        ready=http_ok(f"http://127.0.0.1:{port}/api/v1/health"),
        env=env,
        name="qfzz serve",
    )


@contextmanager
def icecast(
    tmp: Path, port: int, mp3: Path
) -> Iterator[tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """Icecast 2 and an ffmpeg source feeding it ``mp3`` in a loop, on air for 5 s."""
    conf = tmp / "icecast.xml"
    logdir = tmp / "icelog"
    logdir.mkdir()
    tmp.chmod(0o755)  # icecast2 drops root and runs as its own user: it must reach its logs
    logdir.chmod(0o777)
    conf.write_text(f"""<icecast>
  <limits><clients>5000</clients><sources>2</sources><queue-size>524288</queue-size>
    <burst-size>65535</burst-size></limits>
  <authentication><source-password>hackme</source-password>
    <admin-user>admin</admin-user><admin-password>hackme</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><loglevel>1</loglevel></logging>
  <security><chroot>0</chroot><changeowner><user>icecast2</user><group>icecast</group>
  </changeowner></security>
</icecast>""")
    feed = [
        *(imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-re", "-stream_loop", "-1"),
        *("-i", str(mp3), "-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"),
        *("-content_type", "audio/mpeg", "-f", "mp3"),
        f"icecast://source:hackme@127.0.0.1:{port}/main",
    ]
    ready = http_ok(f"http://127.0.0.1:{port}/", any_answer=True)
    with (
        spawn(["icecast2", "-c", str(conf)], ready=ready, name="icecast2") as server,
        spawn(feed, name="ffmpeg source") as feeder,
    ):
        time.sleep(5)
        yield server, feeder


class OnAir:
    """One listener that keeps a mount's encoder running while the clients come and go."""

    def __init__(self, port: int, path: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, args=(port, path), daemon=True)

    def _listen(self, port: int, path: str) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            while not self._stop.is_set() and sock.recv(65536):
                pass

    def __enter__(self) -> OnAir:
        self._thread.start()
        time.sleep(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def sign_in(port: int, user: str) -> tuple[dict[str, str], str]:
    """Register a listener; its bearer headers and a signed stream token."""
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(
        f"{base}/api/v1/listeners",
        json={"user_id": user, "password": "pw-1234", "preferences": {}},
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    stream = httpx.get(f"{base}/api/v1/auth/stream-token", headers=headers).json()["token"]
    return headers, stream


def skip_latency(port: int) -> float:
    base = f"http://127.0.0.1:{port}"
    headers_, stream = sign_in(port, "skipper")
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"GET /api/v1/listeners/skipper/stream?token={stream} HTTP/1.1\r\nHost: x\r\n"
        "Icy-MetaData: 1\r\nConnection: close\r\n\r\n".encode()
    )
    stream = sock.makefile("rb")
    stream.readline()  # status line
    headers = {}
    while line := stream.readline().strip():
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    metaint = int(headers["icy-metaint"])

    # the stream is chunked or, when the server sends neither length nor chunks, raw
    chunked = "chunked" in headers.get("transfer-encoding", "")
    body = _Dechunk(stream) if chunked else stream

    def next_title() -> str | None:
        body.read(metaint)
        length = body.read(1)[0] * 16
        return body.read(length).rstrip(b"\0").decode() if length else None

    first = None
    while first is None:
        first = next_title()
    time.sleep(2)
    started = time.monotonic()
    httpx.post(f"{base}/api/v1/listeners/skipper/skip", headers=headers_)
    try:
        while True:
            title = next_title()
            if title and title != first:
                return time.monotonic() - started
    finally:
        sock.close()


class _Dechunk:
    def __init__(self, stream):
        self._stream, self._left = stream, 0

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            if self._left == 0:
                self._left = int(self._stream.readline().strip(), 16)
            piece = self._stream.read(min(self._left, n - len(out)))
            out += piece
            self._left -= len(piece)
            if self._left == 0:
                self._stream.readline()
        return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--no-icecast", action="store_true", help="QFZZ only")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        port = free_port()
        results = {}
        with qfzz(tmp, port) as server:
            _, stream = sign_in(port, "bench")
            path = f"/stream/main?bitrate=128&token={stream}"
            with OnAir(port, path):
                for n in sizes:
                    results[("qfzz", n)] = run_clients(port, path, n, args.seconds, server.pid)
            skip = skip_latency(port)
        mp3 = next((tmp / "qfzz" / "demo-library").rglob("*.mp3"))
        if args.no_icecast:
            pass
        elif shutil.which("icecast2"):
            ice_port = free_port()
            with icecast(tmp, ice_port, mp3) as (ice, feeder):
                for n in sizes:
                    results[("icecast", n)] = run_clients(
                        ice_port, "/main", n, args.seconds, ice.pid, feeder.pid
                    )
        else:
            print("icecast2 is not installed (apt-get install icecast2): no side-by-side run")
    print(
        f"{'server':>8} {'N':>5} {'CPU s/listener-min':>19} {'delivered':>10} "
        f"{'underruns':>10} {'errors':>7} {'TTFB p50 ms':>12} {'p99 ms':>8}"
    )
    for (server_name, n), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(
            f"{server_name:>8} {n:>5} {r['cpu_per_listener_minute']:>19.4f} "
            f"{r['delivered_ratio']:>10.3f} {r['underruns']:>10} {r['errors']:>7} "
            f"{r['ttfb_p50_ms']:>12.1f} {r['ttfb_p99_ms']:>8.1f}"
        )
    for n in sizes:
        if ("icecast", n) in results:
            qfzz_cpu = results[("qfzz", n)]["cpu_per_listener_minute"]
            ice = results[("icecast", n)]
            ratio = qfzz_cpu / max(1e-9, ice["cpu_per_listener_minute"])
            whole = qfzz_cpu / max(1e-9, ice["station_cpu_per_listener_minute"])
            print(
                f"N={n}: QFZZ CPU per listener = {ratio:.2f}x Icecast's (target <= 2x); "
                f"{whole:.2f}x Icecast + its ffmpeg source, which decodes and encodes as "
                "QFZZ does in-process"
            )
    print(f"skip → next track's title on the wire (personal stream): {skip * 1e3:.0f} ms")
    print("targets: 1000 listeners with zero underruns; TTFB <= 200 ms")


if __name__ == "__main__":
    main()
