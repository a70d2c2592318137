"""Device-aware streaming parameters: which profile, quality, bitrate, codec, buffer and
cache suit a listening device right now (the QFZZ design's edge optimizer, fixed).

Plain Python, no I/O. The API registers devices in a :class:`DeviceRegistry` and asks for
:func:`optimize_streaming`; the broadcast layer subscribes to the registry to move a
listener to a new bitrate at the next track boundary. The rules and what the prototype got
wrong are documented in ``qfzz.edge._optimizer``; the numbers live in the tables
:data:`PROFILES` and :data:`QUALITY_TIERS`.

Errors: :class:`qfzz.errors.InvalidInput` for an invalid device, update or preference
(the API answers 422), :class:`UnknownDevice` (``code = "unknown_device"``, a
:class:`qfzz.errors.QfzzError`) for an id the registry does not hold (404), and
:class:`DeviceConflict` (``code = "device_conflict"``) for an id registered to another
listener (409).
"""

from qfzz.edge._device import EdgeDeviceConfig
from qfzz.edge._names import Codec, DeviceType, NetworkType, ProfileName, Quality
from qfzz.edge._optimizer import (
    NO_PREFERENCES,
    PREFERENCE_KEYS,
    StreamingParams,
    StreamingPreferences,
    optimize_streaming,
)
from qfzz.edge._profiles import (
    BITRATE_LADDER,
    MIN_BITRATE_KBPS,
    OPUS_MAX_KBPS,
    PROFILES,
    QUALITY_TIERS,
    TIER_BY_QUALITY,
    OptimizationProfile,
    QualityTier,
)
from qfzz.edge._registry import (
    DeviceChange,
    DeviceConflict,
    DeviceRegistry,
    RegisteredDevice,
    UnknownDevice,
)

__all__ = [
    "BITRATE_LADDER",
    "MIN_BITRATE_KBPS",
    "NO_PREFERENCES",
    "OPUS_MAX_KBPS",
    "PREFERENCE_KEYS",
    "PROFILES",
    "QUALITY_TIERS",
    "TIER_BY_QUALITY",
    "Codec",
    "DeviceChange",
    "DeviceConflict",
    "DeviceRegistry",
    "DeviceType",
    "EdgeDeviceConfig",
    "NetworkType",
    "OptimizationProfile",
    "ProfileName",
    "Quality",
    "QualityTier",
    "RegisteredDevice",
    "StreamingParams",
    "StreamingPreferences",
    "UnknownDevice",
    "optimize_streaming",
]
