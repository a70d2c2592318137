"""An uploaded song goes on air at the loudness measured when it was converted: the
station hands its programs the stored figure, and the file is not measured again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qfzz.audio import SAMPLE_RATE, TARGET_LUFS, Loudness, decode, encode_audio_file, measure
from qfzz.broadcast import Program, QueuedTrack
from qfzz.ingest import Upload
from qfzz.station import QFZZStation, StoredLoudness
from qfzz.station._known_loudness import LOSSY_OVERSHOOT_DB
from qfzz.testing import write_tone


class Provider:
    def __init__(self, tracks: list[QueuedTrack]) -> None:
        self.tracks = list(tracks)
        self.failures: list[str] = []

    def next_track(self) -> QueuedTrack | None:
        return self.tracks.pop(0) if self.tracks else None

    def finished(self, track: QueuedTrack, seconds: float, skipped: bool) -> None:
        pass

    def failed(self, track: QueuedTrack, reason: str) -> None:
        self.failures.append(reason)


def upload(station: QFZZStation, source: Path, upload_id: str, title: str) -> Path:
    """``source`` uploaded, converted and catalogued; the catalog file it became."""
    size = source.stat().st_size
    meta = {"title": title, "filename": source.name}
    station.upload_finished(Upload(upload_id, "ann", size, size, 0.0, 1e9, meta), source)
    assert station.parts.uploads.run_pending() == 1
    content = station.parts.store.contents.by_upload(upload_id)
    assert content is not None and content.status.value == "ready"
    assert content.loudness is not None
    music = station.settings.data_dir / "uploaded-music"
    (found,) = music.glob(f"{content.content_id}.*")
    return found


@pytest.fixture
def songs(station, tmp_path) -> tuple[Path, Path]:
    station.register_listener("ann", {}, password="pw-1234")
    t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    wave = (0.04 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    quiet = tmp_path / "quiet.flac"  # lossless: catalogued as the original itself
    encode_audio_file(np.stack([wave, wave]), SAMPLE_RATE, quiet)
    loud = tmp_path / "loud.mp3"  # lossy: catalogued as the 256 kbps re-encode
    write_tone(loud, 550, 4.0, 0.8)
    return upload(station, quiet, "up-quiet", "Quiet"), upload(station, loud, "up-loud", "Loud")


def lookup(station: QFZZStation) -> StoredLoudness:
    data = station.settings.data_dir
    return StoredLoudness(
        station.parts.store.contents, music_dir=data / "uploaded-music", data_dir=data
    )


def test_uploaded_tracks_play_at_their_stored_loudness_without_being_measured(
    station, songs, tmp_path
):
    quiet, loud = songs
    plain = tmp_path / "plain.flac"  # a library file: no stored loudness, measured
    write_tone(plain, 440, 3.0, 0.2)
    measured: list[str] = []

    def measuring(path: str) -> Loudness:
        measured.append(path)
        return measure(decode(path))

    tracks = [
        QueuedTrack(1, str(quiet), "Quiet", "ann"),
        QueuedTrack(2, str(loud), "Loud", "ann"),
        QueuedTrack(3, str(plain), "Plain", "lib"),
    ]
    provider = Provider(tracks)
    program = Program(
        provider, crossfade_seconds=0, loudness=measuring, known_loudness=lookup(station)
    )
    blocks = [program.next_block() for _ in range(120)]
    assert provider.failures == []
    assert measured == [str(plain)]  # the uploads were never measured again
    for track in tracks:
        played = [b.samples for b in blocks if b.track is not None and b.track.path == track.path]
        level = measure([np.concatenate(played, axis=1)])
        assert level.lufs == pytest.approx(TARGET_LUFS, abs=0.5), track.title


def test_the_stored_figure_is_the_conversions_with_its_peak(station, songs, tmp_path):
    quiet, loud = songs
    source_peak = measure(decode(tmp_path / "loud.mp3")).peak  # what the conversion saw
    known = lookup(station)
    for path, lossy in ((quiet, False), (loud, True)):
        content = station.parts.store.contents.get(path.stem)
        assert content is not None
        stored = known(str(path))
        assert stored is not None and stored.lufs == content.loudness
        actual = measure(decode(path))
        assert stored.lufs == pytest.approx(actual.lufs, abs=0.2)
        if lossy:  # the source's peak, with room for the re-encode's overshoot
            assert stored.peak >= actual.peak
            allowance = 10 ** (LOSSY_OVERSHOOT_DB / 20)
            assert stored.peak == pytest.approx(source_peak * allowance, rel=0.001)
        else:
            assert stored.peak == pytest.approx(actual.peak, rel=0.001)


def test_only_uploads_with_a_stored_figure_are_known(station, songs, tmp_path):
    quiet, _loud = songs
    known = lookup(station)
    library = station.parts.catalog.track(1).path
    assert library is not None and known(library) is None
    stranger = quiet.parent / "0123abcd.flac"  # in the folder, but no such content
    assert known(str(stranger)) is None
    elsewhere = tmp_path / quiet.name  # a content id, but not an uploaded-music file
    assert known(str(elsewhere)) is None
    # no manifest (removed by hand): not guessed, measured
    content = station.parts.store.contents.get(quiet.stem)
    high = content.derivative("high")
    (station.settings.data_dir / Path(high.path).parent / "manifest.json").unlink()
    assert known(str(quiet)) is None


def test_the_stations_programs_are_told_the_stored_loudness(station, songs):
    quiet, _loud = songs
    program = station.parts.radio.mount(station.settings.mounts[0]).program
    told = program._known_loudness  # the lookup the station wired in
    assert told is not None
    stored = told(str(quiet))
    assert stored is not None
    assert stored.lufs == station.parts.store.contents.get(quiet.stem).loudness
