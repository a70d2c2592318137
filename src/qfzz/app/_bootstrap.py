"""First-start library set-up: scan the configured folders, or make and scan a demo."""

from __future__ import annotations

import logging
from collections.abc import Callable

from qfzz.catalog.demo import generate_demo_library
from qfzz.catalog.scanner import ScanReport
from qfzz.settings import Settings
from qfzz.station import QFZZStation

log = logging.getLogger(__name__)

Progress = Callable[[str], Callable[[int, int, str], None]]


def prepare_library(
    station: QFZZStation, settings: Settings, progress: Progress | None = None
) -> list[ScanReport]:
    """Scan each library folder; with none configured, create the demo library first.

    Scans are incremental, so a restart costs a ``stat`` per file. A FIFO or device in a
    folder is skipped (never opened for reading) and every file's reading has a deadline,
    so no file can hold up the start.
    """
    folders = list(settings.library)
    if not folders and settings.demo_library:
        demo = settings.demo_library_dir
        on_progress = None
        if progress is not None:
            step = progress("creating demo library")

            def on_progress(done: int, total: int) -> None:
                step(done, total, "")

        generate_demo_library(demo, on_progress=on_progress)
        folders = [demo]
    reports = []
    for folder in folders:
        report = station.scan(folder, progress(f"scanning {folder}") if progress else None)
        log.info(
            "scanned %s: %d added, %d updated, %d removed, %d unreadable, %d not regular files",
            folder,
            report.added,
            report.updated,
            report.removed,
            len(report.errors),
            len(report.skipped),
        )
        reports.append(report)
    return reports
