"""What the pieces of a stream need from each other, below all of them.

The buffer makes readers and runs a producer over a source; readers and slices wait on
the buffer; a source finds (or makes) its buffer. Each side names only what it uses of
the other — a ``Feed`` is the buffer as its readers and slices see it, ``Positioned`` a
reader as its buffer counts it, ``SyncSource``/``AsyncSource`` the source protocol the
producer drives — so the imports point one way (sources → buffer → readers → slicing,
buffer → runner, all → here) and no module of the package imports one that imports it
back (``tests/architecture`` checks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from qfzz.streams._ring import IndexedBuffer

T = TypeVar("T")
R = TypeVar("R")

#: A buffer's life: ``idle`` → ``running`` → ``ended`` (exhausted), ``stopped`` or ``failed``.
State = Literal["idle", "running", "ended", "failed", "stopped"]


class Positioned(Protocol):
    """A reader as its buffer counts it for ``readers_behind``."""

    @property
    def position(self) -> int: ...


class Feed(Protocol[T]):
    """A ``StreamBuffer`` as its readers and slices use it: waiting, holding, failing."""

    @property
    def span(self) -> tuple[int, int]: ...
    @property
    def number_of_items_inserted(self) -> int: ...
    @property
    def info(self) -> dict[str, Any]: ...
    def wait_for(
        self,
        attempt: Callable[[IndexedBuffer[T], State], R | None],
        *,
        block: bool,
        timeout: float | None,
    ) -> R | None: ...
    async def await_for(
        self,
        attempt: Callable[[IndexedBuffer[T], State], R | None],
        *,
        block: bool,
        timeout: float | None,
    ) -> R | None: ...
    def raise_failure(self) -> None: ...
    def hold(self, reader: Positioned | None = None) -> None: ...
    def release(self, reader: Positioned | None = None) -> None: ...
    async def ahold(self, reader: Positioned | None = None) -> None: ...
    async def arelease(self, reader: Positioned | None = None) -> None: ...


class SyncSource(ABC, Generic[T]):
    """The blocking half of the source protocol (``SourceReader`` implements it)."""

    @abstractmethod
    def open(self) -> None:
        """Acquire the resource; called in the producer thread before the first read."""

    @abstractmethod
    def read(self) -> T | None:
        """The next item, blocking until it exists; ``None`` when exhausted."""

    @abstractmethod
    def close(self) -> None:
        """Release the resource; called once per open, in the producer thread."""


class AsyncSource(ABC, Generic[T]):
    """The awaiting half of the source protocol (``AsyncSourceReader`` implements it):
    the producer runs these as a task, and recognises them by this class."""

    @abstractmethod
    async def aopen(self) -> None:
        """Acquire the resource; called in the producer's event loop."""

    @abstractmethod
    async def aread(self) -> T | None:
        """The next item, awaiting until it exists; ``None`` when exhausted."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the resource; called once per open."""
