"""Keep-alive HTTP/1.1 clients on raw asyncio sockets (a light load generator).

Usage: _api_clients.py HOST PORT SECONDS CONNECTIONS PLAN_FILE — PLAN_FILE is JSON:
``{"requests": [[name, method, path, body or null, token index], ...], "tokens": [...],
"stride": S}``. Connection ``i`` sends requests ``i, i + S, i + 2S, …`` (modulo their
number) with the bearer token each names: ``S = CONNECTIONS`` spreads distinct requests
over the connections without repeats until all were sent (search queries), ``S = 1`` has
every connection rotate through all of them (all listeners' playlists). Prints JSON:
latencies and statuses per name, and how many requests were sent in all.

With ``"rate": R`` in the plan the load is paced (open loop): connection ``i`` of ``C``
sends at its own times ``start + (k + i / C) · C / R``, and a latency is counted from the
time a request was due, not from when a late connection got round to it — so a server
that falls behind shows it in the percentiles instead of being asked less (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def client(host, port, deadline, plan, out, first, connections):
    requests, tokens, stride = plan["requests"], plan["tokens"], plan["stride"]
    rate = plan.get("rate")
    interval = connections / rate if rate else 0.0
    due = time.perf_counter() + interval * first / connections
    reader, writer = await asyncio.open_connection(host, port)
    n = first
    while time.monotonic() < deadline:
        name, method, path, body, token = requests[n % len(requests)]
        n += stride
        if rate:
            ahead = due - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {tokens[token]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        started = due if rate else time.perf_counter()
        due += interval
        writer.write(head.encode() + data)
        status_line = await reader.readline()
        if not status_line:  # the server closed the connection: count it and reconnect
            out.setdefault(name, []).append((time.perf_counter() - started, 599))
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        status = int(status_line.split()[1])
        length = 0
        chunked = False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            if key.lower() == "content-length":
                length = int(value)
            elif key.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            while size := int((await reader.readline()).strip(), 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        out.setdefault(name, []).append((time.perf_counter() - started, status))
    writer.close()


async def main(host, port, seconds, connections, plan):
    out: dict = {}
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(client(host, port, deadline, plan, out, i, connections) for i in range(connections))
    )
    print(json.dumps(out))


if __name__ == "__main__":
    host, port, seconds, connections = (
        sys.argv[1],
        int(sys.argv[2]),
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    with open(sys.argv[5]) as file:
        plan = json.load(file)
    asyncio.run(main(host, port, seconds, connections, plan))
