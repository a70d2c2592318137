"""The web player end to end: Playwright driving Debian's Chromium against a live server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qfzz.testing import write_tone

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
TIMEOUT_MS = 15_000

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install playwright)",
)
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def long_tones(tmp_path_factory) -> Path:
    """Tracks long enough that only a skip changes what is playing during the test."""
    root = tmp_path_factory.mktemp("long-tones")

    def write(n: int) -> None:
        tags = {"title": f"Tone {n}", "artist": f"Artist {n % 3}", "genre": ["jazz", "rock"][n % 2]}
        write_tone(root / f"{n}.mp3", 220 + 110 * n, 20.0, 0.3, tags)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, range(6)))
    return root


@pytest.fixture
def library(long_tones) -> Path:
    return long_tones


@pytest.fixture
def page(live) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1180, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Failed requests (the wrong password's 401) are expected; anything else, such as
        # a Content-Security-Policy violation, is a bug.
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Failed to load resource" not in m.text
                and errors.append(m.text)
            ),
        )
        try:
            yield page
        finally:
            browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def _playlist(page: sync_api.Page) -> list[tuple[str, str]]:
    items = page.locator("#playlist > li[data-track-id]")
    return [
        (item.get_attribute("data-track-id") or "", item.get_attribute("data-score") or "")
        for item in items.all()
    ]


def _now_id(page: sync_api.Page) -> str:
    return page.locator("#panel-personal").get_attribute("data-track-id") or ""


def _current_time(audio: sync_api.Locator) -> float:
    return float(audio.evaluate("element => element.currentTime"))


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll from Python: the page's CSP (rightly) forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_sign_up_play_skip_and_like(live, page):
    expect = sync_api.expect
    page.goto(live.url)

    # An API error is shown to the user.
    page.get_by_label("User name").fill("webby")
    page.get_by_label("Password").fill("pw-1234")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong user id or password")

    # Sign up.
    page.get_by_label("Favourite genres").fill("jazz")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#who-name")).to_have_text("webby")

    # The playlist, each track with its reasons; the device's profile and bitrate.
    first = page.locator("#playlist > li[data-track-id]").first
    expect(first).to_be_visible()
    expect(first.locator(".reasons li").first).to_be_visible()
    expect(page.locator('[data-fact="bitrate"]')).to_contain_text("kbps")
    expect(page.locator('[data-fact="profile"]')).not_to_have_text("…")

    # The Subsonic app password is shown, and a new one replaces it.
    app_password = page.locator("#app-password")
    expect(app_password).not_to_have_text("…")
    old = app_password.text_content()
    assert old == live.station.accounts.app_password("webby")
    page.get_by_role("button", name="New app password").click()
    expect(app_password).not_to_have_text(old or "")
    assert app_password.text_content() == live.station.accounts.app_password("webby")

    # Play: the <audio> element's clock advances.
    personal = page.locator("#panel-personal")
    personal.get_by_role("button", name="Play").click()
    expect(personal.get_by_role("button", name="Pause")).to_be_visible()
    audio = personal.locator("audio")
    _wait_for(lambda: _current_time(audio) > 1.0, "the personal stream to play")
    start = _current_time(audio)
    _wait_for(lambda: _current_time(audio) > start + 0.5, "currentTime to advance")

    # Now playing arrives over SSE, with the track's trust score.
    expect(personal.locator(".title")).not_to_have_text("Nothing yet")
    playing = _now_id(page)
    assert playing
    expect(personal.locator(".trust")).to_contain_text("Trust 0.")

    # Skip: now playing changes, and the skipped track shows in the history.
    personal.get_by_role("button", name="Skip").click()
    expect(page.locator("#status")).to_contain_text("Skipped")
    _wait_for(lambda: _now_id(page) not in ("", playing), "now playing to change")
    expect(personal.locator(".history li").first).not_to_have_text("Nothing yet")

    # Like: the next playlist changes.
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#playlist")).to_have_attribute("aria-busy", "false")
    before = _playlist(page)
    personal.get_by_role("button", name="Like", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Liked")
    assert _playlist(page) != before

    # The device's profile can be picked; the parameters shown follow.
    page.get_by_label("Streaming profile").select_option("bandwidth_save")
    expect(page.locator('[data-fact="profile"]')).to_have_text("Bandwidth save")
    expect(page.locator("#status")).to_contain_text("profile saved")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-player.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "web-player-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1180, "height": 900})

    # The shared station in the second tab, reached from the keyboard.
    page.get_by_role("tab", name="My radio").focus()
    page.keyboard.press("ArrowRight")
    station = page.locator("#panel-main")
    expect(station).to_be_visible()
    station.get_by_role("button", name="Play").click()
    expect(personal.locator(".play")).to_have_attribute("aria-pressed", "false")  # stopped
    shared = station.locator("audio")
    _wait_for(lambda: _current_time(shared) > 0.5, "the station's stream to play")
    expect(station.locator(".title")).not_to_have_text("Nothing yet")

    # The session survives a reload (the token is in localStorage); signing out ends it.
    page.reload()
    expect(page.locator("#who-name")).to_have_text("webby")
    expect(page.locator("#playlist > li[data-track-id]").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('qfzz.session')") is None
