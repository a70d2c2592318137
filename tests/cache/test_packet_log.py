"""The packet log: a bounded Redis Stream that a maker appends to and many processes read,
each from where it is (a real Redis server)."""

from __future__ import annotations

import threading

import pytest

from qfzz.cache import NEWEST, PacketLog, open_cache


def test_the_embedded_cache_has_no_log():
    with pytest.raises(ValueError):
        PacketLog(open_cache(None), "mount:main", maxlen=10)


@pytest.mark.parametrize("backend_kind", ["redis"], indirect=True)
def test_readers_in_other_processes_get_every_record_in_order_from_where_they_are(make_cache):
    maker = PacketLog(make_cache(), "mount:main:mp3:128", maxlen=1000)
    reader = PacketLog(make_cache(), "mount:main:mp3:128", maxlen=1000)
    assert reader.read(NEWEST, wait=0.01) == []  # nothing comes: an empty answer
    first = maker.append({"at": b"1.0", "data": b"\xff\xfb frame 1"})
    assert first is not None
    maker.append({"at": b"1.5", "data": b"frame 2"})
    records = reader.read("0", wait=1.0)
    assert records is not None
    assert [fields["data"] for _, fields in records] == [b"\xff\xfb frame 1", b"frame 2"]
    assert records[0][0] == first
    # a reader goes on from the last id it read; one waiting is woken by the next append
    woken: list[object] = []
    waiting = threading.Thread(target=lambda: woken.append(reader.read(records[-1][0], wait=5)))
    waiting.start()
    maker.append({"at": b"2.0", "data": b"frame 3"})
    waiting.join(10)
    (later,) = woken
    assert isinstance(later, list) and [f["data"] for _, f in later] == [b"frame 3"]
    # a new listener's burst: the latest records, oldest first
    tail = reader.tail(2)
    assert tail is not None and [f["at"] for _, f in tail] == [b"1.5", b"2.0"]


@pytest.mark.parametrize("backend_kind", ["redis"], indirect=True)
def test_the_log_keeps_about_its_length_and_can_be_cleared(make_cache):
    log = PacketLog(make_cache(), "mount:small", maxlen=10)
    for n in range(500):
        log.append({"n": str(n).encode()})
    kept = log.tail(1000)
    assert kept is not None and 10 <= len(kept) < 500  # trimmed (approximately, as Redis does)
    assert kept[-1][1]["n"] == b"499"
    log.clear()
    assert log.tail(10) == []
