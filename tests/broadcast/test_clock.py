"""Time on air is injected: the wall clock in production, simulated time in tests."""

from __future__ import annotations

import threading
import time

import pytest

from qfzz.broadcast import Alarm, Mount, Program, RealClock, as_clock
from qfzz.testing import SimulatedClock
from qfzz.testing import wait_for as _wait


class Silence:
    """A provider with nothing to play: the program is silence, which is all pacing needs."""

    def next_track(self):
        return None

    def finished(self, track, played_seconds, skipped):
        pass

    def failed(self, track, reason):
        pass


def waiter(clock, deadline, alarm, ended: list) -> threading.Thread:
    def run() -> None:
        rang = clock.wait_until(deadline, alarm)
        ended.append((deadline, clock(), rang))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_wait_ends_when_virtual_time_reaches_it_and_time_never_goes_back():
    clock = SimulatedClock(100.0)
    ended: list = []
    threads = [waiter(clock, deadline, Alarm(), ended) for deadline in (103.0, 101.0, 102.0)]
    assert _wait(lambda: len(clock.waiting()) == 3)
    assert clock.waiting() == [101.0, 102.0, 103.0] and ended == []
    clock.advance(1.5)
    assert _wait(lambda: len(ended) == 1)
    assert ended == [(101.0, 101.5, False)] and clock.waiting() == [102.0, 103.0]
    clock.advance_to(50.0)  # the past: nothing moves
    clock.advance(-3)
    assert clock() == 101.5
    clock.advance_to(110.0)
    for thread in threads:
        thread.join(10)
    assert sorted(d for d, _, _ in ended) == [101.0, 102.0, 103.0]
    assert clock.waiting() == []


def test_an_alarm_ends_a_simulated_wait_without_moving_time():
    clock = SimulatedClock(0.0)
    alarm, ended = Alarm(), []
    thread = waiter(clock, 60.0, alarm, ended)
    assert _wait(lambda: clock.waiting() == [60.0])
    alarm.set()
    thread.join(10)
    assert ended == [(60.0, 0.0, True)]
    assert clock.wait_until(60.0, alarm) is True  # a rung alarm: no wait at all


def test_the_wall_clock_waits_for_real_and_a_plain_time_function_becomes_one():
    clock = as_clock(lambda: 5.0)
    assert isinstance(clock, RealClock) and clock() == 5.0
    assert clock.wait_until(4.0, Alarm()) is False  # already past: returns at once
    rung = Alarm()
    rung.set()
    assert clock.wait_until(1e12, rung) is True  # the alarm, not the deadline, ends it
    simulated = SimulatedClock()
    assert as_clock(simulated) is simulated
    assert isinstance(as_clock(time.time), RealClock)


def test_simulated_time_advances_on_its_own_only_while_settled():
    clock = SimulatedClock(0.0)
    settled = threading.Event()
    ended: list = []
    thread = waiter(clock, 30.0, Alarm(), ended)
    clock.auto_advance(settled.is_set)
    try:
        assert _wait(lambda: clock.waiting() == [30.0])
        assert clock() == 0.0 and ended == []  # someone is still busy: time holds
        settled.set()
        thread.join(10)
        assert ended == [(30.0, 30.0, False)]  # a jump straight to the deadline
    finally:
        clock.close()


def test_pause_when_holds_time_at_the_moment_a_condition_comes_true():
    clock = SimulatedClock(0.0)
    stop = Alarm()

    def tick() -> None:  # a producer waking every tenth of a second
        t = 0.0
        while not clock.wait_until(t := t + 0.1, stop):
            pass

    producer = threading.Thread(target=tick, daemon=True)
    producer.start()
    clock.pause_at(lambda: clock() >= 2.0)  # armed before time can move
    clock.auto_advance(lambda: True)
    try:
        assert clock.wait_paused()
        held = clock()
        assert 2.0 <= held < 2.2
        assert _wait(clock.waiting)  # the producer is parked on its next tick...
        assert clock.waiting()[0] > clock() == held  # ...and paused time does not go there
        clock.resume()
        assert _wait(lambda: clock() > 5.0)
    finally:
        stop.set()
        producer.join(10)
        clock.close()


@pytest.mark.parametrize(("burst", "made"), [(0.0, 6), (4.0, 46)])
def test_the_program_is_made_the_burst_and_half_a_second_ahead_of_the_clock_and_no_further(
    burst, made
):
    clock = SimulatedClock(1000.0)
    program = Program(Silence(), crossfade_seconds=0)
    mount = Mount("paced", program, clock=clock, burst_seconds=burst)
    try:
        with mount.pcm.mk_reader():
            # blocks up to burst + 0.5 s (+ the block that starts there) are made at once;
            # the next one waits for the clock
            assert _wait(lambda: clock.waiting() == [1000.1])
            assert mount.pcm.number_of_items_inserted == made
            clock.advance(1.0)
            assert _wait(lambda: clock.waiting() == [1001.1])
            assert mount.pcm.number_of_items_inserted == made + 10
    finally:
        mount.close()
    assert clock.waiting() == []  # stopping the program interrupted its wait
