"""The upload store without HTTP: leases, bodies cut short, finishing across a crash."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_helpers import Finished

from qfzz.ingest import (
    LEASE_SECONDS,
    Checksum,
    TusError,
    UploadStore,
    encode_metadata,
    parse_metadata,
)
from qfzz.testing import FakeClock


def make_store(root: Path, clock: FakeClock, finished: Finished | None = None) -> UploadStore:
    return UploadStore(
        root,
        clock=clock,
        max_size=10_000,
        quota=20_000,
        expiry_seconds=60.0,
        on_finished=finished if finished is not None else Finished(),
    )


async def chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_a_stalled_writer_loses_the_upload_when_its_lease_runs_out(tmp_path: Path) -> None:
    clock, finished = FakeClock(), Finished()
    store = make_store(tmp_path, clock, finished)
    upload = store.create("ann", 8, {})

    async def scenario() -> None:
        wrote_first, go_on = asyncio.Event(), asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield b"AAAA"
            wrote_first.set()
            await go_on.wait()  # the client stops sending but keeps its connection
            yield b"AAAA"

        holder = asyncio.create_task(store.append(upload.upload_id, "ann", 0, stalled()))
        await wrote_first.wait()
        with pytest.raises(TusError) as locked:
            await store.append(upload.upload_id, "ann", 0, chunks([b"BBBBBBBB"]))
        assert locked.value.status == 423

        clock.advance(LEASE_SECONDS + 0.1)
        done = await store.append(upload.upload_id, "ann", 0, chunks([b"BBBB", b"BBBB"]))
        assert done.offset == 8

        go_on.set()  # the stale holder wakes up: it must neither write nor record
        with pytest.raises(TusError) as taken:
            await holder
        assert taken.value.status == 423

    asyncio.run(scenario())
    assert finished.calls == [(upload.upload_id, b"BBBBBBBB")]
    assert not store.data_path(upload.upload_id).exists()  # the handler took the bytes


def test_a_body_cut_short_keeps_what_arrived_unless_a_checksum_was_promised(
    tmp_path: Path,
) -> None:
    store = make_store(tmp_path, FakeClock())
    upload = store.create("ann", 100, {})
    kept = asyncio.run(store.append(upload.upload_id, "ann", 0, chunks([b"x" * 30]), declared=50))
    assert kept.offset == 30

    digest = hashlib.sha1(b"y" * 50).digest()
    with pytest.raises(TusError):
        asyncio.run(
            store.append(
                upload.upload_id,
                "ann",
                30,
                chunks([b"y" * 20]),
                declared=50,
                checksum=Checksum("sha1", digest),
            )
        )
    assert store.get(upload.upload_id, "ann").offset == 30
    assert store.data_path(upload.upload_id).read_bytes() == b"x" * 30


def test_state_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    upload = store.create("ann", 10, {"filename": "a.flac"})
    asyncio.run(store.append(upload.upload_id, "ann", 0, chunks([b"12345"])))
    again = make_store(tmp_path, clock).get(upload.upload_id, "ann")
    assert (again.offset, again.length, again.metadata) == (5, 10, {"filename": "a.flac"})


def test_finishing_is_recorded_before_the_handler_and_retried_after_a_crash(
    tmp_path: Path,
) -> None:
    """Exactly once in one process; at least once across a crash inside the handler."""
    clock = FakeClock()

    class Crashing(Finished):
        def __call__(self, upload, data):  # type: ignore[no-untyped-def]
            state = json.loads((data.parent / "state.json").read_text())
            assert state["state"] == "finishing"  # recorded before the handler runs
            super().__call__(upload, data)
            raise RuntimeError("the process dies here")

    crashing = Crashing()
    store = make_store(tmp_path, clock, crashing)
    upload = store.create("ann", 3, {})
    asyncio.run(store.append(upload.upload_id, "ann", 0, chunks([b"abc"])))
    assert len(crashing.calls) == 1
    asyncio.run(store.append(upload.upload_id, "ann", 3, chunks([])))  # a retried last PATCH
    assert len(crashing.calls) == 1

    finished = Finished()
    restarted = make_store(tmp_path, clock, finished)
    assert restarted.recover() == [upload.upload_id]
    assert restarted.recover() == []
    assert finished.calls == [(upload.upload_id, b"abc")]
    assert make_store(tmp_path, clock, finished).recover() == []
    assert len(finished.calls) == 1


def test_the_cleaner_spares_finished_and_busy_uploads(tmp_path: Path) -> None:
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    idle = store.create("ann", 10, {})
    done = store.create("ann", 1, {})
    asyncio.run(store.append(done.upload_id, "ann", 0, chunks([b"x"])))
    assert store.remove_expired(clock() + 59) == []
    assert store.remove_expired(clock() + 61) == [idle.upload_id]
    assert sorted(p.name for p in tmp_path.iterdir()) == [done.upload_id]


def test_creation_sweeps_expired_uploads(tmp_path: Path) -> None:
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    old = store.create("ann", 10, {})
    clock.advance(120)
    store.create("ann", 10, {})
    assert [u.upload_id for u in store.uploads_of("ann")] != [old.upload_id]
    assert old.upload_id not in {p.name for p in tmp_path.iterdir()}


def test_ids_are_random_and_never_paths(tmp_path: Path) -> None:
    store = make_store(tmp_path, FakeClock())
    ids = {store.create("ann", 1, {}).upload_id for _ in range(20)}
    assert len(ids) == 20
    for hostile in ("../x", "", "A" * 32, "/etc/passwd"):
        with pytest.raises(TusError) as unknown:
            store.get(hostile, "ann")
        assert unknown.value.status == 404


metadata_values = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz._-0123456789", min_size=1, max_size=64),
    st.text(max_size=200).filter(lambda v: len(v.encode()) <= 1024),
    max_size=16,
)


@given(metadata_values)
def test_metadata_round_trips(metadata: dict[str, str]) -> None:
    assert parse_metadata(encode_metadata(metadata)) == metadata


@given(st.binary(min_size=1, max_size=64))
def test_metadata_that_is_not_utf8_is_refused(raw: bytes) -> None:
    header = f"k {base64.b64encode(raw).decode()}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(TusError):
            parse_metadata(header)
    else:
        assert parse_metadata(header) == {"k": text}
