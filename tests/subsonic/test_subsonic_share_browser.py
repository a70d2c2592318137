"""A share link opened in Chromium (Playwright) without any account: its audio plays."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.testing import serve_in_thread, write_tone

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
TIMEOUT_MS = 15_000

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll from Python: the share page's CSP forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_share_plays_in_a_browser_without_an_account(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    write_tone(music / "0.mp3", 440, 8.0, 0.3, {"title": "Shared", "artist": "A", "album": "B"})
    station = build_station(Settings(data_dir=tmp_path / "data", demo_library=False))
    station.start()
    try:
        station.scan(music)
        station.register_listener("ann", {}, password="pw-1234")
        track = station.library.search_songs(None, limit=1, offset=0)[0]
        share = station.create_share("ann", songs=[track.track_id], description="Listen")
        with serve_in_thread(station) as url, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            sync_api.expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own default
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.goto(f"{url}/share/{share.share_id}")
            sync_api.expect(page.get_by_role("heading", name="Listen")).to_be_visible()
            audio = page.locator("audio")
            audio.evaluate("element => element.play()")
            _wait_for(lambda: audio.evaluate("e => e.currentTime") > 1.0, "the share to play")
            assert audio.evaluate("e => e.error") is None
            assert problems == []
            browser.close()
    finally:
        station.close()
