"""Stream keys: random, stored only as a digest, lasting until regenerated or revoked."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from qfzz.errors import AuthError, UnknownListener
from qfzz.store._schema import stream_keys


@pytest.fixture
def accounts(station):
    station.register_listener("ann", {}, password="pw-1234")
    station.register_listener("bo", {}, password="pw-1234")
    return station.accounts


def _rows(station):
    with station.parts.store.db.read() as conn:
        return [dict(row) for row in conn.execute(select(stream_keys)).mappings()]


def test_a_key_names_its_listener_and_lasts(station, accounts, clock):
    key = accounts.create_stream_key("ann")
    assert key.startswith("sk_") and len(key) == 46
    clock.advance(400 * 24 * 3600)  # a stream token would long have expired
    principal = accounts.verify_stream_key(key)
    assert (principal.user_id, principal.role, principal.session) == ("ann", "listener", None)
    assert accounts.stream_key_info("ann") == clock() - 400 * 24 * 3600
    assert accounts.stream_key_info("bo") is None


def test_only_the_digest_is_stored(station, accounts):
    key = accounts.create_stream_key("ann")
    [row] = _rows(station)
    assert row["digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(row) and key[3:] not in repr(row)


def test_keys_are_random(accounts):
    keys = {accounts.create_stream_key("ann") for _ in range(20)}
    assert len(keys) == 20


def test_a_new_key_revokes_the_old_one(accounts):
    old = accounts.create_stream_key("ann")
    new = accounts.create_stream_key("ann")
    with pytest.raises(AuthError, match="unknown or revoked stream key"):
        accounts.verify_stream_key(old)
    assert accounts.verify_stream_key(new).user_id == "ann"


def test_a_revoked_key_is_refused(accounts):
    key = accounts.create_stream_key("ann")
    assert accounts.revoke_stream_key("ann") is True
    assert accounts.revoke_stream_key("ann") is False
    with pytest.raises(AuthError, match="unknown or revoked stream key"):
        accounts.verify_stream_key(key)
    assert accounts.stream_key_info("ann") is None


def test_each_listener_keeps_their_own_key(accounts):
    ann, bo = accounts.create_stream_key("ann"), accounts.create_stream_key("bo")
    accounts.revoke_stream_key("bo")
    assert accounts.verify_stream_key(ann).user_id == "ann"
    with pytest.raises(AuthError):
        accounts.verify_stream_key(bo)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "malformed"),
        ("sk_" + "a" * 42, "malformed"),
        ("sk_" + "a" * 44, "malformed"),
        ("xx_" + "a" * 43, "malformed"),
        ("sk_" + "a" * 42 + "=", "malformed"),
        ("sk_" + "a" * 42 + "é", "malformed"),
        ("sk_" + "a" * 10_000, "malformed"),
        ("sk_" + "a" * 43, "unknown or revoked"),
    ],
)
def test_malformed_and_unknown_keys_are_refused_with_a_reason(station, accounts, key, why):
    accounts.create_stream_key("ann")
    with pytest.raises(AuthError, match=why):
        accounts.verify_stream_key(key)
    assert len(_rows(station)) == 1  # nothing stored


def test_no_key_for_a_listener_who_does_not_exist(station, accounts):
    with pytest.raises(UnknownListener):
        accounts.create_stream_key("zed")
    assert _rows(station) == []
