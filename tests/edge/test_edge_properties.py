"""Properties of optimize_streaming for any valid device and preferences.

``reference`` re-reads the issue literally (dicts and strings, no shortcuts) so the
optimizer's precomputed tables are checked against the text, not against themselves.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.edge import (
    BITRATE_LADDER,
    MIN_BITRATE_KBPS,
    PROFILES,
    TIER_BY_QUALITY,
    Codec,
    DeviceType,
    EdgeDeviceConfig,
    NetworkType,
    ProfileName,
    Quality,
    optimize_streaming,
)

ORDER = ["low", "medium", "high", "lossless"]
TIER_KBPS = {"low": 96, "medium": 128, "high": 256, "lossless": 320}
PROFILE_ROWS = {  # max quality, buffer ×, aggressive cache, max kbps
    "power_save": ("medium", 1.5, True, 128),
    "balanced": ("high", 1.0, False, 256),
    "quality": ("lossless", 0.8, False, 320),
    "bandwidth_save": ("low", 2.0, True, 96),
}


def reference(d: dict, prefs: dict) -> dict:
    bw, net, kind = d["bandwidth_mbps"], d["network_type"], d["device_type"]
    low_battery = d["battery_powered"] and d["battery_level"] < 0.3
    if prefs.get("profile"):
        profile = prefs["profile"]
    elif low_battery:
        profile = "power_save"
    elif net in ("3g", "4g") or bw < 1:
        profile = "bandwidth_save"
    elif bw >= 5 and kind in ("desktop", "laptop"):
        profile = "quality"
    else:
        profile = "balanced"
    max_quality, multiplier, aggressive, max_kbps = PROFILE_ROWS[profile]
    if bw >= 5 and kind in ("desktop", "laptop"):
        tier = "lossless"
    elif bw >= 2:
        tier = "high"
    elif bw >= 1:
        tier = "medium"
    else:
        tier = "low"
    quality = min(prefs.get("quality") or "lossless", max_quality, tier, key=ORDER.index)
    limits = (TIER_KBPS[quality], max_kbps, d["max_bitrate_kbps"], int(bw * 1024 * 0.8))
    bitrate = max(32, min(limits))
    wanted = aggressive or net in ("3g", "4g") or bw < 2 or low_battery
    storage = d["storage_mb"]
    size = 0 if storage < 100 else 50 if storage < 500 else 100 if storage < 1000 else 200
    on = wanted and size > 0
    return {
        "profile": profile,
        "quality": quality,
        "bitrate_kbps": bitrate,
        "stream_bitrate_kbps": max(r for r in (32, 48, 64, 96, 128, 192, 256, 320) if r <= bitrate),
        "codec": "opus" if "opus" in d["codecs"] and bitrate <= 256 else "mp3",
        "lossless": quality == "lossless" and "flac" in d["codecs"],
        "buffer_seconds": {"3g": 30, "4g": 15, "5g": 15}.get(net, 10) * multiplier,
        "cache_enabled": on,
        "cache_size_mb": size if on else 0,
        "preload_tracks": (5 if aggressive else 3) if on else 0,
    }


# Thresholds are drawn often, plus values on either side of them.
EDGES = [0.0, 0.039, 0.04, 0.117, 0.999, 1.0, 1.999, 2.0, 4.999, 5.0]
bandwidths = st.one_of(st.sampled_from(EDGES), st.floats(0, 1000, allow_nan=False))
batteries = st.one_of(st.sampled_from([0.0, 0.2999, 0.3, 1.0]), st.floats(0, 1))
storages = st.one_of(st.sampled_from([0, 99, 100, 499, 500, 999, 1000]), st.integers(0, 10**6))

devices = st.builds(
    EdgeDeviceConfig,
    device_id=st.just("dev"),
    device_type=st.sampled_from(DeviceType),
    network_type=st.sampled_from(NetworkType),
    bandwidth_mbps=bandwidths,
    cpu_cores=st.integers(1, 64),
    memory_mb=st.integers(1, 65536),
    storage_mb=storages,
    battery_powered=st.booleans(),
    battery_level=batteries,
    supports_hardware_decode=st.booleans(),
    max_bitrate_kbps=st.one_of(st.sampled_from([32, 96, 256, 257, 320]), st.integers(32, 2000)),
    codecs=st.frozensets(st.sampled_from(Codec)),
)
preferences = st.fixed_dictionaries(
    {},
    optional={
        "profile": st.sampled_from([*ProfileName, None]),
        "quality": st.sampled_from([*Quality, None]),
    },
)


@settings(max_examples=1500, deadline=None)
@given(device=devices, prefs=preferences)
def test_invariants_and_agreement_with_the_issue_text(device, prefs):
    params = optimize_streaming(device, prefs)
    profile = PROFILES[params.profile]
    rank = TIER_BY_QUALITY[params.quality].rank

    # Bitrate: under every limit that applies, never under the floor; only the bandwidth
    # limit yields to the floor.
    assert params.bitrate_kbps >= MIN_BITRATE_KBPS
    assert params.bitrate_kbps <= TIER_BY_QUALITY[params.quality].bitrate_kbps
    assert params.bitrate_kbps <= profile.max_bitrate_kbps
    assert params.bitrate_kbps <= device.max_bitrate_kbps
    bandwidth_limit = int(device.bandwidth_mbps * 1024 * 0.8)
    assert params.bitrate_kbps <= max(MIN_BITRATE_KBPS, bandwidth_limit)
    assert params.stream_bitrate_kbps in BITRATE_LADDER
    assert params.stream_bitrate_kbps <= params.bitrate_kbps

    # Quality: never above the profile max, the device tier or the preference.
    assert rank <= profile.max_rank
    assert rank <= TIER_BY_QUALITY[device.tier].rank
    if prefs.get("quality"):
        assert rank <= TIER_BY_QUALITY[prefs["quality"]].rank
    if prefs.get("profile"):
        assert params.profile is prefs["profile"]

    # Cache: preload and size are 0 exactly when the cache is off.
    assert (params.preload_tracks == 0) is (not params.cache_enabled)
    assert (params.cache_size_mb == 0) is (not params.cache_enabled)

    # Codec and lossless are honest about what the device takes.
    assert params.codec in (Codec.MP3, Codec.OPUS)
    assert params.codec is Codec.MP3 or Codec.OPUS in device.codecs
    assert not params.lossless or (
        params.quality is Quality.LOSSLESS and Codec.FLAC in device.codecs
    )

    wire = {k: None if v is None else str(v) for k, v in prefs.items()}
    assert params.to_dict() == reference(device.to_dict(), wire)
