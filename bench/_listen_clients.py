"""N asyncio HTTP listeners in one process; prints a JSON summary (used by listeners.py)."""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def listen(host: str, port: int, path: str, seconds: float, out: dict) -> None:
    started = time.monotonic()
    buckets: dict[int, int] = {}
    first = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        while (await reader.readline()).strip():
            pass  # headers
        while (elapsed := time.monotonic() - started) < seconds:
            data = await asyncio.wait_for(reader.read(65536), 10)
            if not data:
                break
            now = time.monotonic()
            if first is None:
                first = now - started
            second = int(now - started)
            buckets[second] = buckets.get(second, 0) + len(data)
        del elapsed
        writer.close()
    except (TimeoutError, OSError) as exc:
        out["errors"].append(repr(exc))
    out["ttfb"].append(first)
    out["buckets"].append(buckets)


async def main(host: str, port: int, path: str, n: int, seconds: float) -> None:
    out: dict = {"ttfb": [], "buckets": [], "errors": []}
    tasks = []
    for _ in range(n):
        tasks.append(asyncio.create_task(listen(host, port, path, seconds, out)))
        await asyncio.sleep(0.002)  # a realistic ramp, not one SYN flood
    await asyncio.gather(*tasks)
    print(json.dumps(out))


if __name__ == "__main__":
    h, p, path, n, s = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        int(sys.argv[4]),
        float(sys.argv[5]),
    )
    asyncio.run(main(h, p, path, n, s))
