"""Originals sealed in chunks: round trips, any range, and every kind of tampering refused."""

from __future__ import annotations

import os
import random
import tracemalloc
from pathlib import Path

import blake3
import pytest

from qfzz.ingest import SealBroken, SealedFile, seal_file
from qfzz.ingest._sealed import CHUNK, HEADER_BYTES, TAG_BYTES


def _sealed(tmp_path: Path, data: bytes) -> tuple[Path, bytes]:
    source, target = tmp_path / "plain", tmp_path / "sealed"
    source.write_bytes(data)
    made = seal_file(source, target)
    assert made.content_id == blake3.blake3(target.read_bytes()).hexdigest()
    assert (made.size, made.sealed_size) == (len(data), target.stat().st_size)
    return target, made.key


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
def test_every_size_round_trips(tmp_path, size):
    data = os.urandom(size)
    target, key = _sealed(tmp_path, data)
    opened = SealedFile(target, key)
    assert opened.size == size and opened.read_all() == data


def test_any_range_decrypts_to_the_same_bytes_as_slicing(tmp_path):
    data = os.urandom(5 * CHUNK + 123)
    target, key = _sealed(tmp_path, data)
    opened = SealedFile(target, key)
    rng = random.Random(7)
    edges = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, len(data) - 1, len(data)]
    pairs = [(a, b) for a in edges for b in edges if a <= b]
    pairs += sorted((rng.randrange(len(data)), rng.randrange(len(data))) for _ in range(50))
    for start, stop in pairs:
        start, stop = min(start, stop), max(start, stop)
        assert b"".join(opened.read(start, stop)) == data[start:stop], (start, stop)


def test_two_seals_of_one_file_differ(tmp_path):
    data = b"same song" * 1000
    (tmp_path / "a").mkdir()
    first, _ = _sealed(tmp_path / "a", data)
    (tmp_path / "b").mkdir()
    second, _ = _sealed(tmp_path / "b", data)
    assert first.read_bytes() != second.read_bytes()  # fresh key and nonce prefix


def _flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def test_a_changed_byte_anywhere_is_refused_never_returned(tmp_path):
    data = os.urandom(3 * CHUNK)
    target, key = _sealed(tmp_path, data)
    stride = CHUNK + TAG_BYTES
    _flip(target, HEADER_BYTES + stride + 100)  # inside the second chunk
    opened = SealedFile(target, key)
    assert b"".join(opened.read(0, CHUNK)) == data[:CHUNK]  # the first chunk is intact
    with pytest.raises(SealBroken):
        list(opened.read(CHUNK, CHUNK + 10))


def test_a_changed_header_breaks_every_chunk(tmp_path):
    target, key = _sealed(tmp_path, os.urandom(2 * CHUNK))
    _flip(target, HEADER_BYTES - 1)  # the nonce prefix
    with pytest.raises(SealBroken):
        list(SealedFile(target, key).read(0, 1))


def test_a_cut_short_or_grown_file_does_not_open(tmp_path):
    target, key = _sealed(tmp_path, os.urandom(2 * CHUNK + 7))
    whole = target.read_bytes()
    target.write_bytes(whole[: HEADER_BYTES + CHUNK + TAG_BYTES])  # the last chunk dropped
    with pytest.raises(SealBroken, match="cut short"):
        SealedFile(target, key)
    target.write_bytes(whole + b"x")
    with pytest.raises(SealBroken, match="cut short or grew"):
        SealedFile(target, key)
    target.write_bytes(b"not sealed")
    with pytest.raises(SealBroken, match="not a sealed original"):
        SealedFile(target, key)


def test_swapped_chunks_and_a_wrong_key_are_refused(tmp_path):
    target, key = _sealed(tmp_path, os.urandom(3 * CHUNK))
    whole = target.read_bytes()
    stride = CHUNK + TAG_BYTES
    head, chunks = whole[:HEADER_BYTES], whole[HEADER_BYTES:]
    one, two = chunks[:stride], chunks[stride : 2 * stride]
    target.write_bytes(head + two + one + chunks[2 * stride :])
    with pytest.raises(SealBroken):
        list(SealedFile(target, key).read(0, 10))
    target.write_bytes(whole)
    with pytest.raises(SealBroken):
        list(SealedFile(target, bytes(32)).read(0, 10))
    with pytest.raises(SealBroken):
        SealedFile(target, b"short")


def test_sealing_and_reading_hold_a_chunk_not_the_file(tmp_path):
    size = 16 * 1024 * 1024
    source = tmp_path / "big"
    with open(source, "wb") as out:
        for _ in range(size // CHUNK):
            out.write(os.urandom(CHUNK))
    tracemalloc.start()
    try:
        made = seal_file(source, tmp_path / "sealed")
        for _piece in SealedFile(tmp_path / "sealed", made.key).read():
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * CHUNK  # a few chunks in flight; the file is 256 chunks
