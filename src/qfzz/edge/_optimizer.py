"""Streaming parameters for one device: the QFZZ design's edge optimizer, fixed.

The rules, in the order the design gives them:

1. **Profile**: a valid ``profile`` preference; else the device's own profile, which
   :class:`EdgeDeviceConfig` works out once: battery-powered with level < 0.3 →
   power_save; 3G or 4G → bandwidth_save; bandwidth < 1 Mbps → bandwidth_save;
   bandwidth ≥ 5 Mbps on a desktop or laptop → quality; else balanced.
2. **Quality** = min(``quality`` preference, the profile's max, the device's tier), the
   tier being lossless (≥ 5 Mbps, desktop or laptop), high (≥ 2), medium (≥ 1) or low.
3. **Bitrate** = min(tier bitrate {96, 128, 256, 320}, profile max, device max,
   int(bandwidth_mbps × 1024 × 0.8)), never below 32 kbps: only the bandwidth term can go
   lower, and no MP3 encoder goes below 32 kbps, so the floor wins there.
   ``stream_bitrate_kbps`` is that bitrate rounded down to the broadcast ladder.
4. **Codec**: Opus when the device accepts it and the bitrate is ≤ 256 kbps, else MP3 —
   the only two codecs the broadcast layer encodes.
5. **Lossless**: the prototype called 320 kbps MP3 "lossless". Here quality ``lossless``
   only names the highest tier (its live stream is still MP3 or Opus at 320 kbps);
   ``lossless`` is true only when the quality is lossless *and* the device accepts
   ``flac``, and it means original lossless files may be served where QFZZ serves files
   (downloads, raw Subsonic streams). The lossless tier needs ≥ 5 Mbps, enough for FLAC.
6. **Buffer** = base (3G 30 s, 4G/5G 15 s, else 10 s) × the profile's multiplier.
7. **Cache** is wanted for an aggressive-cache profile, on 3G/4G, below 2 Mbps, or with a
   battery below 0.3 (only on a battery-powered device: mains devices report 1.0 or
   nothing meaningful). Its size follows storage (< 100 MB → none, so the cache is off;
   < 500 → 50; < 1000 → 100; else 200). Preload is 5 tracks for aggressive profiles, 3
   otherwise, and 0 whenever the cache is off (the prototype returned it anyway).

Unknown preference keys, unknown profile or quality names and non-string values raise
:class:`qfzz.errors.InvalidInput`; the prototype crashed on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from qfzz.edge._device import EdgeDeviceConfig, member
from qfzz.edge._names import Codec, ProfileName, Quality
from qfzz.edge._profiles import (
    BITRATE_LADDER,
    OPUS_MAX_KBPS,
    PROFILES,
    QUALITY_TIERS,
    TIER_BY_QUALITY,
    OptimizationProfile,
    ladder_bitrate,
)
from qfzz.errors import InvalidInput

PREFERENCE_KEYS = ("profile", "quality")
_TOP_RANK = QUALITY_TIERS[-1].rank
#: ``stream_bitrate_kbps`` for every bitrate the rules can produce (32..320).
_LADDER = tuple(ladder_bitrate(kbps) for kbps in range(BITRATE_LADDER[-1] + 1))


@dataclass(frozen=True, slots=True)
class StreamingPreferences:
    """A listener's validated ``profile`` and ``quality`` choices (``None``: no choice)."""

    profile: ProfileName | None = None
    quality: Quality | None = None
    _profile: OptimizationProfile | None = field(init=False, repr=False, compare=False)
    _cap: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        profile = None if self.profile is None else member(ProfileName, "profile", self.profile)
        quality = None if self.quality is None else member(Quality, "quality", self.quality)
        object.__setattr__(self, "profile", profile)
        object.__setattr__(self, "quality", quality)
        object.__setattr__(self, "_profile", None if profile is None else PROFILES[profile])
        cap = _TOP_RANK if quality is None else TIER_BY_QUALITY[quality].rank
        object.__setattr__(self, "_cap", cap)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None) -> StreamingPreferences:
        """Read ``{"profile": ..., "quality": ...}``; ``None`` values mean no choice."""
        if data is None:
            return NO_PREFERENCES
        if not isinstance(data, Mapping):
            raise InvalidInput(f"preferences must be an object; got {type(data).__name__}")
        try:  # fast path: exact names (a table lookup; an unhashable value falls through)
            known = _ALL_PREFERENCES.get((data.get("profile"), data.get("quality")))
        except TypeError:
            known = None
        if known is not None and data.keys() <= _KEY_SET:
            return known
        unknown = [repr(k) for k in data if k not in PREFERENCE_KEYS]
        if unknown:
            raise InvalidInput(
                f"unknown streaming preference(s): {', '.join(sorted(unknown))}; "
                f"accepted: {', '.join(PREFERENCE_KEYS)}"
            )
        profile, quality = data.get("profile"), data.get("quality")
        if profile is None and quality is None:
            return NO_PREFERENCES
        return cls(
            None if profile is None else member(ProfileName, "profile", profile),
            None if quality is None else member(Quality, "quality", quality),
        )

    def to_dict(self) -> dict[str, str | None]:
        return {
            "profile": None if self.profile is None else str(self.profile),
            "quality": None if self.quality is None else str(self.quality),
        }


