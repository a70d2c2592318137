"""The demo library is varied, tagged and idempotent; the tag reader reads every format."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TBPM, TCON, TDRC, TIT2, TPE1, TXXX, UFID
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.wave import WAVE

from qfzz.audio import PieceSpec, encode_audio_file, synthesize_piece
from qfzz.catalog.demo import MANIFEST_NAME, generate_demo_library, plan_demo_library
from qfzz.catalog.tags import SUPPORTED_EXTENSIONS, read_track_file
from qfzz.errors import UnreadableFile
from qfzz.models import TrackMeta

SHORT = {"min_seconds": 2.5, "max_seconds": 3.5}


@pytest.fixture
def library(demo_library):
    return demo_library


def test_default_library_is_big_mixed_and_well_laid_out(library):
    dest, paths, _ = library
    assert len(paths) >= 60
    assert sorted(p for p in dest.rglob("*") if p.is_file() and p.name != MANIFEST_NAME) == sorted(
        paths
    )
    suffixes = [p.suffix for p in paths]
    assert suffixes.count(".flac") > suffixes.count(".mp3") >= 10  # MP3s cost the most CPU
    for path in paths:
        name = path.relative_to(dest).parts[-1]
        assert len(path.relative_to(dest).parts) == 3  # artist / album / file
        assert name[:2].isdigit() and name[2:5] == " - "
        assert 20.0 <= mutagen.File(path).info.length <= 40.0


def test_tags_read_back_exactly_as_planned(library):
    dest, _, _ = library
    for track in plan_demo_library():
        meta = read_track_file(dest / track.relative_path)
        assert (meta.title, meta.artist, meta.album) == (track.title, track.artist, track.album)
        assert (meta.genre, meta.year, meta.mood) == (track.genre, track.year, track.mood)
        assert meta.energy == track.energy
        assert meta.tempo == float(track.tempo_bpm)
        assert meta.format == track.format
        assert meta.duration == pytest.approx(track.spec.seconds, abs=0.1)
        assert meta.bitrate is not None and meta.bitrate > 100


def test_raw_tags_use_the_standard_keys(library):
    _, paths, _ = library
    mp3 = next(p for p in paths if p.suffix == ".mp3")
    frames = set(ID3(mp3).keys())
    assert {
        "TIT2",
        "TPE1",
        "TALB",
        "TCON",
        "TDRC",
        "TRCK",
        "TBPM",
        "TXXX:MOOD",
        "TXXX:ENERGY",
    } <= frames
    flac = next(p for p in paths if p.suffix == ".flac")
    keys = {key.upper() for key, _ in mutagen.File(flac).tags}  # a list of (key, value)
    assert {
        "TITLE",
        "ARTIST",
        "ALBUM",
        "GENRE",
        "DATE",
        "TRACKNUMBER",
        "BPM",
        "MOOD",
        "ENERGY",
    } <= keys


def test_library_spreads_over_genres_artists_and_albums(library):
    _, paths, _ = library
    metas = [read_track_file(p) for p in paths]
    assert len({m.genre for m in metas}) >= 8
    assert len({m.mood for m in metas}) >= 5
    albums, genres = defaultdict(set), defaultdict(set)
    for m in metas:
        albums[m.artist].add(m.album)
        genres[m.artist].add(m.genre)
    assert len(albums) >= 16
    assert all(len(a) >= 2 for a in albums.values())
    assert all(1 <= len(g) <= 2 for g in genres.values())


def test_tempo_and_energy_fit_the_genre():
    plan = plan_demo_library(tracks=200, seed=3)
    by_genre = defaultdict(list)
    for t in plan:
        assert 0.0 <= t.energy <= 1.0
        by_genre[t.genre].append(t)
    assert max(t.tempo_bpm for t in by_genre["ambient"]) < min(
        t.tempo_bpm for t in by_genre["metal"]
    )
    assert max(t.energy for t in by_genre["ambient"]) < min(t.energy for t in by_genre["rock"])
    assert {t.mood for t in by_genre["ambient"]} <= {"calm", "dreamy", "dark"}
    assert {t.mood for t in by_genre["metal"]} <= {"dark", "energetic"}
    assert all(t.spec.mode == "minor" for t in plan if t.mood in ("sad", "dark"))


def test_plan_is_deterministic_per_seed():
    assert plan_demo_library(seed=7) == plan_demo_library(seed=7)
    assert plan_demo_library(seed=7) != plan_demo_library(seed=8)


def test_progress_is_reported_up_to_the_total(library):
    _, paths, progress = library
    assert progress[0] == (0, len(paths))
    assert progress[-1] == (len(paths), len(paths))
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_rerun_with_same_arguments_changes_nothing(library):
    dest, paths, _ = library
    before = {p: p.stat().st_mtime_ns for p in paths}
    progress: list[tuple[int, int]] = []
    again = generate_demo_library(dest, on_progress=lambda d, t: progress.append((d, t)))
    assert again == paths
    assert {p: p.stat().st_mtime_ns for p in paths} == before
    assert progress == [(len(paths), len(paths))]


def test_only_missing_or_foreign_files_are_regenerated(tmp_path):
    paths = generate_demo_library(tmp_path, tracks=5, workers=1, **SHORT)
    json.loads((tmp_path / MANIFEST_NAME).read_text())  # written, and valid JSON
    paths[0].unlink()
    paths[1].write_bytes(b"not the planned audio")
    (tmp_path / MANIFEST_NAME).unlink()  # as if the first run had been killed
    kept = {p: p.stat().st_mtime_ns for p in paths[2:]}
    assert generate_demo_library(tmp_path, tracks=5, workers=2, **SHORT) == paths
    assert read_track_file(paths[0]).duration and read_track_file(paths[1]).duration
    assert {p: p.stat().st_mtime_ns for p in paths[2:]} == kept
    assert not [p for p in tmp_path.rglob("*.part")]


def test_changed_settings_regenerate_files_at_the_same_paths(tmp_path):
    first = generate_demo_library(tmp_path, tracks=3, workers=1, **SHORT)
    longer = {"min_seconds": 4.5, "max_seconds": 5.5}
    assert generate_demo_library(tmp_path, tracks=3, workers=1, **longer) == first
    assert all(4.5 <= read_track_file(p).duration <= 5.5 for p in first)


@pytest.mark.parametrize(
    "bad",
    [
        {"tracks": 0},
        {"min_seconds": 1.0},
        {"min_seconds": 30.0, "max_seconds": 20.0},
        {"workers": 0},
    ],
)
def test_bad_arguments_are_rejected(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_demo_library(tmp_path, **bad)
    assert os.listdir(tmp_path) == []


# --- the tag reader on formats the demo does not produce --------------------------------


def encoded(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    spec = PieceSpec(seconds=2.0, tempo_bpm=100, energy=0.5, seed=4)
    encode_audio_file(synthesize_piece(spec, 44100), 44100, path, bitrate_kbps=128)
    return path


def test_supported_extensions():
    assert frozenset({".mp3", ".flac", ".ogg", ".opus", ".m4a", ".wav"}) == SUPPORTED_EXTENSIONS


def test_untagged_wav_falls_back_to_stem_and_computes_bitrate(tmp_path):
    meta = read_track_file(encoded(tmp_path, "Some Song.wav"))
    expected = TrackMeta("Some Song", "Unknown Artist", duration=2.0, bitrate=1411, format="wav")
    assert meta == expected  # 1411 kbps = 44100 Hz x 16 bit x 2 channels


def test_wav_with_id3_chunk(tmp_path):
    path = encoded(tmp_path, "tagged.wav")
    wav = WAVE(path)
    wav.add_tags()
    for frame in (
        TIT2(encoding=3, text="Dust"),
        TPE1(encoding=3, text="Ada"),
        TCON(encoding=3, text="(17)"),
        TDRC(encoding=3, text="2019-05-01"),
        TBPM(encoding=3, text="97"),
        TXXX(encoding=3, desc="MOOD", text="Dreamy"),
        TXXX(encoding=3, desc="ENERGY", text="loud"),
        UFID(owner="http://musicbrainz.org", data=b"6f1c9d2e-0000-4000-8000-000000000001"),
    ):
        wav.tags.add(frame)
    wav.save()
    meta = read_track_file(path)
    assert (meta.title, meta.artist, meta.genre, meta.year) == ("Dust", "Ada", "Rock", 2019)
    assert (meta.tempo, meta.mood, meta.energy) == (97.0, "dreamy", None)
    assert meta.musicbrainz_id == "6f1c9d2e-0000-4000-8000-000000000001"


@pytest.mark.parametrize("name", ["song.ogg", "song.opus", "song.flac"])
def test_vorbis_comment_formats(tmp_path, name):
    path = encoded(tmp_path, name)
    audio = mutagen.File(path)
    audio.tags.update(
        {
            "title": "Ferns",
            "Artist": "Moss Choir",
            "ALBUM": "Undergrowth",
            "date": "2021-03",
            "GENRE": "Folk",
            "bpm": "88.5",
            "MOOD": "Calm",
            "ENERGY": "0.3",
            "MUSICBRAINZ_TRACKID": "abc-123",
        }
    )
    audio.save()
    meta = read_track_file(path)
    assert meta.duration == pytest.approx(2.0, abs=0.05)
    assert meta == TrackMeta(
        "Ferns", "Moss Choir", "Undergrowth", "Folk", 2021, "calm", 0.3, 88.5,
        meta.duration, meta.bitrate, "abc-123", name.split(".")[1],
    )  # fmt: skip


def test_m4a_atoms_and_freeform_mood(tmp_path):
    path = encoded(tmp_path, "song.m4a")
    mp4 = MP4(path)
    mp4.tags.update(
        {
            "\xa9nam": ["Arc"],
            "\xa9ART": ["Lumen"],
            "\xa9alb": ["Prism"],
            "\xa9gen": ["Electronic"],
            "\xa9day": ["2018-11-02T00:00:00Z"],
            "tmpo": [124],
            "----:com.apple.iTunes:MOOD": [MP4FreeForm(b"Energetic")],
            "----:com.apple.iTunes:ENERGY": [MP4FreeForm(b"0.81")],
            "----:com.apple.iTunes:MusicBrainz Track Id": [MP4FreeForm(b"mb-9")],
        }
    )
    mp4.save()
    meta = read_track_file(path)
    assert meta.bitrate is not None and 64 <= meta.bitrate <= 256
    assert meta == TrackMeta(
        "Arc", "Lumen", "Prism", "Electronic", 2018, "energetic", 0.81, 124.0,
        meta.duration, meta.bitrate, "mb-9", "m4a",
    )  # fmt: skip


@pytest.mark.parametrize(
    "content", [b"", b"this is not audio at all " * 40, b"ID3\x04\x00" + b"\xff" * 64]
)
def test_unreadable_files_raise_unreadable_file(tmp_path, content):
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=r"broken\.mp3"):
        read_track_file(path)


def test_missing_file_and_directory_raise_unreadable_file(tmp_path):
    for path in (tmp_path / "absent.flac", tmp_path):
        with pytest.raises(UnreadableFile, match=re.escape(str(path))):
            read_track_file(path)
