"""``manifest.json``: what a finished derivative directory holds, written last, read back.

The child writes it after every derivative is complete and synced; the directory is only
renamed to its final name after that, so a final directory always has a manifest, and
the manifest is all a rerun needs to answer without converting again. Read back, every
field is checked (it is our own file, but a disk or a hand can change it).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qfzz.audio import Derivative, Derived
from qfzz.ingest._convert_kinds import Kind

MANIFEST = "manifest.json"
VERSION = 1
NAMES = ("preview", "low", "high")
_KINDS: tuple[Kind, ...] = ("audio", "document", "image", "other")
_MAX_BYTES = 64 * 1024


class CorruptManifest(ValueError):
    """A manifest that is missing, unreadable or out of bounds."""


def audio_manifest(derived: Derived) -> dict[str, Any]:
    return {
        "version": VERSION,
        "kind": "audio",
        "source_codec": derived.source_codec,
        "lossless": derived.lossless,
        "seconds": derived.seconds,
        "loudness_lufs": derived.loudness_lufs,
        "peak": derived.peak,
        "skipped_packets": derived.skipped_packets,
        "derivatives": [asdict(d) for d in derived.derivatives],
    }


def kept_manifest(kind: Kind) -> dict[str, Any]:
    """A file kept only as its original: no derivatives, nothing measured."""
    return {
        "version": VERSION,
        "kind": kind,
        "source_codec": None,
        "lossless": False,
        "seconds": None,
        "loudness_lufs": None,
        "peak": None,
        "skipped_packets": 0,
        "derivatives": [],
    }


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    path = directory / MANIFEST
    with path.open("w", encoding="utf-8") as f:
        json.dump(manifest, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of ``directory``, every field checked; :class:`CorruptManifest` if not."""
    try:
        with (directory / MANIFEST).open("rb") as f:
            raw = f.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            raise CorruptManifest("manifest too large")
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise CorruptManifest(f"unreadable manifest in {directory.name}: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise CorruptManifest("not a version 1 manifest")
    if data.get("kind") not in _KINDS:
        raise CorruptManifest("unknown kind")
    raw_items = data.get("derivatives")
    if not isinstance(raw_items, list) or len(raw_items) > len(NAMES):
        raise CorruptManifest("derivatives must be a short list")
    data["derivatives"] = tuple(_derivative(item, directory) for item in raw_items)
    for key in ("seconds", "loudness_lufs", "peak"):
        if data.get(key) is not None:
            data[key] = _number(data[key], key, -1e6, 1e6)
    return data


def _derivative(item: object, directory: Path) -> Derivative:
    if not isinstance(item, dict):
        raise CorruptManifest("a derivative must be an object")
    name, file, codec = item.get("name"), item.get("file"), item.get("codec")
    if name not in NAMES:
        raise CorruptManifest(f"unknown derivative {name!r}")
    if not isinstance(file, str) or not 0 < len(file) <= 64 or "/" in file or file[0] == ".":
        raise CorruptManifest(f"bad file name for {name}")
    if not (directory / file).is_file():
        raise CorruptManifest(f"{name} ({file}) is missing")
    if not isinstance(codec, str) or not 0 < len(codec) <= 32:
        raise CorruptManifest(f"bad codec for {name}")
    return Derivative(
        name=name,
        file=file,
        codec=codec,
        bitrate_kbps=int(_number(item.get("bitrate_kbps"), "bitrate_kbps", 0, 100_000)),
        seconds=_number(item.get("seconds"), "seconds", 0, 1e6),
        sample_rate=int(_number(item.get("sample_rate"), "sample_rate", 1, 1_000_000)),
        channels=int(_number(item.get("channels"), "channels", 1, 64)),
        original=bool(item.get("original", False)),
    )


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CorruptManifest(f"{name} must be a number")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise CorruptManifest(f"{name} out of range")
    return number
