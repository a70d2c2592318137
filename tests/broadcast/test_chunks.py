"""Shared chunks: joined packets that still say where every title and track starts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qfzz.broadcast import IcyWriter, Packet
from qfzz.broadcast._chunks import Chunk, TickGrid, chunk_holding, join_packets
from qfzz.broadcast._mount import PHASE_GROUPS, _Encoder
from qfzz.streams import IterableSource, StreamBuffer
from qfzz.testing import SimulatedClock

packet_lists = st.lists(
    st.tuples(st.binary(min_size=1, max_size=40), st.sampled_from(["A - a", "B - b", "C"])),
    min_size=1,
    max_size=30,
)


def _packets(spec: list[tuple[bytes, str]]) -> list[Packet]:
    # a title change is a track change here, as on air
    return [
        Packet(at=i * 0.026, data=data, title=title, track_id=hash(title) % 7)
        for i, (data, title) in enumerate(spec)
    ]


def _titles_per_byte(chunk: Chunk) -> list[str]:
    return [mark.title for data, mark in chunk.segments() for _ in data]


@given(packet_lists, st.integers(0, 40), st.integers(0, 1000))
def test_any_tail_of_a_chunk_is_exactly_the_packets_from_there(spec, cut, start):
    packets = _packets(spec)
    chunk = join_packets(start, packets, None)
    assert chunk.data == b"".join(p.data for p in packets)
    index = start + min(cut, len(packets))
    tail = chunk.since(index)
    rest = packets[index - start :]
    assert tail.data == b"".join(p.data for p in rest)
    assert (tail.start, tail.end) == (min(index, chunk.end), chunk.end)
    # every byte plays under the title of the packet it came from
    assert _titles_per_byte(tail) == [p.title for p in rest for _ in p.data]
    if rest:
        head = tail.marks[0]
        assert (head.offset, head.title, head.at) == (0, rest[0].title, rest[0].at)


@given(packet_lists, st.integers(0, 8))
def test_icy_metadata_over_a_chunk_matches_writing_packet_by_packet(spec, skip):
    packets = _packets(spec)
    chunk = join_packets(0, packets, None).since(min(skip, len(packets)))
    by_packet, by_chunk = IcyWriter(metaint=16), IcyWriter(metaint=16)
    expected = b"".join(by_packet.write(p.data, p.title) for p in packets[chunk.start :])
    got = b"".join(by_chunk.write(data, mark.title) for data, mark in chunk.segments())
    assert got == expected


@given(packet_lists)
def test_a_chunk_cut_before_a_track_change_holds_only_what_came_before(spec):
    packets = _packets(spec)
    chunk = join_packets(10, packets, None)
    for mark in chunk.marks:
        before = chunk.before(mark)
        assert before.data == b"".join(p.data for p in packets[: mark.index - 10])
        assert all(m.index < mark.index for m in before.marks)


def test_marks_continue_from_the_previous_chunk():
    first, second = _packets([(b"xx", "A - a"), (b"yy", "A - a")])
    same = join_packets(1, [second], first)
    assert len(same.marks) == 1  # the title goes on: only the start is marked
    other = join_packets(1, [Packet(0.1, b"zz", "B - b", 3)], first)
    assert other.marks[0].title == "B - b"


@given(st.floats(0, 1000), st.floats(0.05, 2.0), st.integers(0, 3), st.floats(0, 100))
def test_the_grid_cuts_in_quarter_ticks_then_on_its_phase(origin, tick, group, later):
    grid = TickGrid(origin, tick, tick * group / 4)
    t = origin + later
    after = grid.after(t)
    assert after > t
    if t < origin + tick:
        assert after - t <= tick / 4 + 1e-9
    else:
        assert after - t <= tick + 1e-9
        phase = (after - origin - grid.phase) / tick
        assert abs(phase - round(phase)) < 1e-6


@given(st.floats(0, 1000), st.floats(1.0, 100))
def test_a_listener_joins_the_group_cut_about_half_a_tick_after_it_came(origin, later):
    tick = 1.0
    grids = [TickGrid(origin, tick, tick * g / PHASE_GROUPS) for g in range(PHASE_GROUPS)]
    encoder = _Encoder(packets=None, source=None, groups=[None] * PHASE_GROUPS, grid=grids[0])  # type: ignore[arg-type]
    now = origin + tick + later
    wait = grids[encoder.group_for(now)].after(now) - now
    half_a_group = tick / PHASE_GROUPS / 2
    assert tick / 2 - half_a_group - 1e-6 <= wait <= tick / 2 + half_a_group + 1e-6


def test_the_chunk_holding_a_packet_is_found_by_its_index():
    chunks = [
        join_packets(start, _packets([(b"ab", "A")] * size), None)
        for start, size in ((0, 3), (3, 4), (7, 2))
    ]
    buffer: StreamBuffer[Chunk] = StreamBuffer(
        IterableSource(chunks, key=lambda c: c.start), maxlen=2
    )
    with buffer:
        assert buffer.join(5)
        assert chunk_holding(buffer, 0) == 1  # dropped: the oldest kept
        assert chunk_holding(buffer, 3) == 1
        assert chunk_holding(buffer, 6) == 1
        assert chunk_holding(buffer, 7) == 2
        assert chunk_holding(buffer, 8) == 2
        assert chunk_holding(buffer, 9) == 3  # not cut yet: the live edge


def test_chunks_end_when_the_packets_end():
    from qfzz.broadcast._chunks import ChunkSource

    packets = _packets([(b"ab", "A"), (b"cd", "A"), (b"ef", "B")])
    source_buffer: StreamBuffer[Packet] = StreamBuffer(
        IterableSource(packets, key=lambda p: p.at), maxlen=10
    )
    with source_buffer:
        assert source_buffer.join(5)  # all three written, then the source ended
        clock = SimulatedClock(1e9)
        clock.auto_advance(lambda: True)  # nothing else to wait for: time just passes
        chunks: StreamBuffer[Chunk] = StreamBuffer(
            ChunkSource(source_buffer, TickGrid(0.0, 0.01), clock=clock), maxlen=10
        )
        with chunks:
            assert chunks.join(5) and chunks.state == "ended"
            got = chunks[0:]
        clock.close()
    assert b"".join(c.data for c in got) == b"abcdef"
