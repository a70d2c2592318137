"""The background miner: mining never happens on a request's thread.

It wakes when the ledger says enough changes are pending, or every ``poll`` seconds to
check the time rule (``mine_every_seconds``, measured on the ledger's injected clock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from qfzz.models import Block
from qfzz.trust._ledger import TrustLedger

log = logging.getLogger(__name__)


class Miner:
    def __init__(self, ledger: TrustLedger, *, poll: float = 1.0) -> None:
        self._ledger = ledger
        self._poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_mined: Callable[[Block], None] | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._ledger.wake_miner = self._wake.set
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="qfzz-miner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join()
        self._ledger.wake_miner = lambda: None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                while self._ledger.should_mine():
                    block = self._ledger.mine(max_changes=self._ledger.mine_every_records)
                    if block is not None and self.on_mined is not None:
                        self.on_mined(block)
            except Exception:  # a failed attempt is retried at the next wake-up
                log.exception("mining failed")
