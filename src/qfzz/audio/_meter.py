"""EBU R128 / ITU-R BS.1770 loudness, measured by FFmpeg's own ``ebur128`` filter.

One meter for the whole program: the conversion of an upload (fed the source's frames as
they are) and the broadcast (fed its internal float32 stereo blocks) both measure with
the reference filter, so the two figures agree with each other and with
``ffmpeg -af ebur128`` instead of with a second, hand-written implementation.
"""

from __future__ import annotations

from fractions import Fraction

import av
import av.filter
from av.audio.stream import AudioStream

#: The filter's absolute gate: a programme at or under it is silence, not a loudness.
SILENCE_LUFS = -70.0


class Meter:
    """Integrated loudness (LUFS) and sample peak of the frames pushed, in order.

    Build it from the stream whose decoded frames are pushed (``template``) or from an
    explicit ``rate``/``layout``/``sample_format``. The filter annotates each frame with the
    running integrated loudness; the value on the last frame is the programme's (the
    same number the filter prints at the end). Push ``None`` once at the end to flush.
    """

    def __init__(
        self,
        template: AudioStream | None = None,
        *,
        rate: int | None = None,
        layout: str | None = None,
        sample_format: str | None = None,
    ) -> None:
        self.graph = av.filter.Graph()
        if template is not None:
            source = self.graph.add_abuffer(template=template)
        else:
            if rate is None or layout is None or sample_format is None:
                raise ValueError("a meter needs a template stream or rate, layout and format")
            source = self.graph.add_abuffer(
                sample_rate=rate, format=sample_format, layout=layout, time_base=Fraction(1, rate)
            )
        meter = self.graph.add("ebur128", "metadata=1:peak=sample")
        sink = self.graph.add("abuffersink")
        source.link_to(meter)
        meter.link_to(sink)
        self.graph.configure()
        self.last: dict[str, str] = {}

    def push(self, frame: av.AudioFrame | None) -> None:
        self.graph.push(frame)
        while True:
            try:
                out = self.graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            if out.metadata:
                self.last = dict(out.metadata)

    def result(self) -> tuple[float | None, float]:
        """``(integrated LUFS, sample peak)``; the loudness is None for silence."""
        integrated = float(self.last.get("lavfi.r128.I", "-inf"))
        peak = float(self.last.get("lavfi.r128.sample_peak", "0"))
        # the filter reports -70 (its gate) or below for silence: no loudness to speak of
        return (integrated if integrated > SILENCE_LUFS else None), peak