NO_PREFERENCES = StreamingPreferences()
_KEY_SET = frozenset(PREFERENCE_KEYS)
#: Every valid preference pair by its exact names: 25 immutable values, never stale.
_ALL_PREFERENCES: dict[tuple[object, object], StreamingPreferences] = {
    (p, q): StreamingPreferences(p, q) if p or q else NO_PREFERENCES
    for p in (None, *ProfileName)
    for q in (None, *Quality)
}


@dataclass(frozen=True, slots=True)
class StreamingParams:
    """How to stream to one device right now.

    ``bitrate_kbps`` is the design's bitrate (with the 32 kbps floor);
    ``stream_bitrate_kbps`` is the encoder bitrate the broadcast layer should use, the
    highest ladder bitrate not above it. ``cache_size_mb`` and ``preload_tracks`` are 0
    when ``cache_enabled`` is false.
    """

    profile: ProfileName
    quality: Quality
    bitrate_kbps: int
    stream_bitrate_kbps: int
    codec: Codec
    lossless: bool
    buffer_seconds: float
    cache_enabled: bool
    cache_size_mb: int
    preload_tracks: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, for the API's optimization endpoint."""
        return {
            "profile": str(self.profile),
            "quality": str(self.quality),
            "bitrate_kbps": self.bitrate_kbps,
            "stream_bitrate_kbps": self.stream_bitrate_kbps,
            "codec": str(self.codec),
            "lossless": self.lossless,
            "buffer_seconds": self.buffer_seconds,
            "cache_enabled": self.cache_enabled,
            "cache_size_mb": self.cache_size_mb,
            "preload_tracks": self.preload_tracks,
        }


def optimize_streaming(
    device: EdgeDeviceConfig,
    preferences: Mapping[str, object] | StreamingPreferences | None = None,
) -> StreamingParams:
    """The streaming parameters for ``device`` under the listener's ``preferences``.

    ``preferences`` may be a mapping with the optional keys ``profile`` and ``quality``
    (validated on every call) or a :class:`StreamingPreferences` validated earlier.
    Raises InvalidInput for an invalid preference; never for a valid device.
    """
    if preferences is None:
        prefs = NO_PREFERENCES
    elif isinstance(preferences, StreamingPreferences):
        prefs = preferences
    else:
        prefs = StreamingPreferences.from_mapping(preferences)

    profile = prefs._profile
    if profile is None:
        profile = device._auto
    rank = prefs._cap
    if profile.max_rank < rank:
        rank = profile.max_rank
    if device._tier.rank < rank:
        rank = device._tier.rank
    tier = QUALITY_TIERS[rank]

    bitrate = tier.bitrate_kbps
    if profile.max_bitrate_kbps < bitrate:
        bitrate = profile.max_bitrate_kbps
    if device._bitrate_cap < bitrate:
        bitrate = device._bitrate_cap

    cache_on = (profile.aggressive_cache or device._wants_cache) and device._cache_mb > 0

    return StreamingParams(
        profile.name,
        tier.quality,
        bitrate,
        _LADDER[bitrate],
        Codec.OPUS if device._opus and bitrate <= OPUS_MAX_KBPS else Codec.MP3,
        device._flac and tier.quality is Quality.LOSSLESS,
        device._buffer_base * profile.buffer_multiplier,
        cache_on,
        device._cache_mb if cache_on else 0,
        profile.preload_tracks if cache_on else 0,
    )
