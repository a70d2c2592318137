"""Imported catalog datasets: the dataset row and all its tracks in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from qfzz.models import QualityReport, TrackMeta
from qfzz.store._database import Database
from qfzz.store._schema import datasets
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
    def __init__(self, db: Database, tracks: TrackRepository) -> None:
        self._db = db
        self._tracks = tracks

    def create(
        self,
        name: str,
        report: QualityReport,
        metas: Sequence[TrackMeta],
        content_ids: Sequence[str],
        *,
        now: float,
    ) -> tuple[DatasetRecord, list[int]]:
        """Store the dataset and add its tracks; a failure adds nothing at all."""
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
        return record, ids

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
