"""Profiles, quality tiers and the device rules of the QFZZ design, as data.

Every number of the issue lives here once, so a test can read the tables and the
optimizer never repeats a literal. The rules that depend on the device alone (its quality
tier, the profile it gets without a preference, its buffer base, whether it wants a cache)
are plain functions of the device's values; :class:`~qfzz.edge.EdgeDeviceConfig` applies
them once when it is built, since a config never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from qfzz.edge._names import DeviceType, NetworkType, ProfileName, Quality

#: The lowest bitrate QFZZ streams at: the lowest MPEG-1 Layer III bitrate (libmp3lame
#: refuses less at 44.1/48 kHz). Only the bandwidth limit can ask for less; the floor wins
#: there, and the bandwidth_save profile's long buffer is what rides out such a link.
MIN_BITRATE_KBPS = 32
#: Share of the measured bandwidth a stream may use (the rest is headroom).
BANDWIDTH_SHARE = 0.8
#: Opus is chosen over MP3 up to this bitrate when the device accepts it (it sounds better
#: than MP3 at low bitrates; above it both are transparent and MP3 plays everywhere).
OPUS_MAX_KBPS = 256
#: The bitrates the broadcast layer encodes, all legal MP3 bitrates. ``bitrate_kbps`` is
#: rounded down to one of them (``stream_bitrate_kbps``) so listeners share encoders
#: instead of getting one per measured bandwidth.
BITRATE_LADDER: tuple[int, ...] = (32, 48, 64, 96, 128, 192, 256, 320)

#: Battery level below which a battery-powered device saves power.
LOW_BATTERY = 0.3
#: Bandwidth (Mbps) below which a device gets the bandwidth_save profile and the low tier.
SLOW_MBPS = 1.0
#: Bandwidth (Mbps) below which the cache is turned on; also the high tier's threshold.
CACHE_MBPS = 2.0
HIGH_TIER_MBPS = 2.0
#: Bandwidth (Mbps) from which a desktop or laptop gets the quality profile and lossless.
QUALITY_MBPS = 5.0

CELLULAR_SLOW = (NetworkType.CELLULAR_3G, NetworkType.CELLULAR_4G)
STATIONARY = (DeviceType.DESKTOP, DeviceType.LAPTOP)

BUFFER_BASE_SECONDS: Mapping[NetworkType, float] = MappingProxyType(
    {NetworkType.CELLULAR_3G: 30.0, NetworkType.CELLULAR_4G: 15.0, NetworkType.CELLULAR_5G: 15.0}
)
DEFAULT_BUFFER_SECONDS = 10.0

#: (storage below this many MB, cache size in MB); storage beyond the last row gets
#: ``LARGEST_CACHE_MB``. A size of 0 means the device has no room for a cache.
CACHE_SIZES_MB: tuple[tuple[int, int], ...] = ((100, 0), (500, 50), (1000, 100))
LARGEST_CACHE_MB = 200


@dataclass(frozen=True, slots=True)
class QualityTier:
    quality: Quality
    rank: int
    bitrate_kbps: int


QUALITY_TIERS: tuple[QualityTier, ...] = (
    QualityTier(Quality.LOW, 0, 96),
    QualityTier(Quality.MEDIUM, 1, 128),
    QualityTier(Quality.HIGH, 2, 256),
    QualityTier(Quality.LOSSLESS, 3, 320),
)
TIER_BY_QUALITY: Mapping[Quality, QualityTier] = MappingProxyType(
    {tier.quality: tier for tier in QUALITY_TIERS}
)


@dataclass(frozen=True, slots=True)
class OptimizationProfile:
    """One row of the profile table; ``preload_tracks`` applies while the cache is on."""

    name: ProfileName
    max_quality: Quality
    buffer_multiplier: float
    aggressive_cache: bool
    max_bitrate_kbps: int
    preload_tracks: int
    max_rank: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_rank", TIER_BY_QUALITY[self.max_quality].rank)


#: Preload for aggressive-cache profiles and for the others (QFZZ design).
AGGRESSIVE_PRELOAD = 5
DEFAULT_PRELOAD = 3

PROFILES: Mapping[ProfileName, OptimizationProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            OptimizationProfile(
                ProfileName.POWER_SAVE, Quality.MEDIUM, 1.5, True, 128, AGGRESSIVE_PRELOAD
            ),
            OptimizationProfile(
                ProfileName.BALANCED, Quality.HIGH, 1.0, False, 256, DEFAULT_PRELOAD
            ),
            OptimizationProfile(
                ProfileName.QUALITY, Quality.LOSSLESS, 0.8, False, 320, DEFAULT_PRELOAD
            ),
            OptimizationProfile(
                ProfileName.BANDWIDTH_SAVE, Quality.LOW, 2.0, True, 96, AGGRESSIVE_PRELOAD
            ),
        )
    }
)


def low_battery(battery_powered: bool, battery_level: float) -> bool:
    """A battery level counts only on a battery-powered device (mains devices report 1.0)."""
    return battery_powered and battery_level < LOW_BATTERY


def auto_profile(
    device_type: DeviceType,
    network_type: NetworkType,
    bandwidth_mbps: float,
    battery_powered: bool,
    battery_level: float,
) -> ProfileName:
    """The profile a device gets without a ``profile`` preference: rules 2–5, in order."""
    if low_battery(battery_powered, battery_level):
        return ProfileName.POWER_SAVE
    if network_type in CELLULAR_SLOW:
        return ProfileName.BANDWIDTH_SAVE
    if bandwidth_mbps < SLOW_MBPS:
        return ProfileName.BANDWIDTH_SAVE
    if bandwidth_mbps >= QUALITY_MBPS and device_type in STATIONARY:
        return ProfileName.QUALITY
    return ProfileName.BALANCED


def device_tier(device_type: DeviceType, bandwidth_mbps: float) -> Quality:
    """The best quality a device's link and kind can carry."""
    if bandwidth_mbps >= QUALITY_MBPS and device_type in STATIONARY:
        return Quality.LOSSLESS
    if bandwidth_mbps >= HIGH_TIER_MBPS:
        return Quality.HIGH
    if bandwidth_mbps >= SLOW_MBPS:
        return Quality.MEDIUM
    return Quality.LOW


def bandwidth_limit_kbps(bandwidth_mbps: float) -> int:
    """The design's bandwidth limit, ``int(bandwidth_mbps × 1024 × 0.8)`` (before the floor)."""
    return int(bandwidth_mbps * 1024 * BANDWIDTH_SHARE)


def device_wants_cache(
    network_type: NetworkType, bandwidth_mbps: float, battery_powered: bool, battery_level: float
) -> bool:
    """The device's own reasons for a cache (an aggressive profile is the other reason)."""
    return (
        network_type in CELLULAR_SLOW
        or bandwidth_mbps < CACHE_MBPS
        or low_battery(battery_powered, battery_level)
    )


def cache_size_mb(storage_mb: int) -> int:
    """Cache size for a device's free storage; 0 means no cache fits."""
    for below, size in CACHE_SIZES_MB:
        if storage_mb < below:
            return size
    return LARGEST_CACHE_MB


def ladder_bitrate(bitrate_kbps: int) -> int:
    """The highest encoder bitrate not above ``bitrate_kbps`` (never below the floor)."""
    best = BITRATE_LADDER[0]
    for rung in BITRATE_LADDER:
        if rung <= bitrate_kbps:
            best = rung
    return best
