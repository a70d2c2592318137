"""Per-address limits count the real peer: X-Forwarded-For is believed only from proxies
the operator named, and Subsonic's wrong passwords are limited like REST logins.

The probe: uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so a client on the
same host (or behind a proxy that passes the header on) chose its own address per request
and was never limited; and 30 wrong Subsonic passwords in a row were all answered.
These run a real uvicorn server with QFZZ's own server options.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks, serve_in_thread

# The station-wide budget of password checks is lifted here (the clock stands still),
# except where it is what is tested.
ROOMY = 1000


@pytest.fixture
def served(tmp_path, clock) -> Iterator[tuple[str, QFZZStation]]:
    settings = Settings(
        data_dir=tmp_path / "data", demo_library=False, password_checks_per_second=ROOMY
    )
    yield from _serve(settings, clock)


@pytest.fixture
def behind_proxy(request, tmp_path, clock) -> Iterator[tuple[str, QFZZStation]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        demo_library=False,
        trusted_proxies=["127.0.0.0/8"],
        password_checks_per_second=getattr(request, "param", ROOMY),
    )
    yield from _serve(settings, clock)


def _serve(settings: Settings, clock) -> Iterator[tuple[str, QFZZStation]]:
    station = build_station(settings, clock=clock)
    add_synthetic_tracks(station.parts.store, SIX_GENRES, now=clock())
    station.start()
    try:
        with serve_in_thread(station) as url:
            yield url, station
    finally:
        station.close()


def _login(url: str, n: int, forwarded: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return httpx.post(
        f"{url}/api/v1/auth/login",
        json={"user_id": f"nobody{n}", "password": "wrong-password"},
        headers=headers,
    )


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(served):
    url, station = served
    limit = station.settings.login_attempts_per_minute
    answers = [_login(url, n, forwarded=f"203.0.113.{n}").status_code for n in range(limit + 5)]
    assert answers[:limit] == [401] * limit
    assert answers[limit:] == [429] * 5  # one address, whatever the header claims


def test_a_trusted_proxy_passes_on_each_clients_address(behind_proxy, clock):
    url, station = behind_proxy
    limit = station.settings.login_attempts_per_minute
    spread = [_login(url, n, forwarded=f"203.0.113.{n}").status_code for n in range(limit + 5)]
    assert spread == [401] * (limit + 5)  # a different client each time
    same = [_login(url, n, forwarded="198.51.100.7").status_code for n in range(limit + 1)]
    assert same[-1] == 429 and same[:limit] == [401] * limit


@pytest.mark.parametrize("behind_proxy", [4], indirect=True)
def test_password_checks_are_limited_station_wide_whatever_the_address(behind_proxy, clock):
    """Logins spread over many addresses pass the per-address limit, not this one: each
    costs an argon2 computation (64 MiB, ~0.1 s of CPU), so the station as a whole takes
    a few a second and answers the rest 429 without reading them."""
    url, station = behind_proxy
    second = [_login(url, n, forwarded=f"203.0.113.{n}").status_code for n in range(6)]
    assert second == [401, 401, 401, 401, 429, 429]
    registered = httpx.post(
        f"{url}/api/v1/listeners", json={"user_id": "newcomer", "password": "pw-12345"}
    )
    assert registered.status_code == 429 and station.parts.store.listeners.get("newcomer") is None
    clock.advance(1)
    assert _login(url, 99, forwarded="198.51.100.9").status_code == 401


def test_wrong_subsonic_passwords_are_throttled_then_forgiven(served, clock):
    url, station = served
    station.register_listener("sam", {}, password="pw-12345")
    right = station.accounts.app_password("sam")
    limit = station.settings.login_attempts_per_minute

    def ping(password: str) -> httpx.Response:
        return httpx.get(f"{url}/rest/ping", params={"u": "sam", "p": password, "f": "json"})

    for _ in range(3):  # successes never count: apps sign every request
        assert ping(right).json()["subsonic-response"]["status"] == "ok"
    wrong = [ping(f"guess-{n}").json()["subsonic-response"]["error"]["code"] for n in range(limit)]
    assert wrong == [40] * limit
    refused = ping(right)  # even the right password, until the window passes
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json()["subsonic-response"]["status"] == "failed"
    clock.advance(61)
    assert ping(right).json()["subsonic-response"]["status"] == "ok"


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path):
    assert Settings(trusted_proxies="10.0.0.1, 192.168.0.0/16").trusted_proxies == [
        "10.0.0.1",
        "192.168.0.0/16",
    ]
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(trusted_proxies=["proxy.local"])
