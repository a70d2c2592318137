"""Idle mounts cost nothing and fresh ones burst: encoders stop by the clock alone after
their grace period (the PCM stage with the last of them), a quiet personal radio is
retired and resumed where it was, and a new listener gets the burst at once — on simulated
time, never on real time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from qfzz.app import build_station
from qfzz.audio import SAMPLE_RATE, decode_all
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SimulatedClock, simulated_station, write_tone_library
from qfzz.testing import wait_for as _wait

GRACE = 10.0


def _settings(tmp_path, **overrides) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "d",
        "demo_library": False,
        "crossfade_seconds": 0.5,
        "burst_seconds": 1.0,
        "encoder_idle_seconds": GRACE,
        "stream_buffer_seconds": 8.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def idle(tmp_path, tone_library):
    with simulated_station(_settings(tmp_path), tone_library) as (station, clock):
        yield station, clock


def _started_since(before: set[threading.Thread]) -> list[str]:
    """The threads alive now that were not before (threads of other tests may end
    meanwhile: a count would not do)."""
    return [t.name for t in threading.enumerate() if t not in before]


def _listen_until(tuning, clock, when: float) -> None:
    """Read the tuning's chunks (keeping simulated time moving) until the clock reads
    ``when``."""
    with tuning.reader:
        while clock() < when:
            tuning.reader.read_many(64, block=True, timeout=1.0)


def test_an_idle_encoder_stops_after_the_grace_period_by_the_clock_alone(idle):
    station, clock = idle
    mount = station.radio.mount("main")
    threads = set(threading.enumerate())  # the station's own, the reaper among them
    _listen_until(mount.tune_in("mp3", 128), clock, clock() + 2.0)
    assert _started_since(threads)  # program, encoder and chunk cutters run
    assert clock.pause_when(lambda: True)  # held: the grace is counted from the leave
    mount.leave("mp3", 128)
    left = clock()
    # nobody calls anything from here on: only simulated time passes
    assert clock.pause_when(lambda: clock() >= left + GRACE - 1.0)
    assert mount.encoders == [("mp3", 128)] and mount.pcm.is_running  # still in grace
    clock.resume()
    assert _wait(lambda: mount.encoders == [])
    assert clock() >= left + GRACE
    assert _wait(lambda: not mount.pcm.is_running)  # the program stops with the encoder
    assert _wait(lambda: not _started_since(threads)), _started_since(threads)  # none left
    assert mount in station.radio.all_mounts()  # a shared mount stays, stopped


def test_a_listener_arriving_in_the_grace_period_keeps_the_encoder(idle):
    station, clock = idle
    mount = station.radio.mount("main")
    _listen_until(mount.tune_in("mp3", 128), clock, clock() + 1.0)
    assert clock.pause_when(lambda: True)  # held: the grace is counted from the leave
    mount.leave("mp3", 128)
    left = clock()
    assert clock.pause_when(lambda: clock() >= left + GRACE / 2)
    back = mount.tune_in("mp3", 128)
    clock.resume()
    _listen_until(back, clock, left + 2 * GRACE)  # well past the first grace period
    assert mount.encoders == [("mp3", 128)] and mount.listener_count() == 1
    mount.leave("mp3", 128)
    again = clock()
    assert _wait(lambda: mount.encoders == [])
    assert clock() >= again + GRACE


def test_a_quiet_personal_radio_is_retired_and_resumes_where_it_was(idle):
    station, clock = idle
    station.register_listener("ann", {"genres": ["jazz"]})
    radio = station.radio
    threads = set(threading.enumerate())
    mount = radio.personal("ann")
    _listen_until(mount.tune_in("mp3", 128), clock, clock() + 3.0)
    mount.leave("mp3", 128)
    left = clock()
    # nothing waits on the clock once it is retired: time stands where it retired
    assert _wait(lambda: "ann" in radio.resting)
    assert mount.retired and mount not in radio.all_mounts()
    assert clock() >= left + GRACE
    assert mount.encoders == [] and not mount.pcm.is_running
    suspended = mount.now()  # where the radio was when it stopped (no successor yet)
    assert suspended.track is not None
    assert _wait(lambda: not _started_since(threads)), _started_since(threads)  # none runs

    back = radio.personal("ann")  # the listener returns
    assert back is not mount and back.program is mount.program
    assert "ann" not in radio.resting
    tuning = back.tune_in("mp3", 128)
    with tuning.reader:
        first = tuning.reader.read()
    resumed = back.now()
    assert first.marks[0].track_id == suspended.track.track_id  # the same track...
    assert resumed.track is not None and resumed.track.track_id == suspended.track.track_id
    # ...from where it was (the program resumes at the position heard at retirement)
    assert resumed.track.start_seconds == pytest.approx(suspended.position, abs=0.01)
    assert mount.now().track is resumed.track  # the old mount answers for its successor
    back.leave("mp3", 128)


def test_a_listener_holding_a_retired_mount_is_handed_to_its_successor(idle):
    station, clock = idle
    station.register_listener("bo", {"genres": ["rock"]})
    radio = station.radio
    mount = radio.personal("bo")  # made, never tuned into: retired after the grace too
    assert _wait(lambda: "bo" in radio.resting)
    assert mount.retired and radio.all_mounts() == []
    tuning = mount.tune_in("opus", 96)  # e.g. a request that got the mount just before
    assert tuning.mount is not mount and tuning.mount in radio.all_mounts()
    _listen_until(tuning, clock, clock() + 1.0)
    tuning.mount.leave("opus", 96)
    assert _wait(lambda: "bo" in radio.resting)


def test_closing_the_station_leaves_no_thread(tmp_path, tone_library):
    threads = set(threading.enumerate())
    with simulated_station(_settings(tmp_path), tone_library) as (station, clock):
        station.register_listener("cy", {"genres": ["jazz"]})
        for mount in (station.radio.mount("main"), station.radio.personal("cy")):
            _listen_until(mount.tune_in("mp3", 128), clock, clock() + 1.0)
    assert _wait(lambda: not _started_since(threads)), _started_since(threads)


# -- the burst on a fresh mount -------------------------------------------------------------


def _seconds_of(header: bytes, data: bytes, tmp_path) -> float:
    """The decoded duration of an mp3 stream's bytes (the listener's audio)."""
    path = tmp_path / "heard.mp3"
    path.write_bytes(header + data)
    return decode_all(path).shape[1] / SAMPLE_RATE


@contextmanager
def _frozen_station(settings: Settings, library) -> Iterator[tuple[QFZZStation, SimulatedClock]]:
    """A started station on simulated time that nothing moves (no auto-advance)."""
    clock = SimulatedClock()
    station = build_station(settings, clock=clock)
    try:
        station.start()
        station.scan(library)
        yield station, clock
    finally:
        station.close()


@pytest.mark.parametrize("bitrate", [128, 256])
@pytest.mark.parametrize("personal", [False, True])
def test_a_fresh_mount_bursts_before_the_clock_moves(tmp_path, tone_library, bitrate, personal):
    settings = _settings(tmp_path, burst_seconds=4.0)
    with _frozen_station(settings, tone_library) as (station, clock):
        station.register_listener("di", {"genres": ["jazz"]})
        held = clock()
        mount = station.radio.personal("di") if personal else station.radio.mount("main")
        first = mount.tune_in("mp3", bitrate)
        with first.reader:
            chunk = first.reader.read(timeout=30.0).since(first.start)
        heard = {"first": _seconds_of(mount.header("mp3", bitrate), chunk.data, tmp_path)}
        # a listener at another bitrate of the running program: a cold encoder, a burst
        other = mount.tune_in("mp3", 96)
        with other.reader:
            chunk = other.reader.read(timeout=30.0).since(other.start)
        heard["other bitrate"] = _seconds_of(mount.header("mp3", 96), chunk.data, tmp_path)
        assert clock() == held  # both before the clock moved at all
        # a later listener of the running encoder starts the burst back from its live
        # edge: the chunks up to there are cut at the next tick
        later = mount.tune_in("mp3", bitrate)
        edge = mount.packets("mp3", bitrate).number_of_items_inserted
        clock.advance(mount.tick_seconds)
        data = b""
        with later.reader:
            while not data or chunk.end < edge:
                chunk = later.reader.read(timeout=30.0)
                data += chunk.since(later.start).data
        heard["later"] = _seconds_of(mount.header("mp3", bitrate), data, tmp_path)
        assert clock() == held + mount.tick_seconds
        assert all(seconds >= settings.burst_seconds for seconds in heard.values()), heard
        for key in (("mp3", bitrate), ("mp3", 96), ("mp3", bitrate)):
            mount.leave(*key)


def test_a_skip_is_judged_by_what_was_heard_not_by_what_was_made_ahead(tmp_path):
    """The program runs burst + 0.5 s ahead of the ear: a skip 2 s into a 12 s track has
    6.5 s made (over half of it) but 2 s heard, and is a skip."""
    library = write_tone_library(tmp_path / "long", tracks=3, seconds=12.0)
    settings = _settings(tmp_path, burst_seconds=4.0)
    with simulated_station(settings, library) as (station, clock):
        station.register_listener("ann", {"genres": ["jazz"]})
        mount = station.radio.personal("ann")
        tuning = mount.tune_in("mp3", 128)
        with tuning.reader:
            while (heard := mount.now()).track is None or heard.position < 2.0:
                tuning.reader.read_many(64, block=True, timeout=1.0)
            assert clock.pause_when(lambda: True)  # time stands still for the skip
            made = mount.program.now_playing
            assert made is not None and made.track_id == heard.track.track_id
            skipped = station.radio.skip("ann")
            clock.resume()
            history = station.parts.store.interactions.for_listener
            while not any(i.track_id == skipped.track_id for i in history("ann")):
                tuning.reader.read_many(64, block=True, timeout=1.0)
        mount.leave("mp3", 128)
    recorded = [i.type.value for i in history("ann") if i.track_id == skipped.track_id]
    assert recorded == ["skip"]


def test_resting_radios_are_capped_longest_resting_first(idle):
    station, clock = idle
    radio = station.radio
    radio.max_resting = 1
    for user in ("ann", "bo"):
        station.register_listener(user, {"genres": ["jazz"]})
        mount = radio.personal(user)
        _listen_until(mount.tune_in("mp3", 128), clock, clock() + 1.0)
        mount.leave("mp3", 128)
        assert _wait(lambda user=user: user in radio.resting)
    assert radio.resting == ["bo"]  # ann's radio, resting longer, was let go
