"""The web player end to end: Playwright driving Debian's Chromium against a live server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from browser_helpers import ARTIFACTS, browser_page, layout_shift, wait_for

from qfzz.testing import write_tone

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install playwright)",
)


@pytest.fixture(scope="module")
def long_tones(tmp_path_factory) -> Path:
    """Tracks long enough that only a skip changes what is playing during the test."""
    root = tmp_path_factory.mktemp("long-tones")

    def write(n: int) -> None:
        tags = {"title": f"Tone {n}", "artist": f"Artist {n % 3}", "genre": ["jazz", "rock"][n % 2]}
        write_tone(root / f"{n}.mp3", 220 + 110 * n, 20.0, 0.3, tags)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, range(10)))
    return root


@pytest.fixture
def library(long_tones) -> Path:
    return long_tones


@pytest.fixture
def page(live) -> Iterator[sync_api.Page]:
    with browser_page() as page:
        yield page


def _playlist(page: sync_api.Page) -> list[tuple[str, str]]:
    """Read in one evaluation: the list is re-rendered after every track change, so
    reading item by item could ask for an item that a re-render just removed."""
    items = page.locator("#playlist > li[data-track-id]")
    pairs = items.evaluate_all(
        "items => items.map(li => [li.dataset.trackId || '', li.dataset.score || ''])"
    )
    return [(str(track_id), str(score)) for track_id, score in pairs]


def _now_id(page: sync_api.Page) -> str:
    return page.locator("#panel-personal").get_attribute("data-track-id") or ""


def _current_time(audio: sync_api.Locator) -> float:
    return float(audio.evaluate("element => element.currentTime"))


def _up_next(page: sync_api.Page) -> list[str]:
    return [track_id for track_id, _ in _playlist(page)]


def _history_ids(panel: sync_api.Locator) -> list[str]:
    return [i for i in panel.locator(".history li").evaluate_all(_HISTORY_IDS) if i]


_HISTORY_IDS = "items => items.map(li => li.dataset.trackId || '')"


def _time_click_to_playing(page: sync_api.Page, panel: sync_api.Locator) -> float:
    """Click Play and answer the milliseconds until the <audio> element fires ``playing``
    (both read on the page's own clock)."""
    panel.locator("audio").evaluate(
        """(audio) => {
            const play = audio.closest('[role="tabpanel"]').querySelector('.play');
            window.qfzzTiming = new Promise((resolve) => {
                let clicked = 0;
                play.addEventListener('click', () => { clicked = performance.now(); },
                                      {capture: true, once: true});
                audio.addEventListener('playing', () => resolve(performance.now() - clicked),
                                       {once: true});
            });
        }"""
    )
    panel.get_by_role("button", name="Play").click()
    return float(page.evaluate("() => window.qfzzTiming"))


def test_sign_up_play_skip_and_like(live, page, record_property):
    expect = sync_api.expect
    page.goto(live.url)

    # An API error is shown to the user.
    page.get_by_label("User name").fill("webby")
    page.get_by_label("Password", exact=True).fill("pw-1234")
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
    app_password = page.get_by_label("App password", exact=True)
    expect(app_password).not_to_have_value("…")
    old = app_password.input_value()
    assert old == live.station.accounts.app_password("webby")
    page.get_by_role("button", name="New app password").click()
    expect(app_password).not_to_have_value(old)
    assert app_password.input_value() == live.station.accounts.app_password("webby")

    # Play: it sounds (the figure is reported, not asserted: it is a measurement), and
    # the <audio> element's clock advances.
    personal = page.locator("#panel-personal")
    before_play = _up_next(page)
    assert before_play
    heard_in = _time_click_to_playing(page, personal)
    print(f"\nclick to playing (fresh personal mount): {heard_in:.0f} ms")
    record_property("click_to_playing_ms", round(heard_in))
    expect(personal.get_by_role("button", name="Pause")).to_be_visible()
    audio = personal.locator("audio")
    wait_for(lambda: _current_time(audio) > 1.0, "the personal stream to play")
    start = _current_time(audio)
    wait_for(lambda: _current_time(audio) > start + 0.5, "currentTime to advance")

    # Now playing arrives over SSE, with the track's trust score.
    expect(personal.locator(".title")).not_to_have_text("Nothing yet")
    playing = _now_id(page)
    assert playing
    expect(personal.locator(".trust")).to_contain_text("Trust 0.")

    # Up next no longer holds the track on air.
    wait_for(lambda: playing not in _up_next(page), "the track on air to leave Up next")

    # Skip: now playing changes, and the skipped track shows in the history. Up next is
    # asked for again and holds neither the skipped track nor any other that was heard.
    asked: list[float] = []
    page.on("request", lambda r: "/playlist" in r.url and asked.append(time.monotonic()))
    with page.expect_response(lambda r: r.url.endswith("/skip")) as answer:
        personal.get_by_role("button", name="Skip").click()
    skipped_at = time.monotonic()
    skipped = str(json.loads(answer.value.body())["skipped"]["track_id"])
    expect(page.locator("#status")).to_contain_text("Skipped")
    # (the skipped track may not be the one the test saw first: the simulated clock plays
    # as fast as the page listens, so a track can end on its own before the click)
    # ("Skipped" is shown in the same step that blanks the panel until the next track is
    # announced: after it, a title other than "Next track…" is an announcement that came
    # after the skip, and feedback has a track to land on)
    wait_for(lambda: _now_id(page) not in ("", playing, skipped), "now playing to change")
    expect(personal.locator(".now-title .title")).not_to_have_text("Next track…")
    expect(personal.locator(".history li").first).not_to_have_text("Nothing yet")
    wait_for(lambda: any(t > skipped_at for t in asked), "Up next to be asked for again")
    expect(page.locator("#playlist")).to_have_attribute("aria-busy", "false")
    heard = {skipped, playing, _now_id(page), *_history_ids(personal)}
    wait_for(lambda: not heard & set(_up_next(page)), f"Up next to drop {heard}")
    assert _up_next(page) or "heard recently" in (page.locator("#playlist").text_content() or "")

    # Like: it is stored, and the next playlist changes.
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#playlist")).to_have_attribute("aria-busy", "false")
    before = _playlist(page)
    personal.get_by_role("button", name="Like", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Liked")
    likes = [
        i
        for i in live.station.parts.store.interactions.for_listener("webby")
        if i.type.value == "like"
    ]
    assert len(likes) == 1
    # Up next may be empty when every track was heard recently (more of them on a loaded
    # machine, where the test runs longer): then there is nothing to reorder
    if before:
        wait_for(lambda: _playlist(page) != before, "the playlist to change after a like")

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
    wait_for(lambda: _current_time(shared) > 0.5, "the station's stream to play")
    expect(station.locator(".title")).not_to_have_text("Nothing yet")

    # The session survives a reload (the token is in localStorage); signing out ends it.
    page.reload()
    expect(page.locator("#who-name")).to_have_text("webby")
    expect(page.locator("#playlist > li[data-track-id]").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('qfzz.session')") is None


class StreamKeyCalls:
    """The page's calls to the real stream-key API, as (method, user id), and the newest
    key the server handed out (read from its answer when asked, not in the event handler,
    which Playwright runs only while the test is inside one of its calls)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._made: list[sync_api.Response] = []

    def seen(self, response: sync_api.Response) -> None:
        found = re.match(r".*/api/v1/listeners/([^/]+)/stream-key$", response.url)
        if found is None:
            return
        self.calls.append((response.request.method, found.group(1)))
        if response.request.method == "POST" and response.status == 201:
            self._made.append(response)

    def key(self) -> str:
        return str(self._made[-1].json()["key"])


@pytest.fixture
def stream_key_api(page) -> StreamKeyCalls:
    calls = StreamKeyCalls()
    page.on("response", calls.seen)
    return calls


def test_player_links_and_subsonic_settings(live, page, stream_key_api):
    expect = sync_api.expect
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(live.url)
    page.get_by_label("User name").fill("linky")
    page.get_by_label("Password", exact=True).fill("pw-1234")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#who-name")).to_have_text("linky")
    clipboard = lambda: page.evaluate("() => navigator.clipboard.readText()")  # noqa: E731

    # The Subsonic settings: this server, the user name, the app password; copyable.
    expect(page.get_by_label("Server URL", exact=True)).to_have_value(live.url)
    expect(page.get_by_label("Username", exact=True)).to_have_value("linky")
    expect(page.get_by_label("App password", exact=True)).to_have_value(
        live.station.accounts.app_password("linky")
    )
    page.get_by_role("button", name="Copy server URL").click()
    expect(page.locator("#status")).to_contain_text("Server URL copied")
    assert clipboard() == live.url

    # No links yet: nothing to revoke.
    links = page.locator("section.links")
    expect(links.locator("#key-state")).to_contain_text("no player links")
    expect(links.get_by_role("button", name="Revoke links")).to_be_disabled()

    # Create: the links are shown once, each labelled, absolute, with the key; copyable.
    links.get_by_role("button", name="Create links").click()
    expect(links.locator("#key-notice")).to_be_focused()
    rows = links.locator("#key-urls input")
    expect(rows).to_have_count(6)
    first_key = stream_key_api.key()
    for row in rows.all():
        assert row.input_value().startswith(live.url + "/")
        assert f"key={first_key}" in row.input_value()
    for label in (
        "Your radio stream link",
        "Station playlist (.m3u)",
        "Your radio playlist (.pls)",
    ):
        expect(links.get_by_label(label, exact=True)).to_be_visible()
    links.get_by_role("button", name="Copy Your radio playlist (.m3u)").click()
    assert clipboard() == f"{live.url}/api/v1/listeners/linky/stream.m3u?key={first_key}"
    expect(links.locator("#key-state")).to_contain_text("You have player links")

    # Regenerating asks first; Escape (from the keyboard) keeps the old links.
    posts = lambda: stream_key_api.calls.count(("POST", "linky"))  # noqa: E731
    links.get_by_role("button", name="New links").click()
    confirm = links.get_by_role("group", name=re.compile("stop working"))
    expect(confirm).to_be_visible()
    expect(links.get_by_role("button", name="Replace links")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(links.get_by_role("button", name="New links")).to_be_focused()
    assert posts() == 1
    page.keyboard.press("Enter")  # the focused "New links" again, then confirmed by keyboard
    expect(links.get_by_role("button", name="Replace links")).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/stream-key") and r.status == 201):
        page.keyboard.press("Enter")
    assert posts() == 2
    expect(rows.first).to_have_value(re.compile(f"key={stream_key_api.key()}$"))
    second_key = stream_key_api.key()
    assert second_key != first_key

    # Revoke, confirmed: the links disappear and there is nothing left to revoke.
    links.get_by_role("button", name="Revoke links").click()
    expect(links.get_by_text("Players that use your links stop playing")).to_be_visible()
    links.get_by_role("button", name="Revoke links").last.click()
    expect(links.locator("#key-links")).to_be_hidden()
    expect(links.locator("#key-state")).to_contain_text("no player links")
    expect(links.get_by_role("button", name="Revoke links")).to_be_disabled()
    assert ("DELETE", "linky") in stream_key_api.calls
    # Neither the replaced key nor the revoked one opens a stream any more.
    for gone in (first_key, second_key):
        refused = httpx.get(f"{live.url}/stream/main?key={gone}", timeout=10)
        assert refused.status_code == 401, refused.text
    # A reload asks the server again and shows no key (it is never shown twice).
    page.reload()
    expect(page.locator("#key-state")).to_contain_text("no player links")
    expect(page.locator("#key-urls input")).to_have_count(0)


def test_accessible_in_light_dark_and_phone_layouts(live, page):
    expect = sync_api.expect
    page.goto(live.url)
    page.get_by_label("User name").fill("ally")
    page.get_by_label("Password", exact=True).fill("pw-1234")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#who-name")).to_have_text("ally")
    expect(page.locator("#playlist > li[data-track-id]").first).to_be_visible()

    # Every control in the app has a name, and every field a label.
    unnamed = page.locator("#app button, #app select, #app input").evaluate_all(
        """els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                             && !e.textContent.trim()).map(e => e.outerHTML)"""
    )
    assert unnamed == []

    # Every visible control is reached with Tab (disabled ones are skipped by design).
    wanted = set(
        page.locator(
            "#app button:visible:enabled, #app select:visible, #app input:visible"
        ).evaluate_all(
            "els => els.filter(e => e.tabIndex >= 0).map(e => e.id || e.dataset.copy"
            " || e.dataset.feedback || e.dataset.stars || e.className)"
        )
    )
    reached: set[str] = set()
    page.locator("#sign-out").focus()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "() => { const e = document.activeElement; return e.id || e.dataset.copy"
                " || e.dataset.feedback || e.dataset.stars || e.className; }"
            )
        )
    assert wanted <= reached, f"not reached by Tab: {wanted - reached}"

    # Messages float over the page: showing one moves nothing.
    page.get_by_role("button", name="Refresh").click()
    page.get_by_role("button", name="New app password").click()
    expect(page.locator("#status")).not_to_be_empty()
    assert layout_shift(page) < 0.05

    # Dark mode, and the phone layout: no sideways scrolling, controls still on screen.
    page.emulate_media(color_scheme="dark")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 16, 24)"
    page.set_viewport_size({"width": 360, "height": 740})
    wide = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert wide <= 0
    page.get_by_role("button", name="Copy server URL").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Copy server URL")).to_be_in_viewport()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-player-phone-dark.png"), full_page=True)


def test_the_page_says_the_station_is_starting_until_it_is_ready(live, page):
    """The port opens before the library is ready: the page says what the station is
    doing and how far, from health's 'starting' answer, and then that it is ready."""
    expect = sync_api.expect
    start_up = live.station.start_up
    start_up.begin("creating the demo library")
    start_up.report("creating the demo library", 3, 64)
    page.goto(live.url)
    status = page.get_by_role("status")
    expect(status).to_contain_text("starting: creating the demo library (3 of 64)")
    start_up.finish()
    expect(status).to_contain_text("The station is ready", timeout=10_000)
