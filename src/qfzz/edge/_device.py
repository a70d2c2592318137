"""What a listening device tells QFZZ about itself, validated once when it is built.

``EdgeDeviceConfig`` is frozen: an update makes a new config (``dataclasses.replace`` runs
the same validation). Because it never changes, the rules that depend on the device alone
are applied in ``__post_init__`` and kept on the instance; ``optimize_streaming`` then only
combines them with a profile and the listener's preferences.

Validation rejects, with :class:`qfzz.errors.InvalidInput` naming the field:
an empty or unprintable ``device_id`` (or one over 128 characters); a ``device_type`` or
``network_type`` that is not a member (names are case-insensitive); a bandwidth that is
negative or not finite; ``cpu_cores`` or ``memory_mb`` below 1, ``storage_mb`` below 0;
a ``battery_level`` outside [0, 1]; a ``max_bitrate_kbps`` below the 32 kbps floor (no
encoder QFZZ runs can honour less); a codec not in :class:`Codec`; non-boolean flags.
Whole-number fields accept integral floats (``1024.0`` from JSON). ``cpu_cores``,
``memory_mb`` and ``supports_hardware_decode`` are recorded but no rule of the design
reads them yet.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, TypeVar

from qfzz.edge._names import Codec, DeviceType, NetworkType, ProfileName, Quality
from qfzz.edge._profiles import (
    BUFFER_BASE_SECONDS,
    DEFAULT_BUFFER_SECONDS,
    MIN_BITRATE_KBPS,
    PROFILES,
    TIER_BY_QUALITY,
    OptimizationProfile,
    QualityTier,
    auto_profile,
    bandwidth_limit_kbps,
    cache_size_mb,
    device_tier,
    device_wants_cache,
)
from qfzz.errors import InvalidInput

MAX_DEVICE_ID_LENGTH = 128

_E = TypeVar("_E", bound=StrEnum)


def member(kind: type[_E], name: str, value: object) -> _E:
    """``value`` as a member of ``kind``, or InvalidInput listing the accepted names."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value.strip().lower())
        except ValueError:
            pass
    accepted = ", ".join(m.value for m in kind)
    raise InvalidInput(f"{name} must be one of {accepted}; got {value!r}")


