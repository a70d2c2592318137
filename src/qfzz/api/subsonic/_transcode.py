"""OpenSubsonic ``transcoding``: ``getTranscodeDecision`` answered by the edge optimizer.

The client describes itself in ``clientInfo`` (a JSON body, or a ``clientInfo`` form or
query parameter holding JSON, for clients that only send forms). Besides the standard
fields (``name``, ``platform``, ``maxAudioBitrate``, ``directPlayProfiles``,
``transcodingProfiles``) QFZZ reads optional device facts: ``deviceType``,
``networkType`` (``wifi``, ``3g``, ``4g``…), ``bandwidthMbps``, ``batteryPowered``,
``batteryLevel``, ``storageMb``. A ``deviceId`` of a device registered through the REST
API is used as registered, if it is the caller's own (another listener's: error 50).
``qfzz.edge.optimize_streaming`` picks the profile, bitrate and codec; the file is played
directly when the client plays its codec within that bitrate.
``getTranscodeStream`` streams what a decision's ``transcodeParams`` name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._media import choose, transcode
from qfzz.api.subsonic._registry import Result, method
from qfzz.edge import Codec, EdgeDeviceConfig, StreamingParams, optimize_streaming
from qfzz.errors import InvalidInput
from qfzz.models import Track

_PHONES = ("android", "ios", "iphone", "ipad")
_DEVICE_FACTS = {
    "deviceType": "device_type",
    "networkType": "network_type",
    "bandwidthMbps": "bandwidth_mbps",
    "batteryPowered": "battery_powered",
    "batteryLevel": "battery_level",
    "storageMb": "storage_mb",
}


def _client_info(call: Call) -> dict[str, Any]:
    info = call.body if isinstance(call.body, Mapping) else call.json("clientInfo")
    if isinstance(info, Mapping) and isinstance(info.get("clientInfo"), Mapping):
        info = info["clientInfo"]
    if info is None:
        return {}
    if not isinstance(info, Mapping):
        raise InvalidInput("clientInfo must be a JSON object")
    return dict(info)


def _codecs(info: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for profile in info.get("directPlayProfiles") or []:
        if isinstance(profile, Mapping):
            found.update(str(c).lower() for c in profile.get("audioCodecs") or [])
            found.update(str(c).lower() for c in profile.get("containers") or [])
    for profile in info.get("transcodingProfiles") or []:
        if isinstance(profile, Mapping):
            found.add(str(profile.get("audioCodec") or profile.get("container") or "").lower())
    return found


def _direct_codecs(info: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for profile in info.get("directPlayProfiles") or []:
        if isinstance(profile, Mapping):
            found.update(str(c).lower() for c in profile.get("audioCodecs") or [])
            found.update(str(c).lower() for c in profile.get("containers") or [])
    return found


def device_from(info: Mapping[str, Any], client: str) -> EdgeDeviceConfig:
    platform = str(info.get("platform") or "").lower()
    config: dict[str, object] = {
        "device_id": f"subsonic:{str(info.get('name') or client)[:100]}",
        "device_type": "smartphone" if platform.startswith(_PHONES) else "desktop",
        "codecs": sorted(_codecs(info) & {c.value for c in Codec}),
    }
    max_kbps = info.get("maxAudioBitrate")
    if isinstance(max_kbps, int) and not isinstance(max_kbps, bool) and max_kbps > 0:
        config["max_bitrate_kbps"] = max(32, max_kbps)
    for wire_name, field in _DEVICE_FACTS.items():
        if info.get(wire_name) is not None:
            config[field] = info[wire_name]
    return EdgeDeviceConfig.from_dict(config)


def _stream(
    protocol: str, container: str | None, codec: str | None, kbps: int | None
) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "container": container or "",
        "codec": codec or "",
        "audioChannels": 2,
        "audioBitrate": kbps,
        "audioSamplerate": 44100 if codec == "mp3" else 48000,
    }


def decide(
    track: Track, params: StreamingParams, direct: set[str], max_kbps: int
) -> dict[str, Any]:
    suffix = wire.suffix_of(track)
    limit = min(params.bitrate_kbps, max_kbps) if max_kbps else params.bitrate_kbps
    source_kbps = track.meta.bitrate
    reasons = []
    if suffix not in direct:
        reasons.append(f"the client does not play {suffix or 'this format'} directly")
    if source_kbps is None or source_kbps > limit:
        reasons.append(f"the file's bitrate is above the {limit} kbps chosen for this device")
    if params.lossless and suffix == "flac" and "flac" in direct:
        reasons = []  # the device takes lossless originals
    codec = str(params.codec)
    kbps = min(params.stream_bitrate_kbps, limit)
    decision: dict[str, Any] = {
        "canDirectPlay": not reasons,
        "canTranscode": bool(track.path),
        "sourceStream": _stream("http", suffix, suffix, source_kbps),
        "streamingProfile": {
            "profile": str(params.profile),
            "quality": str(params.quality),
            "bitrateKbps": limit,
            "codec": codec,
            "bufferSeconds": params.buffer_seconds,
        },
    }
    if reasons:
        decision["transcodeReason"] = reasons
        decision["transcodeParams"] = f"{codec}:{kbps}"
        decision["transcodeStream"] = _stream(
            "http", "ogg" if codec == "opus" else codec, codec, kbps
        )
    return decision


@method("getTranscodeDecision")
def get_transcode_decision(call: Call) -> Result:
    track = call.station.track(ids.parse_track(call.get("mediaId") or call.required("id")))
    info = _client_info(call)
    device_id = call.get("deviceId")
    if device_id:
        params = call.station.device_params(device_id, by=call.user)  # only one's own
        direct = _direct_codecs(info) or {str(params.codec)}
    else:
        params = optimize_streaming(device_from(info, call.client))
        direct = _direct_codecs(info)
    return {"transcodeDecision": decide(track, params, direct, call.number("maxBitRate", 0))}


@method("getTranscodeStream")
def get_transcode_stream(call: Call) -> Result:
    track = call.station.track(ids.parse_track(call.get("mediaId") or call.required("id")))
    offset = float(call.number("offset", 0, high=10**7))
    codec, _, kbps = (call.get("transcodeParams") or "").partition(":")
    if codec not in ("mp3", "opus") or not kbps.isdigit():
        return choose(track, "raw", 0, 0.0)
    return transcode(track, "opus" if codec == "opus" else "mp3", int(kbps), offset)
