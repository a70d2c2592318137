"""Keep-alive HTTP/1.1 clients on raw asyncio sockets (a light load generator).

Usage: _api_clients.py HOST PORT SECONDS CONNECTIONS SPEC_JSON — SPEC is a list of
[name, method, path, body or null] cycled per connection; prints JSON latencies per name.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def client(host, port, deadline, spec, token, out, offset):
    reader, writer = await asyncio.open_connection(host, port)
    n = offset
    while time.monotonic() < deadline:
        name, method, path, body = spec[n % len(spec)]  # a client stays with one listener
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        started = time.perf_counter()
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


async def main(host, port, seconds, connections, spec, tokens):
    out: dict = {}
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(
            client(host, port, deadline, spec, tokens[i % len(tokens)], out, i)
            for i in range(connections)
        )
    )
    print(json.dumps(out))


if __name__ == "__main__":
    host, port, seconds, connections = (
        sys.argv[1],
        int(sys.argv[2]),
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    spec, tokens = json.loads(sys.argv[5]), json.loads(sys.argv[6])
    asyncio.run(main(host, port, seconds, connections, spec, tokens))
