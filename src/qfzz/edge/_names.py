"""The closed vocabularies of edge optimization: every accepted name is a member here."""

from __future__ import annotations

from enum import StrEnum


class DeviceType(StrEnum):
    SMARTPHONE = "smartphone"
    TABLET = "tablet"
    LAPTOP = "laptop"
    DESKTOP = "desktop"
    IOT = "iot"
    SMART_SPEAKER = "smart_speaker"
    CAR_SYSTEM = "car_system"


class NetworkType(StrEnum):
    WIFI = "wifi"
    CELLULAR_5G = "5g"
    CELLULAR_4G = "4g"
    CELLULAR_3G = "3g"
    ETHERNET = "ethernet"
    UNKNOWN = "unknown"


class Codec(StrEnum):
    """A codec a device says it can play.

    The live broadcast is encoded as MP3 or Opus only, so :class:`StreamingParams.codec`
    is always one of those two. ``aac`` is recorded (a device may list it) but never
    chosen; ``flac`` means the device can take lossless original files (downloads, raw
    Subsonic streams) and is what makes :attr:`StreamingParams.lossless` true.
    """

    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    FLAC = "flac"


class Quality(StrEnum):
    """Quality tiers, lowest first; the order is the tiers' rank (see ``QUALITY_TIERS``)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    LOSSLESS = "lossless"


class ProfileName(StrEnum):
    POWER_SAVE = "power_save"
    BALANCED = "balanced"
    QUALITY = "quality"
    BANDWIDTH_SAVE = "bandwidth_save"
