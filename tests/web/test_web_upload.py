"""Uploading through the page: Playwright driving Debian's Chromium against a live server.

The page's own tus client sends the file (a dropped first PATCH is retried from the
server's offset), the list follows the upload from processing to ready as its owner sees
it, and the preview plays in the browser; a file that does not decode shows its reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_helpers import ARTIFACTS, browser_page, sign_up, wait_for

from qfzz.settings import Settings
from qfzz.testing import streaming_settings, write_tone

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install playwright)",
)


@pytest.fixture
def server_settings(tmp_path) -> Settings:
    """Uploads up to 1 MiB, so a file over the limit is small enough to make."""
    return streaming_settings(tmp_path / "data").model_copy(update={"max_content_size_mb": 1})


@pytest.fixture
def page(live) -> Iterator[Any]:
    with browser_page() as page:
        yield page


def _upload_item(page: Any, title: str) -> Any:
    return page.locator("#my-uploads > li").filter(has_text=title)


def test_a_song_uploaded_through_the_page_becomes_playable(live, page, tmp_path):
    expect = sync_api.expect
    sign_up(page, live.url, "maker")
    expect(page.locator("#my-uploads")).to_contain_text("Nothing uploaded yet")

    song = tmp_path / "sunrise.mp3"
    write_tone(song, 440, 8.0, 0.3, {"title": "Tagged title", "artist": "Tag Band"})
    # the network drops the first chunk: the page asks the server where it stands and
    # sends it again
    dropped: list[str] = []

    def flaky(route: Any) -> None:
        if route.request.method == "PATCH" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/upload/**", flaky)
    page.set_input_files("#upload-file", str(song))
    expect(page.locator("#upload-chosen")).to_contain_text("sunrise.mp3")
    page.get_by_label("Title").fill("Sunrise Song")
    page.get_by_label("Licence").select_option("CC-BY-4.0")
    page.get_by_role("button", name="Upload", exact=True).click()

    item = _upload_item(page, "Sunrise Song")
    expect(item).to_have_attribute("data-status", "processing")
    expect(item).to_contain_text("Tag Band")  # no artist typed: the file's tags
    expect(item).to_contain_text("CC-BY-4.0")
    assert len(dropped) == 1
    content_id = item.get_attribute("data-content-id")
    stored = live.station.parts.store.contents.get(content_id)
    assert stored is not None and stored.size == song.stat().st_size
    assert stored.owner == "maker"

    # the conversion worker (started by `qfzz serve`; the test runs it itself)
    assert live.station.parts.uploads.run_pending() == 1
    expect(item).to_have_attribute("data-status", "ready")
    for label in ("Preview", "Low (Opus)", "High"):
        expect(item.locator(".option", has_text=label).locator("audio")).to_have_count(1)
    # what a listener who is not its owner gets under CC BY: everything, to keep
    expect(item.locator(".others")).to_contain_text("to listen to and download")
    expect(item.locator(".others")).to_contain_text("Original")

    # the preview plays in the browser
    preview = item.locator(".option", has_text="Preview").locator("audio")
    preview.evaluate("audio => audio.play()")
    wait_for(lambda: float(preview.evaluate("a => a.currentTime")) > 0.5, "the preview to play")
    src = preview.get_attribute("src")
    answer = httpx.get(live.url.rstrip("/") + src)
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/mpeg"

    # and the song is a catalog track under the title it was given
    _, found = live.station.parts.store.tracks.search(q="Sunrise Song")
    assert [(t.title, t.playable) for t in found] == [("Sunrise Song", True)]

    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("section.uploads").screenshot(path=str(ARTIFACTS / "web-uploads.png"))


def test_a_file_that_does_not_decode_shows_its_reason(live, page, tmp_path):
    expect = sync_api.expect
    sign_up(page, live.url, "noisy")
    junk = tmp_path / "broken.mp3"
    junk.write_bytes(os.urandom(50_000))
    page.set_input_files("#upload-file", str(junk))
    page.get_by_role("button", name="Upload", exact=True).click()
    item = _upload_item(page, "broken")
    expect(item).to_have_attribute("data-status", "processing")
    assert live.station.parts.uploads.run_pending() == 1
    expect(item).to_have_attribute("data-status", "failed")
    expect(item.locator(".reason")).not_to_be_empty()
    expect(item.locator("audio")).to_have_count(0)


def test_an_upload_over_the_size_limit_is_refused_on_the_page(live, page, tmp_path):
    expect = sync_api.expect
    sign_up(page, live.url, "bulky")
    limit = live.station.settings.max_content_size_mb * 1024 * 1024
    big = tmp_path / "big.mp3"
    big.write_bytes(os.urandom(limit + 1))
    page.set_input_files("#upload-file", str(big))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert live.station.parts.store.contents.owned_by("bulky", 10) == []
    expect(page.locator("#my-uploads")).to_contain_text("Nothing uploaded yet")


def test_a_file_dropped_on_the_page_is_uploaded(live, page, tmp_path):
    """Drag and drop: the file a listener drops on the zone is the one sent."""
    expect = sync_api.expect
    sign_up(page, live.url, "dropper")
    song = tmp_path / "dropped.mp3"
    write_tone(song, 330, 4.0, 0.3, {"title": "Dropped Song", "artist": "Drop Band"})
    data = list(song.read_bytes())
    transfer = page.evaluate_handle(
        """bytes => { const t = new DataTransfer();
                      t.items.add(new File([new Uint8Array(bytes)], 'dropped.mp3',
                                           {type: 'audio/mpeg'}));
                      return t; }""",
        data,
    )
    page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#drop-zone")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    expect(page.locator("#upload-chosen")).to_contain_text("dropped.mp3")
    page.get_by_role("button", name="Upload", exact=True).click()
    item = _upload_item(page, "Dropped Song")
    expect(item).to_have_attribute("data-status", "processing")
    stored = live.station.parts.store.contents.get(item.get_attribute("data-content-id"))
    assert stored is not None and stored.size == song.stat().st_size
    # all rights reserved (the form's default): other listeners may only listen
    assert live.station.parts.uploads.run_pending() == 1
    page.reload()
    expect(item).to_have_attribute("data-status", "ready")
    expect(item.locator(".others")).to_contain_text("to listen to only")
    expect(item.locator(".others")).not_to_contain_text("Original")
