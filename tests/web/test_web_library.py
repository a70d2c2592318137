"""The web page as a music library: Playwright driving Debian's Chromium against a live
server over a small library of real files on albums and artists. Browse to an album and
play it, search by part of a word (with the keyboard), reorder the queue, mark a
favourite and find it there, and the DJ hearing what was played on demand. Each view is
kept as a screenshot (desktop and phone, light and dark) in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_helpers import ARTIFACTS, browser_page, layout_shift, sign_up, wait_for

from qfzz.testing import SyntheticTrack, add_synthetic_tracks, write_tone

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (pip install playwright)",
)

#: (artist, album, genre, titles): real MP3s of 12 s, long enough to seek inside.
ALBUMS = [
    ("Aurora Quartet", "Northern Lights", "jazz", ["Polar Dawn", "Ice Waltz", "Midnight Sun"]),
    ("Basalt", "Lava Fields", "rock", ["Magma", "Obsidian Road"]),
    ("Cirrus", "High Weather", "ambient", ["Drift", "Stratosphere", "Halo"]),
]


@pytest.fixture(scope="module")
def albums(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("library-albums")
    jobs = []
    for a, (artist, album, genre, titles) in enumerate(ALBUMS):
        for n, title in enumerate(titles, start=1):
            tags = {"title": title, "artist": artist, "album": album, "genre": genre,
                    "tracknumber": str(n), "date": str(2010 + a)}  # fmt: skip
            jobs.append((root / album / f"{n:02d}.mp3", 220 + 90 * a + 30 * n, tags))
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: write_tone(job[0], job[1], 12.0, 0.3, job[2]), jobs))
    return root


@pytest.fixture
def library(albums) -> Path:
    return albums


@pytest.fixture
def page(live) -> Iterator[Any]:
    with browser_page() as page:
        yield page


def _sign_up(page: Any, url: str, user: str) -> None:
    sign_up(page, url, user)
    sync_api.expect(page.locator("#library-view")).to_have_attribute("aria-busy", "false")


def _view(page: Any, name: str) -> None:
    page.locator(f'.library-nav [data-view="{name}"]').click()
    sync_api.expect(page.locator("#library-view")).to_have_attribute("aria-busy", "false")


def _open_album(page: Any, artist: str, album: str) -> None:
    _view(page, "artists")
    page.get_by_role("button", name=f"Artists: {artist[0]}").click()
    page.locator("#library-view .names button", has_text=artist).click()
    page.locator("#library-view .album-tile", has_text=album).click()
    sync_api.expect(page.locator("#library-view h3")).to_have_text(album)


def _current_time(page: Any) -> float:
    return float(page.locator("#od-audio").evaluate("audio => audio.currentTime"))


def _queue(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#queue > li .label").all_inner_texts()]


def test_browse_to_an_album_and_play_it(live, page):
    expect = sync_api.expect
    _sign_up(page, live.url, "ann")
    _open_album(page, "Basalt", "Lava Fields")
    rows = page.locator("#library-view .songs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Magma")
    cover = page.locator("#library-view .album-head img.cover")
    wait_for(lambda: cover.evaluate("img => img.complete && img.naturalWidth > 0"), "the cover")
    page.get_by_role("button", name="Play Lava Fields").click()
    expect(page.locator("#od-title")).to_have_text("Magma")
    wait_for(lambda: _current_time(page) > 1.0, "the album to play")
    assert [t.split(" ")[0] for t in _queue(page)] == ["Magma", "Obsidian"]
    # the lock screen and media keys know what plays (the Media Session API)
    shown = page.evaluate(
        "() => { const m = navigator.mediaSession.metadata;"
        " return [m.title, m.artist, m.album, m.artwork.length]; }"
    )
    assert shown == ["Magma", "Basalt", "Lava Fields", 1]
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.locator("#od-title")).to_have_text("Obsidian Road")
    wait_for(lambda: _current_time(page) > 0.5, "the next song to play")
    page.locator("#od-audio").evaluate("audio => { audio.currentTime = 6; }")  # seek
    wait_for(lambda: _current_time(page) >= 6.0, "the seek")


def test_search_finds_a_track_by_part_of_a_word_and_plays_it_from_the_keyboard(live, page):
    expect = sync_api.expect
    _sign_up(page, live.url, "ann")
    search = page.get_by_role("combobox", name="Search songs, albums and artists")
    search.press_sequentially("strato", delay=30)  # debounced: one search for the word
    results = page.locator("#search-results [role=option]")
    expect(results.first).to_contain_text("Stratosphere")
    search.press("ArrowDown")
    expect(results.first).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", "search-option-0")
    search.press("Enter")
    expect(page.locator("#od-title")).to_have_text("Stratosphere")
    search.fill("")
    search.press_sequentially("lava", delay=30)
    expect(page.locator("#search-results")).to_contain_text("Lava Fields")


def test_the_queue_reorders_and_clears(live, page):
    expect = sync_api.expect
    _sign_up(page, live.url, "ann")
    _open_album(page, "Cirrus", "High Weather")
    page.get_by_role("button", name="Add High Weather to the queue").click()
    expect(page.locator("#queue > li")).to_have_count(3)
    assert [t.split(" ")[0] for t in _queue(page)] == ["Drift", "Stratosphere", "Halo"]
    page.get_by_role("button", name="Move Halo, 3 of 3 up").click()
    assert [t.split(" ")[0] for t in _queue(page)] == ["Drift", "Halo", "Stratosphere"]
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "Move Halo, 2 of 3 up"  # the focus follows the moved song
    page.get_by_role("button", name="Move Drift, 1 of 3 down").click()
    assert [t.split(" ")[0] for t in _queue(page)] == ["Halo", "Drift", "Stratosphere"]
    expect(page.locator("#queue > li[aria-current=true]")).to_contain_text("Drift")
    page.get_by_role("button", name="Clear queue").click()
    expect(page.locator("#queue > li")).to_have_count(0)
    expect(page.locator("#od-title")).to_have_text("Nothing queued")


def test_a_favourite_appears_in_favourites(live, page):
    expect = sync_api.expect
    _sign_up(page, live.url, "ann")
    _view(page, "starred")
    expect(page.locator("#library-view")).to_contain_text("No favourites yet")
    _open_album(page, "Aurora Quartet", "Northern Lights")
    page.get_by_role("button", name="Add Ice Waltz to favourites").click()
    expect(page.get_by_role("button", name="Remove Ice Waltz from favourites")).to_be_visible()
    page.get_by_role("button", name="Add Northern Lights to favourites").click()
    _view(page, "starred")
    expect(page.locator("#library-view .songs")).to_contain_text("Ice Waltz")
    expect(page.locator("#library-view .album-tile")).to_contain_text("Northern Lights")


def test_on_demand_listening_reaches_the_dj(live, page):
    """A song heard to the end is a play, one left early a skip: both stored for the DJ."""
    expect = sync_api.expect
    _sign_up(page, live.url, "ann")
    store = live.station.parts.store
    token = page.evaluate("() => JSON.parse(localStorage.getItem('qfzz.session')).token")

    def playlist() -> list[tuple[int, float]]:
        answer = httpx.get(
            f"{live.url}/api/v1/listeners/ann/playlist",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        return [(t["track_id"], t["score"]) for t in answer["tracks"]]

    before = playlist()
    _open_album(page, "Aurora Quartet", "Northern Lights")
    page.get_by_role("button", name="Play Northern Lights").click()
    wait_for(lambda: _current_time(page) > 0.5, "the album to play")
    page.get_by_role("button", name="Next", exact=True).click()  # left at once: a skip
    expect(page.locator("#od-title")).to_have_text("Ice Waltz")
    wait_for(lambda: _current_time(page) > 0.5, "the second song to play")
    page.locator("#od-audio").evaluate("audio => { audio.currentTime = audio.duration - 1; }")
    expect(page.locator("#od-title")).to_have_text("Midnight Sun")  # it ended: a play

    def heard() -> list[tuple[str, str]]:
        return [
            (i.type.value, live.station.track(i.track_id).meta.title)
            for _, i in store.interactions.history("ann")
        ]

    wait_for(lambda: ("play", "Ice Waltz") in heard(), "the play to be stored")
    assert ("skip", "Polar Dawn") in heard()
    assert ("play", "Polar Dawn") not in heard()
    assert playlist() != before  # the DJ's next playlist follows what was heard


def test_every_library_control_is_named_and_covers_move_nothing(live, page):
    _sign_up(page, live.url, "ann")
    _open_album(page, "Aurora Quartet", "Northern Lights")
    page.get_by_role("button", name="Add Northern Lights to the queue").click()
    sync_api.expect(page.locator("#queue > li")).to_have_count(3)
    cover = page.locator("#library-view .album-head img.cover")
    wait_for(lambda: cover.evaluate("img => img.complete && img.naturalWidth > 0"), "the cover")
    unnamed = page.locator(".library button, .library input, .queue button").evaluate_all(
        """els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                             && !e.textContent.trim()).map(e => e.outerHTML)"""
    )
    assert unnamed == []
    assert layout_shift(page) < 0.05  # covers have their size before they arrive


def test_a_letter_with_many_artists_comes_a_page_at_a_time(live, page):
    """A big library has thousands of artists under one letter: 300 at first, then more."""
    expect = sync_api.expect
    many = [SyntheticTrack(f"Song {n}", f"Zed {n:04d}", "jazz", album=f"Z{n}") for n in range(650)]
    add_synthetic_tracks(live.station.parts.store, many, prefix="/nowhere")
    _sign_up(page, live.url, "ann")
    page.get_by_role("button", name="Artists: Z").click()
    names = page.locator("#library-view .names > li")
    expect(names).to_have_count(300)
    page.get_by_role("button", name="More artists: Z").click()
    expect(names).to_have_count(600)
    focused = page.evaluate("() => document.activeElement.dataset.artistId || ''")
    assert focused == names.nth(300).locator("button").get_attribute("data-artist-id")
    page.get_by_role("button", name="More artists: Z").click()
    expect(names).to_have_count(650)
    expect(page.get_by_role("button", name="More artists: Z")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_view_fits_and_is_kept_as_a_screenshot(live, scheme, viewport):
    size = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
    with browser_page(size[viewport]) as page:
        page.emulate_media(color_scheme=scheme)
        _sign_up(page, live.url, f"viewer-{scheme}-{viewport}")
        ARTIFACTS.mkdir(exist_ok=True)
        for view in ("artists", "newest", "frequent", "starred", "genres"):
            _view(page, view)
            _no_overflow(page)
            page.locator(".library").screenshot(
                path=ARTIFACTS / f"library-{view}-{viewport}-{scheme}.png"
            )
        _open_album(page, "Cirrus", "High Weather")
        _no_overflow(page)
        page.locator(".library").screenshot(
            path=ARTIFACTS / f"library-album-{viewport}-{scheme}.png"
        )


def _no_overflow(page: Any) -> None:
    """Nothing wider than the screen (a phone would scroll sideways)."""
    wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not wide, "the page scrolls sideways"
