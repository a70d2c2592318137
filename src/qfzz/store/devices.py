"""Registered listening devices (their last known network, battery and preferences)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from qfzz.store._database import Database
from qfzz.store._schema import devices
from qfzz.store._upsert import upsert


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    device_id: str
    user_id: str | None
    config: dict[str, Any]
    preferences: dict[str, Any]
    updated_at: float


class DeviceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, record: DeviceRecord) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                devices,
                [
                    {
                        "device_id": record.device_id,
                        "user_id": record.user_id,
                        "config": record.config,
                        "preferences": record.preferences,
                        "updated_at": record.updated_at,
                    }
                ],
                keys=["device_id"],
                update=["user_id", "config", "preferences", "updated_at"],
            )

    def all(self) -> list[DeviceRecord]:
        with self._db.read() as conn:
            rows = conn.execute(select(devices).order_by(devices.c.updated_at)).mappings()
            return [
                DeviceRecord(
                    r["device_id"],
                    r["user_id"],
                    dict(r["config"]),
                    dict(r["preferences"]),
                    r["updated_at"],
                )
                for r in rows
            ]
