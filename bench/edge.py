"""Edge optimization: ``optimize_streaming`` vs the QFZZ design's dict-based optimizer.

Prints the median and p99 per call (timed in batches, 1000 calls per timing, so the timer
costs nothing per call) for a fixed mix of devices and preferences, next to a naive
re-implementation of the design's data flow (select_profile → quality tier → bitrate from
dicts, a dict result), and their ratio. Also the cost of building the device config
(validation and the device-only rules) together with one optimization, and of a registry
update, for honesty: those run on registration and on network/battery reports, not per
request. Target: ``optimize_streaming`` ≤ 10 µs median.

    python3 run.py bench edge [--batches 300 --batch-size 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import statistics
import time
from collections.abc import Callable

from qfzz.edge import DeviceRegistry, EdgeDeviceConfig, optimize_streaming

# -- the design's optimizer, naively (dicts and strings, everything per call) ------------

NAIVE_PROFILES = {
    "power_save": {
        "max_quality": "medium",
        "buffer_multiplier": 1.5,
        "aggressive_cache": True,
        "max_bitrate_kbps": 128,
    },
    "balanced": {
        "max_quality": "high",
        "buffer_multiplier": 1.0,
        "aggressive_cache": False,
        "max_bitrate_kbps": 256,
    },
    "quality": {
        "max_quality": "lossless",
        "buffer_multiplier": 0.8,
        "aggressive_cache": False,
        "max_bitrate_kbps": 320,
    },
    "bandwidth_save": {
        "max_quality": "low",
        "buffer_multiplier": 2.0,
        "aggressive_cache": True,
        "max_bitrate_kbps": 96,
    },
}
QUALITY_LEVELS = ["low", "medium", "high", "lossless"]
QUALITY_BITRATES = {"low": 96, "medium": 128, "high": 256, "lossless": 320}


@dataclasses.dataclass
class NaiveDevice:
    device_id: str
    device_type: str
    network_type: str
    bandwidth_mbps: float
    storage_mb: float
    battery_powered: bool
    battery_level: float
    max_bitrate_kbps: int
    codecs: set[str]


def naive_select_profile(device, preferences):
    if preferences and preferences.get("profile"):
        return preferences["profile"]
    if device.battery_powered and device.battery_level < 0.3:
        return "power_save"
    if device.network_type in ["3g", "4g"]:
        return "bandwidth_save"
    if device.bandwidth_mbps < 1.0:
        return "bandwidth_save"
    if device.bandwidth_mbps >= 5.0 and device.device_type in ["desktop", "laptop"]:
        return "quality"
    return "balanced"


def naive_quality(device, profile, preferences):
    if device.bandwidth_mbps >= 5.0 and device.device_type in ["desktop", "laptop"]:
        tier = "lossless"
    elif device.bandwidth_mbps >= 2.0:
        tier = "high"
    elif device.bandwidth_mbps >= 1.0:
        tier = "medium"
    else:
        tier = "low"
    wanted = (preferences or {}).get("quality") or "lossless"
    candidates = [wanted, profile["max_quality"], tier]
    return QUALITY_LEVELS[min(QUALITY_LEVELS.index(q) for q in candidates)]


def naive_bitrate(device, profile, quality):
    base = QUALITY_BITRATES[quality]
    bandwidth_limit = int(device.bandwidth_mbps * 1024 * 0.8)
    limits = [base, profile["max_bitrate_kbps"], device.max_bitrate_kbps, bandwidth_limit]
    return max(32, min(limits))


def naive_cache(device, profile):
    low_battery = device.battery_powered and device.battery_level < 0.3
    enabled = (
        profile["aggressive_cache"]
        or device.network_type in ["3g", "4g"]
        or device.bandwidth_mbps < 2.0
        or low_battery
    )
    if device.storage_mb < 100:
        size = 0
    elif device.storage_mb < 500:
        size = 50
    elif device.storage_mb < 1000:
        size = 100
    else:
        size = 200
    return {"enabled": enabled and size > 0, "size_mb": size if enabled else 0}


def naive_optimize(device, preferences=None):
    profile_name = naive_select_profile(device, preferences)
    profile = NAIVE_PROFILES[profile_name]
    quality = naive_quality(device, profile, preferences)
    bitrate = naive_bitrate(device, profile, quality)
    base = {"3g": 30, "4g": 15, "5g": 15}.get(device.network_type, 10)
    cache = naive_cache(device, profile)
    preload = (5 if profile["aggressive_cache"] else 3) if cache["enabled"] else 0
    return {
        "profile": profile_name,
        "quality": quality,
        "bitrate_kbps": bitrate,
        "codec": "opus" if "opus" in device.codecs and bitrate <= 256 else "mp3",
        "lossless": quality == "lossless" and "flac" in device.codecs,
        "buffer_seconds": base * profile["buffer_multiplier"],
        "cache_enabled": cache["enabled"],
        "cache_size_mb": cache["size_mb"] if cache["enabled"] else 0,
        "preload_tracks": preload,
    }


# -- the workload ------------------------------------------------------------------------

KINDS = ["smartphone", "tablet", "laptop", "desktop", "iot", "smart_speaker", "car_system"]
NETWORKS = ["wifi", "5g", "4g", "3g", "ethernet", "unknown"]
PREFERENCES = [None, None, None, {"quality": "high"}, {"profile": "power_save"}, {}]
PREFERENCES += [{"profile": "quality", "quality": "medium"}, {"profile": "bandwidth_save"}]


def device_fields(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        out.append(
            {
                "device_id": f"dev-{i}",
                "device_type": rng.choice(KINDS),
                "network_type": rng.choice(NETWORKS),
                "bandwidth_mbps": rng.choice([0.05, 0.5, 0.999, 1.5, 2.0, 4.0, 5.0, 50.0]),
                "storage_mb": rng.choice([0, 99, 256, 512, 4096]),
                "battery_powered": rng.random() < 0.5,
                "battery_level": rng.random(),
                "max_bitrate_kbps": rng.choice([128, 256, 320]),
                "codecs": rng.sample(["opus", "aac", "flac"], rng.randint(0, 3)),
            }
        )
    return out


def per_call_us(run_batch: Callable[[], object], size: int, batches: int) -> list[float]:
    samples = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        run_batch()
        samples.append((time.perf_counter_ns() - start) / size / 1000)
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(5)
    rows = device_fields(rng, 200)
    ours = [EdgeDeviceConfig.from_dict(r) for r in rows]
    naive = [NaiveDevice(**{**r, "codecs": set(r["codecs"])}) for r in rows]
    picks = [(rng.randrange(len(rows)), rng.choice(PREFERENCES)) for _ in range(args.batch_size)]
    work_ours = [(ours[i], p) for i, p in picks]
    work_naive = [(naive[i], p) for i, p in picks]

    # The two must agree before their speed means anything.
    for (d, p), (nd, _) in zip(work_ours, work_naive, strict=True):
        got = optimize_streaming(d, p).to_dict()
        del got["stream_bitrate_kbps"]
        assert got == naive_optimize(nd, p), (d, p)

    def batch_ours() -> None:
        for d, p in work_ours:
            optimize_streaming(d, p)

    def batch_naive() -> None:
        for d, p in work_naive:
            naive_optimize(d, p)

    def batch_build() -> None:
        for i, p in picks:
            optimize_streaming(EdgeDeviceConfig.from_dict(rows[i]), p)

    registry = DeviceRegistry()
    for d in ours:
        registry.register(d)
    updates = [(rows[i]["device_id"], rng.choice([0.5, 3.0, 20.0])) for i, _ in picks]

    def batch_update() -> None:
        for device_id, mbps in updates:
            registry.update(device_id, bandwidth_mbps=mbps)

    size, batches = args.batch_size, args.batches
    gc.collect()
    results: dict[str, list[float]] = {"ours": [], "naive": []}
    for _ in range(batches // 10):  # interleaved, so drift hits both alike
        results["ours"] += per_call_us(batch_ours, size, 10)
        results["naive"] += per_call_us(batch_naive, size, 10)
    results["build"] = per_call_us(batch_build, size, max(batches // 10, 10))
    results["update"] = per_call_us(batch_update, size, max(batches // 10, 10))

    print(f"edge optimization: {len(rows)} devices, {len(PREFERENCES)} preference forms,")
    print(f"{batches} batches × {size} calls (per-call µs from batch times)\n")
    print(f"{'':42} {'median µs':>10} {'p99 µs':>10}")
    labels = {
        "ours": "optimize_streaming",
        "naive": "design's dict-based optimizer (naive)",
        "build": "EdgeDeviceConfig.from_dict + optimize",
        "update": "DeviceRegistry.update (re-optimize)",
    }
    for key, label in labels.items():
        s = results[key]
        print(f"{label:42} {statistics.median(s):10.2f} {p99(s):10.2f}")
    ours_median = statistics.median(results["ours"])
    ratio = statistics.median(results["naive"]) / ours_median
    print(f"\nnaive / optimize_streaming (median): {ratio:.2f}×")
    verdict = "met" if ours_median <= 10 else "MISSED"
    print(f"target optimize_streaming ≤ 10 µs median: {verdict} ({ours_median:.2f} µs)")


if __name__ == "__main__":
    main()
