"""First-start library set-up: scan the configured folders, or make and scan a demo.

``qfzz serve`` runs this on a thread of its own while it already listens (``_serve``):
each step is reported to the station's ``StartUp`` (health and the web page show it), the
demo's tracks are scanned while the rest are still being made, so the first listener
hears music within seconds, and a stop cancels it at the next step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from qfzz.catalog.demo import demo_library_ready, generate_demo_library
from qfzz.catalog.scanner import ScanReport
from qfzz.settings import Settings
from qfzz.station import QFZZStation

log = logging.getLogger(__name__)

Progress = Callable[[str], Callable[[int, int, str], None]]

#: Seconds between scans of the demo folder while it is being made: the tracks finished
#: so far become playable without waiting for the rest (a scan of unchanged files is a
#: ``stat`` each).
RESCAN_EVERY = 2.0
#: Seconds between progress lines in the log (a log file has no progress bar).
LOG_EVERY = 5.0


def prepare_library(
    station: QFZZStation, settings: Settings, progress: Progress | None = None
) -> list[ScanReport]:
    """Scan each library folder; with none configured, create the demo library first
    (unless a finished one is there: then nothing is said of making it).

    Scans are incremental, so a restart costs a ``stat`` per file. A FIFO or device in a
    folder is skipped (never opened for reading) and every file's reading has a deadline,
    so no file can hold up the start.
    """
    folders = list(settings.library)
    if not folders and settings.demo_library:
        demo = settings.demo_library_dir
        if not demo_library_ready(demo):
            _make_demo(station, demo, progress)
        folders = [demo]
    return [_scan(station, folder, progress) for folder in folders]


def _make_demo(station: QFZZStation, demo: Path, progress: Progress | None) -> None:
    step = "creating the demo library"
    clock, start_up = station.clock, station.start_up
    started = clock()
    log.info("%s in %s (once: a restart keeps it)", step, demo)
    # Reported, not begun: whoever runs this while serving began the start-up and will
    # finish it (``_serve``); a caller that waits for it all never made it "starting".
    start_up.report(step, 0, None)
    shown = progress(step) if progress is not None else None
    last_scan = last_line = started

    def on_progress(done: int, total: int) -> None:
        nonlocal last_scan, last_line
        start_up.report(step, done, total)
        if shown is not None:
            shown(done, total, "")
        now = clock()
        if now - last_line >= LOG_EVERY:
            log.info("%s: %d of %d tracks", step, done, total)
            last_line = now
        if done < total and now - last_scan >= RESCAN_EVERY:
            station.scan(demo)  # what is finished so far becomes playable now
            last_scan = clock()

    made = generate_demo_library(demo, on_progress=on_progress)
    log.info("demo library ready: %d tracks in %.1f s", len(made), clock() - started)


def _scan(station: QFZZStation, folder: Path, progress: Progress | None) -> ScanReport:
    step = f"scanning {folder}"
    start_up = station.start_up
    shown = progress(step) if progress is not None else None

    def on_progress(done: int, total: int, path: str) -> None:
        start_up.report(step, done, total)
        if shown is not None:
            shown(done, total, path)

    start_up.report(step, 0, None)
    report = station.scan(folder, on_progress)
    log.info(
        "scanned %s: %d added, %d updated, %d unchanged, %d removed, %d unreadable, "
        "%d not regular files",
        folder,
        report.added,
        report.updated,
        report.unchanged,
        report.removed,
        len(report.errors),
        len(report.skipped),
    )
    return report
