"""The loudness the station already knows: uploads, measured once when converted.

An uploaded song plays from ``data_dir/uploaded-music/{content id}{suffix}``; its content
row holds the integrated loudness (EBU R128, LUFS) that the conversion measured with the
same FFmpeg ``ebur128`` meter the broadcast would use. Handing that to the programs saves
decoding the whole file again just before it goes on air.

The gain also needs the track's peak, which the content row does not hold. The conversion
manifest beside the derivatives does (the sample peak of the decoded source), so it is
read from there, and a track whose manifest cannot be read is simply measured:

* when the catalogued file is the original itself (a lossless upload) that peak is the
  file's, exactly; a mono source is even conservative, since the broadcast's upmix puts
  it on both channels 3 dB down;
* when the file is a lossy re-encode (MP3), its decoded peak can overshoot the source's:
  the peak is raised by :data:`LOSSY_OVERSHOOT_DB`, the headroom EBU R128 (s1, Tech 3343)
  asks of material headed for lossy coding for the same reason. A track loud enough for
  that to matter is turned down anyway; it only limits how far a quiet one is raised.

Guessing a peak from the loudness alone would either risk clipping or forbid every boost,
and a real measurement of it is right next to the file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from qfzz.audio import Loudness
from qfzz.ingest import CorruptManifest, read_manifest
from qfzz.models import UploadedContent

log = logging.getLogger(__name__)

#: How far a lossy re-encode's decoded peak may pass the source's (dB).
LOSSY_OVERSHOOT_DB = 1.0


class _ContentRows(Protocol):
    def get(self, content_id: str) -> UploadedContent | None: ...


class StoredLoudness:
    """``path -> Loudness | None``: the stored loudness of an uploaded track, or None
    (not an upload, or nothing stored: the program measures the file as before)."""

    def __init__(self, contents: _ContentRows, *, music_dir: Path, data_dir: Path) -> None:
        self._contents = contents
        self._music = music_dir.resolve()
        self._root = data_dir

    def __call__(self, path: str) -> Loudness | None:
        file = Path(path)
        if file.parent.resolve() != self._music:
            return None
        content = self._contents.get(file.stem)
        if content is None or content.loudness is None:
            return None  # no figure (or silence, which measuring finds again cheaply)
        high = content.derivative("high")
        if high is None or high.path is None:
            return None
        peak = self._peak(self._root / Path(high.path).parent)
        if peak is None:
            return None
        return Loudness(content.loudness, peak)

    def _peak(self, directory: Path) -> float | None:
        """The sample peak the conversion measured, allowing for a re-encode's overshoot."""
        try:
            manifest = read_manifest(directory)
        except CorruptManifest as exc:
            log.warning("no conversion manifest for %s (%s); measuring it", directory.name, exc)
            return None
        peak = manifest.get("peak")
        if not isinstance(peak, float) or peak <= 0:
            return None
        high = next((d for d in manifest["derivatives"] if d.name == "high"), None)
        if high is None or high.original:
            return peak
        return peak * 10 ** (LOSSY_OVERSHOOT_DB / 20)
