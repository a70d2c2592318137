"""The web library's first render on a big catalog: Chromium against a real `qfzz serve`.

For each catalog size a synthetic catalog (``_catalog.fill``: ~10 tracks per artist, one
album per artist) is written into a fresh SQLite database and served by a real ``qfzz
serve``. Debian's Chromium (Playwright, headless) opens the page signed in (the session
put in localStorage before the page's scripts run, as a returning listener has it) and
the time is taken, in the page, from navigation start until each view has rendered:

- ``artists``: the page loaded, signed in, and the first 300 artists of the index's
  first letter listed (the first thing a listener sees: one ``qfzzArtistsPage``, from the
  index by letter the server keeps per library version; the first page load after a
  start builds it: the "cold" figure);
- ``recent``: from a click on "Recently added" until its 48 album tiles are there;
- ``album``: from a click on the first album until its songs are listed (both include
  Playwright's own round trips to the browser, a few ms).

Printed per size: p50 and the worst of ``--runs`` page loads, the artists answer's size,
and the elements on the page. The simple alternative — every artist of the catalog
listed at once instead of one letter — is timed the same way (``all artists``), in the
same page, right after. Issue 22's target: first render ≤ 1 s on loopback.

    PYTHONPATH=src:bench .venv/bin/python bench/web_library.py [--sizes 10000,100000,1000000]

Measured on 2026-11-27 (2 cores, quiet, 5 page loads each; ms, p50 / worst):

    tracks     artists (page load)  recent     album      all artists at once
    10,000     478 / 568            210 / 239  418 / 882  118 / 132
    100,000    513 / 622            171 / 249  462 / 594   95 / 629
    1,000,000  499 / 589            187 / 271  501 / 878  580 / 5319

The first render stays under the 1 s target at a million tracks, and no view grows with
the catalog: the artists row reads one ``qfzzArtistsPage`` (300 artists, 29 KiB), where
``getArtists`` sends the whole index, 1.7 MB gzipped (9.6 MB of JSON) at a million
synthetic tracks — 787 ms p50 for the same first render when the page read that.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from _catalog import fill
from _server import http_ok, spawn, wait_quiet
from qfzz.store import open_store

CHROMIUM = "/usr/bin/chromium"
#: Renders every artist of the index at once: what the page would cost without letters.
ALL_ARTISTS = """() => {
  const t0 = performance.now();
  return fetch('/rest/getArtists?f=json&v=1.16.1&c=bench', {headers: {Authorization:
      'Bearer ' + JSON.parse(localStorage.getItem('qfzz.session')).token}})
    .then(r => r.json()).then(body => {
      const list = document.createElement('ul');
      for (const index of body['subsonic-response'].artists.index)
        for (const a of index.artist) {
          const li = document.createElement('li'); const b = document.createElement('button');
          b.textContent = a.name; li.append(b); list.append(li);
        }
      document.querySelector('#library-view').replaceChildren(list);
      return new Promise(r => requestAnimationFrame(() => r(performance.now() - t0)));
    });
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"{'tracks':>9} {'view':<12} {'p50 ms':>8} {'worst ms':>9}  notes")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            store = open_store(url)
            fill(store, n)
            store.close()
            with serving(url, Path(tmp) / "data") as base:
                signed = httpx.post(
                    f"{base}/api/v1/listeners",
                    json={"user_id": "ann", "password": "pw-1234", "preferences": {}},
                ).json()
                sizes = {}  # bytes on the wire (gzipped when the server compresses it)
                for method in ("getArtists", "qfzzArtistsPage"):
                    answer = httpx.get(
                        f"{base}/rest/{method}",
                        params={"f": "json", "v": "1.16.1", "c": "bench", "size": 300},
                        headers={"Authorization": f"Bearer {signed['token']}"},
                    )
                    sizes[method] = answer.num_bytes_downloaded
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
                times: dict[str, list[float]] = {}
                nodes = 0
                for _ in range(args.runs):
                    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                    session = f'{{"user": "ann", "token": "{signed["token"]}"}}'
                    page.add_init_script(f"localStorage.setItem('qfzz.session', '{session}')")
                    page.goto(base)
                    page.locator("#library-view .names button").first.wait_for()
                    times.setdefault("artists", []).append(since_start(page))
                    clicked = since_start(page)
                    page.locator('.library-nav [data-view="newest"]').click()
                    page.locator("#library-view .album-tile").nth(47).wait_for()
                    times.setdefault("recent", []).append(since_start(page) - clicked)
                    clicked = since_start(page)
                    page.locator("#library-view .album-tile").first.click()
                    page.locator("#library-view .songs tbody tr").first.wait_for()
                    times.setdefault("album", []).append(since_start(page) - clicked)
                    nodes = int(page.evaluate("() => document.getElementsByTagName('*').length"))
                    times.setdefault("all artists", []).append(float(page.evaluate(ALL_ARTISTS)))
                    page.context.close()
                browser.close()
            notes = {
                "artists": f"qfzzArtistsPage {sizes['qfzzArtistsPage'] / 1024:.0f} KiB sent "
                f"(getArtists {sizes['getArtists'] / 1024:.0f} KiB)",
                "album": f"{nodes} elements on the page",
                "all artists": "the alternative: every artist listed at once",
            }
            for view, values in times.items():
                note = notes.get(view, "")
                if view == "artists":
                    note += f"; first load {values[0]:.0f} ms (the index cold)"
                p50, worst = statistics.median(values), max(values)
                print(f"{n:>9,} {view:<12} {p50:>8.0f} {worst:>9.0f}  {note}")


def since_start(page: object) -> float:
    """Milliseconds since the page's navigation started, read after the next frame."""
    return float(
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(performance.now())))")
    )  # type: ignore[attr-defined]


class serving:
    """A `qfzz serve` on the catalog's database (its base URL while open)."""

    def __init__(self, url: str, data_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "QFZZ_DATABASE_URL": url, "QFZZ_LOG_LEVEL": "WARNING",
               "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip
        command = [sys.executable, "-m", "qfzz", "serve", "--data-dir", str(data_dir),
                   "--port", str(self.port), "--no-demo"]  # fmt: skip
        self._spawned = spawn(command, ready=http_ok(f"{self.base}/api/v1/health"), env=env)

    def __enter__(self) -> str:
        server = self._spawned.__enter__()
        wait_quiet(server.pid)
        return self.base

    def __exit__(self, *exc: object) -> None:
        self._spawned.__exit__(*exc)


if __name__ == "__main__":
    main()
