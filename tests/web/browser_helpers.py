"""Debian's Chromium driven by Playwright, set up once for every browser test of the page."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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


def sync_api() -> Any:
    """Playwright's sync API, or a skip saying what is missing."""
    api = pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright package is not installed (pip install playwright)",
    )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return api


@contextmanager
def browser_page(viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A fresh page; JavaScript errors on it fail the test when the block ends."""
    api = sync_api()
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport=viewport or {"width": 1180, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        # expect() keeps its own 5 s default; on a loaded machine a click's answer can take
        # longer to show, which is not what these tests judge
        api.expect.set_options(timeout=TIMEOUT_MS)
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


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll from Python: the page's CSP (rightly) forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def layout_shift(page: Any) -> float:
    """The page's cumulative layout shift not caused by the user's own input."""
    return float(
        page.evaluate(
            """() => new Promise((resolve) => {
                new PerformanceObserver((list) => resolve(list.getEntries()
                    .filter((e) => !e.hadRecentInput)
                    .reduce((sum, e) => sum + e.value, 0)))
                  .observe({type: 'layout-shift', buffered: true});
                setTimeout(() => resolve(0), 500);  // no shift at all: no entries
            })"""
        )
    )


def sign_up(page: Any, url: str, user: str) -> None:
    """Create ``user``'s account through the page, as a listener does."""
    expect = sync_api().expect
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill("pw-1234")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#who-name")).to_have_text(user)
    # signed up once the page has loaded what follows (its welcome replaces any message)
    expect(page.locator("#status")).to_contain_text("Welcome")
