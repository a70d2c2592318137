"""EdgeDeviceConfig: defaults, coercion, validation (InvalidInput naming the field)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from qfzz.edge import Codec, DeviceType, EdgeDeviceConfig, NetworkType, ProfileName, Quality
from qfzz.errors import InvalidInput


def test_defaults_are_the_designs():
    device = EdgeDeviceConfig("d1", DeviceType.SMARTPHONE)
    assert device.network_type is NetworkType.UNKNOWN
    assert device.bandwidth_mbps == 10.0
    assert (device.cpu_cores, device.memory_mb, device.storage_mb) == (2, 2048, 1024)
    assert device.battery_powered is False
    assert device.battery_level == 1.0
    assert device.supports_hardware_decode is True
    assert device.max_bitrate_kbps == 320
    assert device.codecs == frozenset({Codec.MP3})


def test_names_are_coerced_case_insensitively_and_mp3_is_always_accepted():
    device = EdgeDeviceConfig("d1", "Laptop", network_type=" WIFI ", codecs=["opus", "FLAC"])
    assert device.device_type is DeviceType.LAPTOP
    assert device.network_type is NetworkType.WIFI
    assert device.codecs == {Codec.MP3, Codec.OPUS, Codec.FLAC}
    assert EdgeDeviceConfig("d2", "iot", codecs=()).codecs == {Codec.MP3}


def test_integral_floats_become_ints():
    device = EdgeDeviceConfig("d1", "desktop", storage_mb=1024.0, max_bitrate_kbps=256.0)
    assert device.storage_mb == 1024 and type(device.storage_mb) is int
    assert device.max_bitrate_kbps == 256 and type(device.max_bitrate_kbps) is int


def test_boundary_values_are_valid():
    device = EdgeDeviceConfig(
        "d1",
        "iot",
        bandwidth_mbps=0,
        battery_powered=True,
        battery_level=0.0,
        storage_mb=0,
        cpu_cores=1,
        memory_mb=1,
        max_bitrate_kbps=32,
    )
    assert device.bandwidth_mbps == 0.0
    assert EdgeDeviceConfig("d2", "iot", battery_level=1).battery_level == 1.0


INVALID = [
    ("device_id", ""),
    ("device_id", "   "),
    ("device_id", 7),
    ("device_id", "a\nb"),
    ("device_id", "x" * 129),
    ("device_type", "phone"),
    ("device_type", ""),
    ("device_type", None),
    ("device_type", 3),
    ("network_type", "2g"),
    ("network_type", None),
    ("bandwidth_mbps", -1),
    ("bandwidth_mbps", -0.001),
    ("bandwidth_mbps", math.nan),
    ("bandwidth_mbps", math.inf),
    ("bandwidth_mbps", "10"),
    ("bandwidth_mbps", True),
    ("bandwidth_mbps", None),
    ("cpu_cores", 0),
    ("cpu_cores", -2),
    ("cpu_cores", 1.5),
    ("cpu_cores", "2"),
    ("cpu_cores", True),
    ("memory_mb", 0),
    ("storage_mb", -1),
    ("storage_mb", 10.5),
    ("battery_powered", "yes"),
    ("battery_powered", 1),
    ("battery_level", -0.01),
    ("battery_level", 1.01),
    ("battery_level", math.nan),
    ("supports_hardware_decode", "no"),
    ("max_bitrate_kbps", 0),
    ("max_bitrate_kbps", -128),
    ("max_bitrate_kbps", 31),
    ("max_bitrate_kbps", 12.5),
    ("codecs", "mp3"),
    ("codecs", 5),
    ("codecs", ["wma"]),
    ("codecs", [None]),
]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_an_invalid_value_is_invalid_input_naming_the_field(name, value):
    fields = {"device_id": "d1", "device_type": "smartphone", name: value}
    with pytest.raises(InvalidInput) as caught:
        EdgeDeviceConfig(**fields)
    assert caught.value.code == "invalid_input"
    label = "codec" if name == "codecs" else name
    assert label in caught.value.detail
    with pytest.raises(InvalidInput):
        EdgeDeviceConfig.from_dict(fields)


def test_replace_validates_too():
    device = EdgeDeviceConfig("d1", "smartphone")
    with pytest.raises(InvalidInput, match="battery_level"):
        dataclasses.replace(device, battery_level=1.5)
    moved = dataclasses.replace(device, network_type="3g")
    assert moved.network_type is NetworkType.CELLULAR_3G
    assert moved.auto_profile is ProfileName.BANDWIDTH_SAVE


def test_unknown_device_type_message_lists_the_accepted_names():
    with pytest.raises(InvalidInput) as caught:
        EdgeDeviceConfig("d1", "phone")
    for kind in DeviceType:
        assert kind.value in caught.value.detail


def test_from_dict_rejects_unknown_and_missing_fields_and_non_objects():
    with pytest.raises(InvalidInput, match=r"unknown device field.*ram_gb"):
        EdgeDeviceConfig.from_dict({"device_id": "d", "device_type": "iot", "ram_gb": 2})
    with pytest.raises(InvalidInput, match=r"missing device field.*device_type"):
        EdgeDeviceConfig.from_dict({"device_id": "d"})
    with pytest.raises(InvalidInput, match="must be an object"):
        EdgeDeviceConfig.from_dict(["d", "iot"])
    with pytest.raises(InvalidInput, match="unknown device field"):
        EdgeDeviceConfig.from_dict({"device_id": "d", "device_type": "iot", 3: 1})


def test_to_dict_is_json_and_from_dict_inverts_it():
    device = EdgeDeviceConfig(
        "car-7",
        DeviceType.CAR_SYSTEM,
        network_type=NetworkType.CELLULAR_4G,
        bandwidth_mbps=3.5,
        battery_powered=True,
        battery_level=0.42,
        codecs=frozenset({Codec.AAC, Codec.OPUS}),
    )
    wire = json.loads(json.dumps(device.to_dict()))
    assert wire["device_type"] == "car_system"
    assert wire["network_type"] == "4g"
    assert wire["codecs"] == ["aac", "mp3", "opus"]
    assert EdgeDeviceConfig.from_dict(wire) == device


def test_derived_facts():
    desktop = EdgeDeviceConfig("d1", "desktop", bandwidth_mbps=5)
    assert desktop.tier is Quality.LOSSLESS
    assert desktop.auto_profile is ProfileName.QUALITY
    phone = EdgeDeviceConfig("d2", "smartphone", bandwidth_mbps=5)
    assert phone.tier is Quality.HIGH
    assert phone.auto_profile is ProfileName.BALANCED
    # Derived facts do not take part in equality or repr.
    assert "_tier" not in repr(desktop)
    assert desktop == EdgeDeviceConfig("d1", "desktop", bandwidth_mbps=5.0)


def test_numpy_numbers_are_accepted():
    import numpy as np

    device = EdgeDeviceConfig(
        "d1",
        "desktop",
        bandwidth_mbps=np.float64(2.5),
        cpu_cores=np.int64(8),
        storage_mb=np.int32(0),
    )
    assert (device.bandwidth_mbps, device.cpu_cores, device.storage_mb) == (2.5, 8, 0)
    assert type(device.cpu_cores) is int and type(device.bandwidth_mbps) is float


def test_max_bitrate_message_gives_the_reason():
    with pytest.raises(InvalidInput, match=r"at least 32 \(no encoder"):
        EdgeDeviceConfig("d1", "iot", max_bitrate_kbps=16)
