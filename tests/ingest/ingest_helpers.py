"""Helpers of the upload tests: a finish handler that records, and the live server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qfzz.ingest import Upload, UploadStore
from qfzz.station import QFZZStation
from qfzz.testing import FakeClock

MIB = 1024 * 1024


@dataclass
class Finished:
    """A finish handler that remembers each call and the bytes it was handed."""

    calls: list[tuple[str, bytes]] = field(default_factory=list)

    def of(self, upload_id: str) -> list[bytes]:
        return [data for called, data in self.calls if called == upload_id]

    def __call__(self, upload: Upload, data: Path) -> None:
        self.calls.append((upload.upload_id, data.read_bytes()))


@dataclass
class Server:
    url: str
    station: QFZZStation
    store: UploadStore
    clock: FakeClock
    finished: Finished

    @property
    def uploads(self) -> str:
        return f"{self.url}/api/v1/upload/"

    def sign_in(self, user_id: str = "ann") -> dict[str, str]:
        if self.station.listener(user_id) is None:
            self.station.register_listener(user_id, {}, password="pw-1234")
        return {"Authorization": f"Bearer {self.station.accounts.issue_token(user_id)}"}