def _number(name: str, value: object, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{name} must be a number; got {value!r}")
    number = float(value)
    if not (low <= number <= high) or not math.isfinite(number):
        bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
        raise InvalidInput(f"{name} must be a finite number {bounds}; got {value!r}")
    return number


def _whole(name: str, value: object, low: int, why: str = "") -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        whole = None if isinstance(value, bool) else operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        whole = None
    if whole is None or whole < low:
        raise InvalidInput(f"{name} must be a whole number of at least {low}{why}; got {value!r}")
    return whole


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false; got {value!r}")
    return value


def _codecs(value: object) -> frozenset[Codec]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput(f"codecs must be a list of codec names; got {value!r}")
    return frozenset(member(Codec, "each codec", c) for c in value) | {Codec.MP3}


def _device_id(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_DEVICE_ID_LENGTH
        or not value.isprintable()
    ):
        raise InvalidInput(
            f"device_id must be a non-empty printable string of at most "
            f"{MAX_DEVICE_ID_LENGTH} characters; got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class EdgeDeviceConfig:
    """A device as registered; enum fields also accept their names as strings."""

    device_id: str
    device_type: DeviceType
    network_type: NetworkType = NetworkType.UNKNOWN
    bandwidth_mbps: float = 10.0
    cpu_cores: int = 2
    memory_mb: int = 2048
    storage_mb: int = 1024
    battery_powered: bool = False
    battery_level: float = 1.0
    supports_hardware_decode: bool = True
    max_bitrate_kbps: int = 320
    #: Codecs the device plays; ``mp3`` is always added.
    codecs: frozenset[Codec] = frozenset({Codec.MP3})

    # Facts derived from the fields above by the device rules (see ``_profiles``).
    _tier: QualityTier = field(init=False, repr=False, compare=False)
    _auto: OptimizationProfile = field(init=False, repr=False, compare=False)
    #: min(device max, bandwidth limit raised to the floor): the device's share of the
    #: bitrate rule, with the floor folded in (tier and profile limits are ≥ the floor).
    _bitrate_cap: int = field(init=False, repr=False, compare=False)
    _buffer_base: float = field(init=False, repr=False, compare=False)
    _wants_cache: bool = field(init=False, repr=False, compare=False)
    _cache_mb: int = field(init=False, repr=False, compare=False)
    _opus: bool = field(init=False, repr=False, compare=False)
    _flac: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "device_id", _device_id(self.device_id))
        kind = member(DeviceType, "device_type", self.device_type)
        network = member(NetworkType, "network_type", self.network_type)
        bandwidth = _number("bandwidth_mbps", self.bandwidth_mbps, 0.0)
        powered = _flag("battery_powered", self.battery_powered)
        level = _number("battery_level", self.battery_level, 0.0, 1.0)
        storage = _whole("storage_mb", self.storage_mb, 0)
        max_kbps = _whole(
            "max_bitrate_kbps",
            self.max_bitrate_kbps,
            MIN_BITRATE_KBPS,
            " (no encoder QFZZ runs goes lower)",
        )
        codecs = _codecs(self.codecs)
        put(self, "device_type", kind)
        put(self, "network_type", network)
        put(self, "bandwidth_mbps", bandwidth)
        put(self, "cpu_cores", _whole("cpu_cores", self.cpu_cores, 1))
        put(self, "memory_mb", _whole("memory_mb", self.memory_mb, 1))
        put(self, "storage_mb", storage)
        put(self, "battery_powered", powered)
        put(self, "battery_level", level)
        put(
            self,
            "supports_hardware_decode",
            _flag("supports_hardware_decode", self.supports_hardware_decode),
        )
        put(self, "max_bitrate_kbps", max_kbps)
        put(self, "codecs", codecs)

        put(self, "_tier", TIER_BY_QUALITY[device_tier(kind, bandwidth)])
        put(self, "_auto", PROFILES[auto_profile(kind, network, bandwidth, powered, level)])
        limit = max(MIN_BITRATE_KBPS, bandwidth_limit_kbps(bandwidth))
        put(self, "_bitrate_cap", min(max_kbps, limit))
        put(self, "_buffer_base", BUFFER_BASE_SECONDS.get(network, DEFAULT_BUFFER_SECONDS))
        put(self, "_wants_cache", device_wants_cache(network, bandwidth, powered, level))
        put(self, "_cache_mb", cache_size_mb(storage))
        put(self, "_opus", Codec.OPUS in codecs)
        put(self, "_flac", Codec.FLAC in codecs)

    @property
    def tier(self) -> Quality:
        """The device's quality tier (its link and kind; no profile or preference)."""
        return self._tier.quality

    @property
    def auto_profile(self) -> ProfileName:
        """The profile this device gets when the listener states none."""
        return self._auto.name

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EdgeDeviceConfig:
        """Build from a JSON-like mapping; unknown or missing fields are InvalidInput."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a device must be an object; got {type(data).__name__}")
        unknown = sorted(repr(k) if not isinstance(k, str) else k for k in data if k not in _FIELDS)
        if unknown:
            raise InvalidInput(
                f"unknown device field(s): {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(_FIELDS))}"
            )
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise InvalidInput(f"missing device field(s): {', '.join(missing)}")
        kwargs: dict[str, Any] = dict(data)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (enums as their names, codecs sorted); ``from_dict`` inverts it."""
        out: dict[str, object] = {name: getattr(self, name) for name in _FIELDS_IN_ORDER}
        out["device_type"] = str(self.device_type)
        out["network_type"] = str(self.network_type)
        out["codecs"] = sorted(str(c) for c in self.codecs)
        return out


_FIELDS_IN_ORDER = tuple(f.name for f in fields(EdgeDeviceConfig) if f.init)
_FIELDS = frozenset(_FIELDS_IN_ORDER)
_REQUIRED = ("device_id", "device_type")
