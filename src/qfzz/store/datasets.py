"""Imported catalog datasets: the dataset row and all its tracks in one transaction (with
the idempotency record of the request that imported them, when it carried a key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from qfzz.models import IdempotencyKey, QualityReport, TrackMeta
from qfzz.store._database import Database
from qfzz.store._schema import datasets
from qfzz.store.idempotency import IdempotencyRepository, KeyTaken, StoredAnswer
from qfzz.store.tracks import TrackRepository


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    dataset_id: int
    name: str
    license_id: str
    quality_score: float
    components: dict[str, float]
    track_count: int
    created_at: float


class DatasetRepository:
    def __init__(
        self, db: Database, tracks: TrackRepository, keys: IdempotencyRepository | None = None
    ) -> None:
        self._db = db
        self._tracks = tracks
        self._keys = keys if keys is not None else IdempotencyRepository(db)

    def create(
        self,
        name: str,
        report: QualityReport,
        metas: Sequence[TrackMeta],
        content_ids: Sequence[str],
        *,
        now: float,
        key: IdempotencyKey | None = None,
    ) -> tuple[DatasetRecord, list[int]]:
        """Store the dataset and add its tracks; a failure adds nothing at all.

        With an idempotency ``key`` its record (answer: the dataset and its track ids)
        commits in the same transaction; :class:`KeyTaken` if the key is stored already,
        and then nothing is stored.
        """
        with self._db.write() as conn:
            dataset_id = int(
                conn.execute(
                    datasets.insert()
                    .values(
                        name=name,
                        license_id=report.license_id,
                        quality_score=report.score,
                        components=report.components,
                        track_count=len(metas),
                        created_at=now,
                    )
                    .returning(datasets.c.id)
                ).scalar_one()
            )
            ids = self._tracks.insert_metadata_tracks(
                conn, metas, content_ids, dataset_id=dataset_id, now=now
            )
            record = DatasetRecord(
                dataset_id,
                name,
                report.license_id,
                report.score,
                dict(report.components),
                len(metas),
                now,
            )
            if key is not None:
                taken = self._keys.claim(conn, key, _answer(record, ids), now=now)
                if taken is not None:
                    raise KeyTaken(taken)  # rolls the dataset back
        return record, ids

    def keyed(self, key: IdempotencyKey) -> KeyedDatasets:
        """This repository with every ``create`` guarded by ``key`` (for the importer)."""
        return KeyedDatasets(self, key)

    @staticmethod
    def answered(record: StoredAnswer) -> tuple[DatasetRecord, list[int]]:
        """The dataset and track ids a stored answer (of a keyed ``create``) describes."""
        answer = record.answer
        dataset = DatasetRecord(
            int(answer["dataset_id"]),
            str(answer["name"]),
            str(answer["license_id"]),
            float(answer["quality_score"]),
            {str(k): float(v) for k, v in answer["components"].items()},
            int(answer["track_count"]),
            float(answer["created_at"]),
        )
        return dataset, [int(i) for i in answer["track_ids"]]

    def all(self) -> list[DatasetRecord]:
        with self._db.read() as conn:
            rows = conn.execute(select(datasets).order_by(datasets.c.id)).mappings().all()
        return [
            DatasetRecord(
                row["id"],
                row["name"],
                row["license_id"],
                row["quality_score"],
                dict(row["components"]),
                row["track_count"],
                row["created_at"],
            )
            for row in rows
        ]

    def count(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(datasets)).scalar_one())


@dataclass(frozen=True, slots=True)
class KeyedDatasets:
    """A ``DatasetRepository`` whose ``create`` carries one idempotency key."""

    datasets: DatasetRepository
    key: IdempotencyKey

    def create(
        self,
        name: str,
        report: QualityReport,
        metas: Sequence[TrackMeta],
        content_ids: Sequence[str],
        *,
        now: float,
    ) -> tuple[DatasetRecord, list[int]]:
        return self.datasets.create(name, report, metas, content_ids, now=now, key=self.key)


def _answer(record: DatasetRecord, track_ids: Sequence[int]) -> dict[str, Any]:
    return {
        "dataset_id": record.dataset_id,
        "name": record.name,
        "license_id": record.license_id,
        "quality_score": record.quality_score,
        "components": record.components,
        "track_count": record.track_count,
        "created_at": record.created_at,
        "track_ids": list(track_ids),
    }
