from __future__ import annotations

import itertools

import numpy as np
import pytest

from qfzz.audio import SAMPLE_RATE
from qfzz.broadcast import Program, QueuedTrack
from qfzz.testing import write_tone


class Provider:
    def __init__(self, tracks):
        self.tracks = list(tracks)
        self.log: list[tuple] = []

    def next_track(self):
        return self.tracks.pop(0) if self.tracks else None

    def finished(self, track, seconds, skipped):
        self.log.append(("finished", track.title, round(seconds, 1), skipped))

    def failed(self, track, reason):
        self.log.append(("failed", track.title))


@pytest.fixture
def files(tmp_path):
    quiet, loud = tmp_path / "quiet.mp3", tmp_path / "loud.flac"
    write_tone(quiet, 440, 3.0, 0.03, {"title": "q"})
    write_tone(loud, 660, 3.0, 0.9, {"title": "l"})
    (tmp_path / "broken.mp3").write_bytes(b"not audio" * 50)
    return quiet, loud, tmp_path / "broken.mp3"


def run(program, seconds):
    blocks = [program.next_block() for _ in range(int(seconds / 0.1))]
    assert all(b.start == a.start + a.samples.shape[1] for a, b in itertools.pairwise(blocks))
    return blocks


def rms_db(blocks):
    data = np.concatenate([b.samples for b in blocks], axis=1)
    return 10 * np.log10(np.mean(np.square(data.astype(np.float64))))


def test_quiet_and_loud_tracks_play_at_a_similar_level_and_bad_files_are_skipped(files):
    quiet, loud, broken = files
    provider = Provider(
        [
            QueuedTrack(1, str(quiet), "Q", "a"),
            QueuedTrack(2, str(broken), "B", "b"),
            QueuedTrack(3, str(loud), "L", "c"),
        ]
    )
    blocks = run(Program(provider, crossfade_seconds=1.0), 8)
    by_title = {}
    for b in blocks:
        by_title.setdefault(b.track.title if b.track else None, []).append(b)
    assert list(by_title) == ["Q", "L", None]  # the broken file never went on air
    assert abs(rms_db(by_title["Q"][2:15]) - rms_db(by_title["L"][5:15])) < 1.5
    assert ("failed", "B") in provider.log
    # 3 s + 3 s with a 1 s overlap: the second track starts 2 s in, silence after 5 s
    assert 1.8 <= len(by_title["Q"]) / 10 <= 2.2
    assert all(np.abs(b.samples).max() == 0 for b in by_title[None])
    assert ("finished", "Q", 3.0, False) in provider.log


def test_skip_cuts_with_a_short_fade_and_reports_it(files):
    quiet, loud, _ = files
    provider = Provider([QueuedTrack(1, str(quiet), "Q", "a"), QueuedTrack(2, str(loud), "L", "b")])
    program = Program(provider, crossfade_seconds=1.0)
    run(program, 0.5)
    program.skip()
    after = run(program, 0.5)
    assert after[2].track.title == "L"  # within 0.3 s of the skip the next track is on air
    finished = [entry for entry in provider.log if entry[0] == "finished"]
    assert finished[0][1] == "Q" and finished[0][3] is True and finished[0][2] < 1.0


def test_nothing_to_play_is_silence_not_an_error():
    blocks = run(Program(Provider([]), crossfade_seconds=0), 1.0)
    assert all(b.track is None and not b.samples.any() for b in blocks)
    assert blocks[0].samples.shape == (2, int(0.1 * SAMPLE_RATE))


def test_a_suspended_program_resumes_the_track_heard_from_where_it_was(files):
    quiet, loud, _ = files
    provider = Provider(
        [QueuedTrack(1, str(quiet), "Q", "a", duration=3.0), QueuedTrack(2, str(loud), "L", "b")]
    )
    program = Program(provider, crossfade_seconds=0.5)
    first = run(program, 1.0)
    assert {b.track.title for b in first} == {"Q"} and program.now_playing is not None
    # the listener heard Q up to 0.6 s when the radio stopped (the program ran ahead)
    assert [t.title for t in program.suspend(first[5].track, 0.6)] == ["Q", "L"]
    again = run(program, 1.0)
    assert again[0].track.title == "Q" and again[0].track.start_seconds == pytest.approx(0.6)
    assert not any(entry[0] == "finished" for entry in provider.log)  # nothing ended
    # suspended again 1.0 s into the file: the position is the file's, not added up
    assert program.suspend(again[3].track, 1.0)[0].start_seconds == pytest.approx(1.0)
    rest = run(program, 3.0)
    titles = [b.track.title if b.track else None for b in rest]
    assert titles[0] == "Q" and "L" in titles  # then the queue goes on where it was
    # Q from 1.0 s to its end (3 s) is 2 s of audio, less the crossfade's overlap
    assert 1.3 <= titles.count("Q") / 10 <= 2.1
    assert ("finished", "Q", 3.0, False) in provider.log  # counted from the file's start
    assert provider.tracks == []  # L was taken once, before the first suspension
