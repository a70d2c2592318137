"""Sealed blobs and content records: AEAD round trip, blake3 ids that catch one changed
byte, and signed records whose key travels only when the licence allows sharing copies."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qfzz.network import (
    ContentRecord,
    InvalidRecord,
    MalformedRecord,
    NodeIdentity,
    content_id_of,
    open_blob,
    redistributable,
    seal_blob,
    verify_blob,
)

ORIGIN = NodeIdentity.from_seed(b"\x07" * 32)
OTHER = NodeIdentity.from_seed(b"\x08" * 32)
AUDIO = b"OggS" + bytes(range(256)) * 40


def _record(license: str = "CC-BY-SA-4.0", plaintext: bytes = AUDIO):
    key, blob = seal_blob(plaintext)
    record = ContentRecord.signed(
        ORIGIN,
        blob,
        key,
        media_type="audio/ogg",
        title="Night Train",
        artist="The Sleepers",
        license=license,
    )
    return record, blob, key


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _resign(record: ContentRecord, **changes) -> ContentRecord:
    """A record the origin really signed, with fields an honest origin would never set."""
    unsigned = dataclasses.replace(record, **changes)
    return dataclasses.replace(unsigned, signature=ORIGIN.sign(unsigned.message()))


# -- blobs -----------------------------------------------------------------------------------


@given(st.binary(max_size=4096))
def test_seal_open_round_trip(plaintext):
    key, blob = seal_blob(plaintext)
    assert len(key) == 32
    assert len(blob) == 24 + len(plaintext) + 16
    assert open_blob(blob, key) == plaintext
    verify_blob(content_id_of(blob), blob)


def test_sealing_twice_gives_different_blobs_and_ids():
    key, first = seal_blob(AUDIO)
    _, second = seal_blob(AUDIO, key)
    assert first != second  # random nonce
    assert content_id_of(first) != content_id_of(second)
    assert open_blob(first, key) == open_blob(second, key) == AUDIO


@pytest.mark.parametrize("index", [0, 23, 24, 500, -1])  # nonce, ciphertext, tag
def test_one_changed_byte_is_refused_by_hash_and_by_aead(index):
    key, blob = seal_blob(AUDIO)
    bad = _flip(blob, index % len(blob))
    with pytest.raises(InvalidRecord) as refused:
        verify_blob(content_id_of(blob), bad)
    assert refused.value.reason == "corrupt_blob"
    with pytest.raises(InvalidRecord) as failed:
        open_blob(bad, key)
    assert failed.value.reason == "undecryptable"


def test_wrong_key_truncated_blob_and_bad_key_size_are_refused():
    key, blob = seal_blob(AUDIO)
    other_key, _ = seal_blob(b"")
    with pytest.raises(InvalidRecord) as wrong:
        open_blob(blob, other_key)
    assert wrong.value.reason == "undecryptable"
    with pytest.raises(MalformedRecord) as short:
        open_blob(blob[:39], key)
    assert short.value.reason == "blob_too_short"
    with pytest.raises(MalformedRecord) as bad_key:
        seal_blob(AUDIO, key[:31])
    assert bad_key.value.reason == "bad_key"


# -- licences --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spdx",
    [
        "CC0-1.0",
        "cc0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC BY-SA 3.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-2.0-UK",
        "CC-BY-ND-4.0",
        "CC-BY-NC-ND-4.0",
        "PDDL-1.0",
        "ODbL-1.0",
        "ODC-By-1.0",
        "PD",
        "Public Domain",
    ],
)
def test_licences_that_allow_sharing_copies(spdx):
    assert redistributable(spdx)


@pytest.mark.parametrize(
    "spdx",
    [
        "",
        "All rights reserved",
        "LicenseRef-proprietary",
        "proprietary",
        "CC-BY-SA-ND-4.0",  # no such licence
        "CC-BY-4.0-extra-words",
        "BY",
        "GPL-3.0-only",  # not a licence for recordings here; unknown fails closed
    ],
)
def test_unknown_or_reserved_licences_do_not(spdx):
    assert not redistributable(spdx)


# -- records ---------------------------------------------------------------------------------


def test_free_record_carries_its_key_and_any_node_can_play_a_replica():
    record, blob, key = _record("CC-BY-NC-ND-4.0")
    record.verify()
    assert record.redistributable and record.key == key
    assert record.content_id == content_id_of(blob) and record.size == len(blob)
    again = ContentRecord.from_json(record.to_json())
    again.verify()
    assert again == record
    assert again.open_replica(blob) == AUDIO
    with pytest.raises(InvalidRecord) as corrupt:
        again.open_replica(_flip(blob, 100))
    assert corrupt.value.reason == "corrupt_blob"


def test_non_redistributable_record_carries_no_key_and_cannot_be_played():
    record, blob, key = _record("All rights reserved")
    record.verify()
    assert not record.redistributable
    assert record.key is None
    assert record.to_json()["key"] is None
    assert key.hex() not in str(record.to_json())
    with pytest.raises(InvalidRecord) as refused:
        record.open_replica(blob)
    assert refused.value.reason == "not_redistributable"
    assert open_blob(blob, key) == AUDIO  # the origin still can


def test_a_signed_record_that_leaks_a_key_is_refused():
    record, _, key = _record("All rights reserved")
    leaky = _resign(record, key=key)
    with pytest.raises(InvalidRecord) as refused:
        leaky.verify()
    assert refused.value.reason == "key_leak"


@pytest.mark.parametrize(
    ("license", "changes", "reason"),
    [
        ("CC-BY-4.0", {"key": None}, "missing_key"),
        ("All rights reserved", {"redistributable": True}, "license_mismatch"),
        ("CC-BY-4.0", {"redistributable": False, "key": None}, "license_mismatch"),
    ],
)
def test_records_whose_key_and_licence_disagree_are_refused(license, changes, reason):
    record, _, _ = _record(license)
    with pytest.raises(InvalidRecord) as refused:
        _resign(record, **changes).verify()
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "Day Train"},
        {"license": "CC-BY-SA-3.0"},
        {"size": 99},
        {"content_id": "0" * 64},
    ],
)
def test_tampered_record_is_refused(changes):
    record, _, _ = _record()
    tampered = ContentRecord.from_json({**record.to_json(), **changes})
    with pytest.raises(InvalidRecord) as refused:
        tampered.verify()
    assert refused.value.reason == "bad_signature"


def test_bad_signature_and_foreign_key_are_refused():
    record, _, _ = _record()
    forged = dataclasses.replace(record, signature=OTHER.sign(record.message()))
    with pytest.raises(InvalidRecord) as bad:
        forged.verify()
    assert bad.value.reason == "bad_signature"
    stolen = dataclasses.replace(record, origin_key=OTHER.public_key)
    with pytest.raises(InvalidRecord) as mismatch:
        stolen.verify()
    assert mismatch.value.reason == "node_id_mismatch"


def test_signing_with_a_key_that_does_not_open_the_blob_is_refused():
    _, blob = seal_blob(AUDIO)
    other_key, _ = seal_blob(b"")
    with pytest.raises(InvalidRecord):
        ContentRecord.signed(
            ORIGIN, blob, other_key, media_type="audio/ogg", title="", artist="", license="CC0"
        )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("title", "x" * 513, "string_too_long"),
        ("license", "L" * 65, "string_too_long"),
        ("media_type", "not a type", "bad_media_type"),
        ("content_id", "ab" * 31, "bad_content_id"),
        ("key", "00" * 31, "malformed"),
        ("size", -1, "malformed"),
        ("size", 2**33, "malformed"),
        ("redistributable", "yes", "malformed"),
        ("origin_key", 5, "malformed"),
    ],
)
def test_out_of_bounds_fields_are_malformed(field, value, reason):
    record, _, _ = _record()
    with pytest.raises(MalformedRecord) as refused:
        ContentRecord.from_json({**record.to_json(), field: value})
    assert refused.value.reason == reason


def test_missing_field_and_non_object_are_malformed():
    record, _, _ = _record()
    body = record.to_json()
    del body["key"]
    with pytest.raises(MalformedRecord):
        ContentRecord.from_json(body)
    with pytest.raises(MalformedRecord):
        ContentRecord.from_json([body])
