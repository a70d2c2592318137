"""Dataset import: license check, quality score, then all tracks in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

import blake3

from qfzz.catalog.dataset_file import check_text, records_to_meta
from qfzz.catalog.quality import evaluate_dataset
from qfzz.errors import InvalidDataset
from qfzz.models import QualityReport, TrackMeta


class DatasetStore(Protocol):
    def create(
        self,
        name: str,
        report: QualityReport,
        metas: Sequence[TrackMeta],
        content_ids: Sequence[str],
        *,
        now: float,
    ) -> tuple[Any, list[int]]: ...


def content_id_of_record(record: Mapping[str, object]) -> str:
    """blake3 of the record's canonical JSON, so the same record has the same id anywhere."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return blake3.blake3(canonical.encode()).hexdigest()


class DatasetImporter:
    def __init__(
        self,
        store: DatasetStore,
        *,
        allowed_licenses: Collection[str],
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._allowed = allowed_licenses
        self._clock = clock

    def import_records(
        self,
        name: str,
        records: Sequence[Mapping[str, object]],
        license_id: str,
        *,
        min_quality: float = 0.0,
    ) -> tuple[Any, list[int], QualityReport]:
        """Validate, score and store a dataset; raises before storing anything on failure."""
        if not name.strip():
            raise InvalidDataset("a dataset needs a name")
        check_text("the dataset name", name)
        records = [_normalise_keys(i, r) for i, r in enumerate(records, start=1)]  # from 1
        for index, record in enumerate(records, start=1):
            check_text(f"record {index}", record)  # before anything reaches the store
        report = evaluate_dataset(
            records, license_id, allowed=self._allowed, min_quality=min_quality
        )
        if not records:
            raise InvalidDataset("the dataset has no tracks")
        metas = records_to_meta(records)
        content_ids = [content_id_of_record(r) for r in records]
        record, ids = self._store.create(
            name.strip(), report, metas, content_ids, now=self._clock()
        )
        return record, ids, report


def _normalise_keys(index: int, record: Mapping[str, object]) -> dict[str, object]:
    """Field names as a file import sees them: stripped and lower-cased, never ambiguous."""
    if not isinstance(record, Mapping):
        raise InvalidDataset(f"track {index} is not an object")
    result: dict[str, object] = {}
    for key, value in record.items():
        name = str(key).strip().lower()
        if not name or name in result:
            raise InvalidDataset(f"track {index}: blank or repeated field name {key!r}")
        result[name] = value
    return result
