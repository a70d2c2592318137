"""The real-process side of the overlay's two seams: asyncio time and HTTP between nodes.

``AsyncioScheduler`` gives ``SwimNode`` the event loop's clock and ``call_later``;
``PeerClient`` carries handshakes (awaited, answer read with a hard size cap) and SWIM
messages (fire and forget, as UDP would be: a lost or refused message is a lost message,
which the protocol already tolerates). Nothing here waits on a peer inside a listener's
request: every send runs as its own task with a timeout, and the number in flight is
bounded so a slow or dead peer cannot pile up tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import blake3
import httpx

from qfzz.errors import QfzzError
from qfzz.network import MAX_ANSWER_BYTES, Handle

log = logging.getLogger("qfzz.overlay")

HANDSHAKE_PATH = "/api/v1/network.handshake"
SWIM_PATH = "/api/v1/network.swim"
MAX_IN_FLIGHT = 256


class PeerUnavailable(QfzzError):
    """A peer did not answer, or answered with an error (its body says why)."""

    code = "peer_unavailable"


class AsyncioScheduler:
    """The ``Scheduler`` seam on a running asyncio loop (monotonic loop time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        return self._loop.call_later(delay, callback)


class PeerClient:
    """HTTP to other nodes: one pooled client, bounded answers, bounded concurrency."""

    def __init__(
        self,
        *,
        verify: bool | str = True,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._verify = verify
        self._timeout = timeout
        self._transport = transport  # httpx's seam: tests route requests in process
        self._http: httpx.AsyncClient | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def _client(self) -> httpx.AsyncClient:
        """Made on first use, on the loop that uses it (a node that never talks to a peer
        opens nothing)."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                verify=self._verify,
                transport=self._transport,
                timeout=httpx.Timeout(self._timeout),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                follow_redirects=False,
                headers={"content-type": "application/json"},
            )
        return self._http

    async def handshake(self, base_url: str, body: bytes) -> bytes:
        """POSTs a handshake and returns the answer's bytes; raises ``PeerUnavailable``."""
        url = base_url.rstrip("/") + HANDSHAKE_PATH
        try:
            async with self._client.stream("POST", url, content=body) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise PeerUnavailable(f"{base_url} answered more than {MAX_ANSWER_BYTES} B")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{base_url}: {type(exc).__name__}: {exc}") from None
        raw = b"".join(chunks)
        if response.status_code != 200:
            raise PeerUnavailable(f"{base_url} refused: {response.status_code} {raw[:300]!r}")
        return raw

    async def post(self, base_url: str, path: str, body: bytes) -> None:
        """POSTs ``body`` and waits for a 2xx; raises ``PeerUnavailable`` otherwise."""
        try:
            response = await self._client.post(base_url.rstrip("/") + path, content=body)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{base_url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise PeerUnavailable(
                f"{base_url} refused: {response.status_code} {response.text[:300]}"
            )

    async def download(self, base_url: str, path: str, dest: Path, *, max_bytes: int) -> str:
        """Streams a GET into ``dest`` (at most ``max_bytes``) and returns the blake3 hex of
        what was written: a blob is hashed as it arrives, never held whole in memory."""
        url = base_url.rstrip("/") + path
        digest = blake3.blake3()
        size = 0
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise PeerUnavailable(f"{base_url} answered {response.status_code}")
                with open(dest, "wb") as out:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise PeerUnavailable(f"{base_url} sent more than {max_bytes} B")
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{base_url}: {type(exc).__name__}: {exc}") from None
        return digest.hexdigest()

    def send(self, base_url: str, body: bytes) -> None:
        """Sends one SWIM message without waiting; dropped when too many are in flight."""
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            return  # lost, as a datagram would be: the protocol tolerates it
        task = asyncio.get_running_loop().create_task(self._post(base_url, body))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _post(self, base_url: str, body: bytes) -> None:
        try:
            response = await self._client.post(base_url.rstrip("/") + SWIM_PATH, content=body)
            if response.status_code >= 400:
                log.debug("swim message refused by %s: %s", base_url, response.text[:200])
        except httpx.HTTPError as exc:
            log.debug("swim message to %s lost: %s", base_url, exc)

    async def drain(self, timeout: float) -> None:
        """Lets messages already sent (a leave) go out, for at most ``timeout`` seconds."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=timeout)

    async def close(self) -> None:
        for task in list(self._in_flight):
            task.cancel()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
