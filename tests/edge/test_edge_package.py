"""The public face of qfzz.edge and its layer rule (a domain package: no frameworks)."""

from __future__ import annotations

import subprocess
import sys

import qfzz.edge

EXPECTED = {
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
}


def test_exports_are_deliberate_and_sorted():
    assert set(qfzz.edge.__all__) == EXPECTED
    # Sorted the way ruff's RUF022 sorts: CONSTANTS, then Classes, then functions.
    kind = {True: 0, False: 1}
    assert qfzz.edge.__all__ == sorted(
        qfzz.edge.__all__,
        key=lambda n: (kind[n.isupper()] if n[0].isupper() else 2, n),
    )
    for name in qfzz.edge.__all__:
        assert getattr(qfzz.edge, name) is not None


def test_the_enums_hold_exactly_the_issues_names():
    assert [m.value for m in qfzz.edge.DeviceType] == [
        "smartphone",
        "tablet",
        "laptop",
        "desktop",
        "iot",
        "smart_speaker",
        "car_system",
    ]
    assert [m.value for m in qfzz.edge.NetworkType] == [
        "wifi",
        "5g",
        "4g",
        "3g",
        "ethernet",
        "unknown",
    ]


def test_importing_edge_loads_no_framework_or_driver():
    forbidden = ["fastapi", "starlette", "typer", "sqlalchemy", "psycopg", "av", "redis"]
    code = f"import sys, qfzz.edge\nprint(sorted(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
