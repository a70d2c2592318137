"""optimize_streaming: each rule at its thresholds, the rules' order, the profile table."""

from __future__ import annotations

import pytest

from qfzz.edge import (
    BITRATE_LADDER,
    MIN_BITRATE_KBPS,
    PROFILES,
    QUALITY_TIERS,
    Codec,
    EdgeDeviceConfig,
    ProfileName,
    Quality,
    StreamingPreferences,
    optimize_streaming,
)
from qfzz.errors import InvalidInput

P = ProfileName
Q = Quality


def device(**fields):
    fields.setdefault("device_id", "d1")
    fields.setdefault("device_type", "smartphone")
    fields.setdefault("network_type", "wifi")
    return EdgeDeviceConfig(**fields)


def best(**fields):
    """A desktop on a fast wired link with room for the largest cache."""
    base = {"device_type": "desktop", "network_type": "ethernet", "bandwidth_mbps": 100}
    return device(**{**base, "storage_mb": 4000, **fields})


def run(dev, **prefs):
    return optimize_streaming(dev, prefs or None)


# -- the tables --------------------------------------------------------------------------


def test_profile_table_holds_the_designs_numbers():
    got = {
        name: (p.max_quality, p.buffer_multiplier, p.aggressive_cache, p.max_bitrate_kbps)
        for name, p in PROFILES.items()
    }
    assert got == {
        P.POWER_SAVE: (Q.MEDIUM, 1.5, True, 128),
        P.BALANCED: (Q.HIGH, 1.0, False, 256),
        P.QUALITY: (Q.LOSSLESS, 0.8, False, 320),
        P.BANDWIDTH_SAVE: (Q.LOW, 2.0, True, 96),
    }
    assert {n: p.preload_tracks for n, p in PROFILES.items()} == {
        P.POWER_SAVE: 5,
        P.BALANCED: 3,
        P.QUALITY: 3,
        P.BANDWIDTH_SAVE: 5,
    }


def test_quality_tiers_are_ordered_with_the_designs_bitrates():
    assert [(t.quality, t.rank, t.bitrate_kbps) for t in QUALITY_TIERS] == [
        (Q.LOW, 0, 96),
        (Q.MEDIUM, 1, 128),
        (Q.HIGH, 2, 256),
        (Q.LOSSLESS, 3, 320),
    ]
    assert list(Quality) == [t.quality for t in QUALITY_TIERS]


@pytest.mark.parametrize(
    ("profile", "quality", "bitrate", "buffer", "cache", "preload"),
    [
        (P.POWER_SAVE, Q.MEDIUM, 128, 15.0, True, 5),
        (P.BALANCED, Q.HIGH, 256, 10.0, False, 0),
        (P.QUALITY, Q.LOSSLESS, 320, 8.0, False, 0),
        (P.BANDWIDTH_SAVE, Q.LOW, 96, 20.0, True, 5),
    ],
)
def test_each_profile_on_an_unconstrained_device(profile, quality, bitrate, buffer, cache, preload):
    params = run(best(), profile=profile.value)
    assert params.profile is profile
    assert params.quality is quality
    assert params.bitrate_kbps == params.stream_bitrate_kbps == bitrate
    assert params.buffer_seconds == buffer
    assert params.cache_enabled is cache
    assert params.cache_size_mb == (200 if cache else 0)
    assert params.preload_tracks == preload


# -- profile selection and its order -----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"battery_powered": True, "battery_level": 0.29}, P.POWER_SAVE),
        ({"battery_powered": True, "battery_level": 0.3}, P.BALANCED),
        ({"battery_powered": False, "battery_level": 0.05}, P.BALANCED),
        ({"network_type": "3g"}, P.BANDWIDTH_SAVE),
        ({"network_type": "4g"}, P.BANDWIDTH_SAVE),
        ({"network_type": "5g"}, P.BALANCED),
        ({"bandwidth_mbps": 0.999}, P.BANDWIDTH_SAVE),
        ({"bandwidth_mbps": 1.0}, P.BALANCED),
        ({"device_type": "desktop", "bandwidth_mbps": 5.0}, P.QUALITY),
        ({"device_type": "laptop", "bandwidth_mbps": 5.0}, P.QUALITY),
        ({"device_type": "laptop", "bandwidth_mbps": 4.999}, P.BALANCED),
        ({"device_type": "tablet", "bandwidth_mbps": 50.0}, P.BALANCED),
        ({"device_type": "smart_speaker", "bandwidth_mbps": 50.0}, P.BALANCED),
    ],
)
def test_profile_thresholds(fields, expected):
    assert run(device(**fields)).profile is expected


