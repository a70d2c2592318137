"""NodeIdentity: the key file is created once (0600), reloaded as the same node, and refused
when others can read it; NodeID is the blake3 of the public key."""

from __future__ import annotations

import os
import stat

import blake3
import pytest

from qfzz.network import (
    KEY_FILE,
    SCHEMA_VERSION,
    IdentityError,
    NodeIdentity,
    membership_key,
    node_id_of,
    receipt_key,
    verify_signature,
)


def test_first_use_creates_a_private_key_file(tmp_path):
    identity = NodeIdentity.load_or_create(tmp_path / "data")
    key_file = tmp_path / "data" / KEY_FILE
    assert NodeIdentity.from_seed(key_file.read_bytes()).node_id == identity.node_id
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    assert [p.name for p in (tmp_path / "data").iterdir()] == [KEY_FILE]  # no temp file left


def test_a_restart_is_the_same_node(tmp_path):
    first = NodeIdentity.load_or_create(tmp_path)
    second = NodeIdentity.load_or_create(tmp_path)
    assert first.node_id == second.node_id
    assert first.public_key == second.public_key
    assert NodeIdentity.load_or_create(tmp_path / "other").node_id != first.node_id


def test_node_id_is_blake3_of_the_public_key(tmp_path):
    identity = NodeIdentity.load_or_create(tmp_path)
    assert identity.node_id == blake3.blake3(identity.public_key).hexdigest()
    assert identity.node_id == node_id_of(identity.public_key)
    assert len(identity.node_id) == 64


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    NodeIdentity.load_or_create(tmp_path)
    os.chmod(tmp_path / KEY_FILE, mode)
    with pytest.raises(IdentityError, match="chmod 600"):
        NodeIdentity.load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == mode  # not silently "fixed"


def test_a_truncated_key_file_is_refused(tmp_path):
    fd = os.open(tmp_path / KEY_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short")
    os.close(fd)
    with pytest.raises(IdentityError, match="5 bytes"):
        NodeIdentity.load_or_create(tmp_path)


def test_signatures_verify_only_for_the_signed_bytes_and_key():
    alice, bob = NodeIdentity.generate(), NodeIdentity.generate()
    signature = alice.sign(b"hello")
    assert verify_signature(alice.public_key, b"hello", signature)
    assert not verify_signature(alice.public_key, b"hellO", signature)
    assert not verify_signature(bob.public_key, b"hello", signature)
    assert not verify_signature(alice.public_key, b"hello", signature[:-1])
    assert not verify_signature(b"\x00" * 31, b"hello", signature)


def test_record_keys_carry_the_schema_version():
    assert SCHEMA_VERSION == "v1"
    assert membership_key("ab") == "v1/membership/ab"
    assert receipt_key("ab", "cd") == "v1/receipt/ab/cd"
