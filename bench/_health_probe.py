"""Times GET /api/v1/health on one keep-alive connection, every INTERVAL seconds.

Usage: _health_probe.py HOST PORT SECONDS INTERVAL — prints a JSON list of latencies in
seconds (a request that failed or took over 5 s counts as 5 s). It runs in its own
process so the attack generator's work never delays the probe's own clock.
"""

from __future__ import annotations

import json
import socket
import sys
import time

TIMEOUT = 5.0


def connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def ask(sock: socket.socket, host: str) -> None:
    sock.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        body += chunk


def main() -> None:
    host, port, seconds, interval = (
        sys.argv[1],
        int(sys.argv[2]),
        float(sys.argv[3]),
        float(sys.argv[4]),
    )
    latencies: list[float] = []
    sock: socket.socket | None = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            if sock is None:
                sock = connect(host, port)
            ask(sock, host)
            latencies.append(time.perf_counter() - started)
        except OSError:
            latencies.append(TIMEOUT)
            if sock is not None:
                sock.close()
            sock = None
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    print(json.dumps(latencies))


if __name__ == "__main__":
    main()