def test_rule_order():
    low = {"battery_powered": True, "battery_level": 0.1}
    # A profile preference beats everything.
    assert run(device(**low, network_type="3g"), profile="quality").profile is P.QUALITY
    # Low battery beats a slow network and a slow link.
    assert run(device(**low, network_type="3g", bandwidth_mbps=0.2)).profile is P.POWER_SAVE
    # 3G/4G beat a fast desktop link; so does a slow link on a desktop.
    assert run(best(network_type="4g")).profile is P.BANDWIDTH_SAVE
    assert run(best(bandwidth_mbps=0.5)).profile is P.BANDWIDTH_SAVE
    # A laptop on battery above the threshold still gets quality.
    laptop = device(device_type="laptop", bandwidth_mbps=20, battery_powered=True)
    assert run(laptop).profile is P.QUALITY


# -- quality -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mbps", "tier"),
    [
        ("desktop", 5.0, Q.LOSSLESS),
        ("laptop", 5.0, Q.LOSSLESS),
        ("desktop", 4.999, Q.HIGH),
        ("tablet", 50.0, Q.HIGH),
        ("smartphone", 2.0, Q.HIGH),
        ("smartphone", 1.999, Q.MEDIUM),
        ("smartphone", 1.0, Q.MEDIUM),
        ("smartphone", 0.999, Q.LOW),
        ("smartphone", 0.0, Q.LOW),
    ],
)
def test_device_tier_thresholds(kind, mbps, tier):
    dev = device(device_type=kind, bandwidth_mbps=mbps)
    assert dev.tier is tier
    # Under the quality profile (max lossless) and no preference, the tier decides.
    assert run(dev, profile="quality").quality is tier


def test_quality_is_the_minimum_of_preference_profile_and_tier():
    assert run(best(), quality="medium").quality is Q.MEDIUM  # preference
    assert run(best(), profile="balanced").quality is Q.HIGH  # profile max
    assert run(device(bandwidth_mbps=1.5), profile="quality").quality is Q.MEDIUM  # tier
    # A preference above the others does not raise the quality.
    assert run(device(bandwidth_mbps=1.5), quality="lossless").quality is Q.MEDIUM


# -- bitrate -----------------------------------------------------------------------------


def test_bitrate_limits():
    assert run(best(max_bitrate_kbps=200)).bitrate_kbps == 200  # device max
    assert run(best(max_bitrate_kbps=200)).stream_bitrate_kbps == 192
    assert run(best(), quality="high").bitrate_kbps == 256  # tier
    assert run(best(), profile="power_save").bitrate_kbps == 128  # profile max
    # Bandwidth: int(0.1 × 1024 × 0.8) = 81 under the low tier's 96.
    params = run(device(bandwidth_mbps=0.1))
    assert params.profile is P.BANDWIDTH_SAVE
    assert params.bitrate_kbps == 81
    assert params.stream_bitrate_kbps == 64


@pytest.mark.parametrize("mbps", [0.0, 0.01, 0.039])
def test_bitrate_never_goes_below_the_floor(mbps):
    params = run(device(bandwidth_mbps=mbps))
    assert params.bitrate_kbps == params.stream_bitrate_kbps == MIN_BITRATE_KBPS == 32


def test_the_ladder_is_legal_mp3_bitrates_including_the_query_values():
    mp3 = {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
    assert set(BITRATE_LADDER) <= mp3
    assert {96, 128, 256, 320} <= set(BITRATE_LADDER)
    assert BITRATE_LADDER[0] == MIN_BITRATE_KBPS


# -- codec and lossless ------------------------------------------------------------------


def test_codec_is_opus_when_accepted_at_or_below_256():
    assert run(best(codecs=["opus"]), quality="high").codec is Codec.OPUS
    assert run(best(codecs=["opus"])).codec is Codec.MP3  # 320 kbps
    assert run(best(codecs=["opus"], max_bitrate_kbps=257)).codec is Codec.MP3
    assert run(best(codecs=["opus"], max_bitrate_kbps=256)).codec is Codec.OPUS
    assert run(best(), quality="low").codec is Codec.MP3  # opus not accepted
    assert run(best(codecs=["aac"]), quality="low").codec is Codec.MP3  # aac never encoded


def test_lossless_needs_the_lossless_quality_and_a_device_that_takes_flac():
    with_flac = run(best(codecs=["flac"]))
    assert (with_flac.quality, with_flac.lossless) == (Q.LOSSLESS, True)
    # The prototype called 320 kbps MP3 lossless; the flag now says it is not.
    without = run(best())
    assert (without.quality, without.lossless, without.codec) == (Q.LOSSLESS, False, Codec.MP3)
    assert run(best(codecs=["flac"]), quality="high").lossless is False
    assert run(device(codecs=["flac"], bandwidth_mbps=50)).lossless is False  # phone: high tier


# -- buffer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "base"),
    [("3g", 30), ("4g", 15), ("5g", 15), ("wifi", 10), ("ethernet", 10), ("unknown", 10)],
)
@pytest.mark.parametrize("profile", list(ProfileName))
def test_buffer_is_network_base_times_profile_multiplier(network, base, profile):
    params = run(best(network_type=network), profile=profile.value)
    assert params.buffer_seconds == base * PROFILES[profile].buffer_multiplier


