"""Accounts: one normalised user id everywhere it comes in, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qfzz.api import create_api
from qfzz.app import build_station, command_line
from qfzz.errors import AuthError, InvalidInput, ListenerExists
from qfzz.models import normalise_user_id, user_key
from qfzz.settings import Settings
from qfzz.store import open_store


@pytest.fixture
def any_store_station(store_url, tmp_path, clock):
    settings = Settings(data_dir=tmp_path / "data", demo_library=False)
    station = build_station(settings, store=open_store(store_url), clock=clock)
    try:
        yield station
    finally:
        station.close()


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("admin\n", "admin"),
        (" admin ", "admin"),
        ("\u3000zoë\t", "zoë"),  # an ideographic space is whitespace too
        ("zoe\u0308", "zoë"),  # NFD in, NFC stored
        ("田中", "田中"),
        ("हिन्दी", "हिन्दी"),  # combining vowel signs after the first letter
        ("a.b@c-d_e", "a.b@c-d_e"),
        ("7of9", "7of9"),
        ("x" * 64, "x" * 64),
    ],
)
def test_user_ids_are_normalised(raw, stored):
    assert normalise_user_id(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " \n ",
        "ad\nmin",
        "ad min",
        "ad\u00a0min",  # no-break space
        "ad\u200bmin",  # zero-width space (format)
        "ad\u202emin",  # right-to-left override (format)
        "ad\ud800min",  # a lone surrogate
        "ad\U000e0041min",  # a tag character
        "ad\ue000min",  # private use
        "ad\u0378min",  # unassigned
        "\u0301e",  # a combining mark cannot start an id
        "-ann",
        ".ann",
        "ann/bob",
        "ann:x",
        "a💥",
        "x" * 65,
        "x" * 1000,
    ],
)
def test_user_ids_that_have_no_normal_form_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_user_id(raw)


def test_keys_fold_case_and_width_but_not_letters_apart():
    assert user_key("Zoë") == user_key("ZOË") == user_key("zoë") == user_key("ｚｏë")
    assert user_key("Straße") == user_key("STRASSE")
    assert user_key("zoe") != user_key("zoë")
    assert user_key("田中") != user_key("田申")


def test_registration_and_login_take_any_spelling_on_every_store(any_store_station):
    station = any_store_station
    first = station.register_listener(" Zoë\n", {}, password="pw-1234")
    assert first.user_id == "Zoë"
    for twin in ("zoë", "ZOË", "zoe\u0308", "ｚｏë"):
        with pytest.raises(ListenerExists):
            station.register_listener(twin, {}, password="pw-1234")
    with pytest.raises(InvalidInput):
        station.register_listener("zo\u200bë", {}, password="pw-1234")
    assert station.register_listener("田中", {}, password="pw-1234").user_id == "田中"
    for spelling in ("zoë", "ZOE\u0308", "Zoë "):
        token = station.accounts.login(spelling, "pw-1234")
        assert station.accounts.authenticate(token).user_id == "Zoë"
    tanaka = station.accounts.login("田中", "pw-1234")
    assert station.accounts.authenticate(tanaka).user_id == "田中"
    with pytest.raises(AuthError):
        station.accounts.login("zoë", "wrong")
    assert station.parts.store.listeners.user_ids() == ["Zoë", "田中"]


def test_subsonic_u_takes_any_spelling(station):
    station.register_listener("Zoë", {}, password="pw-1234")
    app_password = station.accounts.app_password("Zoë")
    salt = "a1b2c3"
    token = hashlib.md5((app_password + salt).encode()).hexdigest()
    for spelling in ("zoë", "ZOË", " zoe\u0308"):
        assert station.accounts.subsonic(spelling, token=token, salt=salt).user_id == "Zoë"
        assert station.accounts.subsonic(spelling, password=app_password).user_id == "Zoë"
    for bad in ("nobody", "zo\në", "x" * 300):
        with pytest.raises(AuthError):
            station.accounts.subsonic(bad, password=app_password)
    with pytest.raises(AuthError):  # a non-ASCII password is a wrong one, not a crash
        station.accounts.subsonic("zoë", password="pässwörd")


def test_the_login_limit_counts_every_spelling_of_an_id_together(station, clock):
    station.register_listener("ann", {}, password="pw-1234")
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        spellings = ["ann", "ANN", " ann", "Ann\t", "ａｎｎ"]
        limit = station.settings.login_attempts_per_minute
        answers = []
        for n in range(limit + 1):
            clock.advance(1)  # within the minute, but past the station-wide second
            answer = client.post(
                "/api/v1/auth/login",
                json={"user_id": spellings[n % len(spellings)], "password": "nope"},
            )
            answers.append(answer.status_code)
        assert answers[:limit] == [401] * limit and answers[limit] == 429


def test_the_admin_password_takes_over_a_squatted_name_and_ends_its_sessions(tmp_path, clock):
    data = tmp_path / "data"
    first = build_station(Settings(data_dir=data, demo_library=False), clock=clock)
    squatter = first.register_listener("ADMIN", {}, password="squatted")
    first.close()
    settings = Settings(data_dir=data, demo_library=False, admin_password="root-pw")
    station = build_station(settings, clock=clock)
    station.start()
    try:
        with pytest.raises(AuthError):  # the squatter's session did not become an admin's
            station.accounts.authenticate(squatter.token)
        with pytest.raises(AuthError):
            station.accounts.login("ADMIN", "squatted")
        admin = station.accounts.authenticate(station.accounts.login("admin", "root-pw"))
        assert admin.is_admin and admin.user_id == "ADMIN"
    finally:
        station.close()


def test_cli_commands_normalise_user_ids(tmp_path):
    data = tmp_path / "data"
    cli = command_line()
    runner = CliRunner()

    def qfzz(*args: str, **kwargs):
        return runner.invoke(cli, [*args, "--data-dir", str(data)], **kwargs)

    added = qfzz("listener", "add", " Zoë\n", "--password", "pw-1234")
    assert added.exit_code == 0, added.output
    assert "listener Zoë added" in added.output
    again = qfzz("listener", "add", "ZOË")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = qfzz("listener", "add", "zo ë")
    assert bad.exit_code == 1 and "user_id" in bad.output
    promoted = qfzz("admin", "create", "zoë", input="root-pw\nroot-pw\n")
    assert promoted.exit_code == 0, promoted.output
    assert "Zoë is an admin" in promoted.output
    station = build_station(Settings(data_dir=data, demo_library=False))
    try:
        assert station.parts.store.listeners.user_ids() == ["Zoë"]
        assert station.accounts.authenticate(station.accounts.login("ZOË", "root-pw")).is_admin
    finally:
        station.close()


def test_two_first_uses_of_the_app_password_at_once_get_the_same_one(station):
    """The web page and an app asking at the same moment: one password, valid for both."""
    station.register_listener("twin", {}, password="pw-1234")
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def ask() -> None:
        barrier.wait()
        seen.append(station.accounts.app_password("twin"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1
    assert station.accounts.app_password("twin") == seen[0]