# -- cache and preload -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "on"),
    [
        ({}, False),
        ({"network_type": "3g"}, True),
        ({"network_type": "4g"}, True),
        ({"network_type": "5g"}, False),
        ({"bandwidth_mbps": 1.999}, True),
        ({"bandwidth_mbps": 2.0}, False),
        ({"battery_powered": True, "battery_level": 0.299}, True),
        ({"battery_powered": True, "battery_level": 0.3}, False),
        ({"battery_powered": False, "battery_level": 0.1}, False),
    ],
)
def test_cache_rules_under_a_non_aggressive_profile(fields, on):
    params = run(device(**fields), profile="balanced")
    assert params.cache_enabled is on
    assert params.preload_tracks == (3 if on else 0)


@pytest.mark.parametrize(
    ("storage", "size"),
    [(0, 0), (99, 0), (100, 50), (499, 50), (500, 100), (999, 100), (1000, 200), (10**6, 200)],
)
def test_cache_size_follows_storage(storage, size):
    params = run(device(storage_mb=storage), profile="bandwidth_save")
    assert params.cache_size_mb == size
    assert params.cache_enabled is (size > 0)
    assert params.preload_tracks == (5 if size else 0)


def test_preload_is_zero_whenever_the_cache_is_off():
    # The prototype returned 5 here.
    params = run(device(storage_mb=50, network_type="3g"))
    assert params.profile is P.BANDWIDTH_SAVE
    assert (params.cache_enabled, params.cache_size_mb, params.preload_tracks) == (False, 0, 0)
    assert run(best()).preload_tracks == 0  # quality profile, no reason for a cache


# -- preferences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefs",
    [
        {"quality": "ultra"},  # crashed the prototype with a KeyError
        {"profile": "turbo"},  # was returned as the profile name, then crashed
        {"quality": ["high"]},
        {"quality": {"high": 1}},
        {"profile": 3},
        {"quality": ""},
        {"qualty": "high"},
        {"profile": "quality", "bitrate": 320},
    ],
)
def test_invalid_preferences_are_invalid_input(prefs):
    with pytest.raises(InvalidInput) as caught:
        optimize_streaming(best(), prefs)
    assert caught.value.code == "invalid_input"


def test_invalid_preferences_message_names_the_choices():
    with pytest.raises(InvalidInput, match="quality must be one of low, medium, high, lossless"):
        optimize_streaming(best(), {"quality": "ultra"})
    with pytest.raises(InvalidInput, match="must be an object"):
        optimize_streaming(best(), "quality")


def test_preferences_forms_agree():
    dev = best(codecs=["opus"])
    expected = optimize_streaming(dev, StreamingPreferences(P.BALANCED, Q.MEDIUM))
    assert optimize_streaming(dev, {"profile": "balanced", "quality": "medium"}) == expected
    assert optimize_streaming(dev, {"profile": "Balanced", "quality": " MEDIUM"}) == expected
    assert optimize_streaming(dev, {"profile": P.BALANCED, "quality": Q.MEDIUM}) == expected
    none = optimize_streaming(dev)
    assert optimize_streaming(dev, {}) == none
    assert optimize_streaming(dev, {"profile": None, "quality": None}) == none
    assert StreamingPreferences.from_mapping({"quality": "low"}).to_dict() == {
        "profile": None,
        "quality": "low",
    }


def test_params_to_dict_is_plain_json():
    wire = run(best(codecs=["opus", "flac"]), quality="high").to_dict()
    assert wire == {
        "profile": "quality",
        "quality": "high",
        "bitrate_kbps": 256,
        "stream_bitrate_kbps": 256,
        "codec": "opus",
        "lossless": False,
        "buffer_seconds": 8.0,
        "cache_enabled": False,
        "cache_size_mb": 0,
        "preload_tracks": 0,
    }
    assert all(type(v) in (str, int, float, bool) for v in wire.values())
