from __future__ import annotations

import hashlib
import threading

import httpx
import pytest

from qfzz.testing import listen_in_background as _listen_in_background
from qfzz.testing import wait_for as _wait

pytestmark = pytest.mark.slow

DESKTOP = {
    "device_id": "desk-1",
    "device_type": "desktop",
    "network_type": "ethernet",
    "bandwidth_mbps": 50,
    "codecs": ["mp3"],
}


def test_device_routes_register_update_and_optimize(live):
    ann, _ = live.sign_in("ann")
    bob, _ = live.sign_in("bob")
    devices = f"{live.url}/api/v1/devices"
    created = httpx.post(devices, json={**DESKTOP, "user_id": "ann"}, headers=ann)
    assert created.status_code == 201, created.text
    params = created.json()["optimization"]
    assert (params["profile"], params["quality"], params["bitrate_kbps"]) == (
        "quality",
        "lossless",
        320,
    )
    assert httpx.get(f"{devices}/desk-1/optimization", headers=bob).status_code == 403
    patched = httpx.patch(
        f"{devices}/desk-1", headers=ann, json={"network_type": "3g", "bandwidth_mbps": 0.5}
    )
    params = patched.json()["optimization"]
    assert params["profile"] == "bandwidth_save" and params["bitrate_kbps"] <= 96
    assert params["buffer_seconds"] == 60 and params["cache_enabled"] is True
    got = httpx.get(f"{devices}/desk-1/optimization", headers=ann).json()
    assert got["optimization"] == params
    # bad input: a clear 4xx JSON answer, nothing stored
    bad = httpx.post(devices, json={**DESKTOP, "device_id": "x", "battery_level": 3}, headers=ann)
    assert bad.status_code == 422 and bad.json()["error"]
    assert httpx.get(f"{devices}/x/optimization", headers=ann).status_code == 404
    pigeon = httpx.patch(f"{devices}/desk-1", json={"network_type": "pigeon"}, headers=ann)
    assert pigeon.status_code == 422
    assert httpx.post(devices, json={**DESKTOP, "user_id": "bob"}, headers=ann).status_code == 403
    # devices survive a restart
    devices = live.station.parts.devices
    devices.registry = type(devices.registry)(live.station.clock)
    devices.load()
    assert live.station.device_params("desk-1").profile == "bandwidth_save"


def test_a_running_stream_moves_to_the_new_bitrate_at_the_next_track(live):
    ann, _ = live.sign_in("ann")
    httpx.post(f"{live.url}/api/v1/devices", json=DESKTOP, headers=ann)
    mount = live.station.radio.mount("main")
    stop = threading.Event()
    thread = _listen_in_background(f"{live.url}/stream/main?device_id=desk-1", stop, ann)
    try:
        assert _wait(lambda: mount.encoders == [("mp3", 320)])
        httpx.patch(
            f"{live.url}/api/v1/devices/desk-1",
            headers=ann,
            json={"network_type": "3g", "bandwidth_mbps": 0.5},
        )
        assert _wait(lambda: mount.encoders == [("mp3", 96)])  # after the track boundary
        assert mount.listener_count() == 1
    finally:
        stop.set()
        thread.join(10)


def test_an_opus_stream_switching_bitrate_starts_a_new_chain_with_its_headers(live):
    ann, _ = live.sign_in("ann")
    httpx.post(
        f"{live.url}/api/v1/devices", json={**DESKTOP, "codecs": ["mp3", "opus"]}, headers=ann
    )
    mount = live.station.radio.mount("main")
    stop, heard = threading.Event(), bytearray()
    thread = _listen_in_background(
        f"{live.url}/stream/main?device_id=desk-1&format=opus", stop, ann, heard
    )
    try:
        assert _wait(lambda: len(mount.encoders) == 1 and mount.encoders[0][0] == "opus")
        (before,) = mount.encoders
        httpx.patch(
            f"{live.url}/api/v1/devices/desk-1",
            headers=ann,
            json={"network_type": "3g", "bandwidth_mbps": 0.5},
        )
        assert _wait(lambda: mount.encoders not in ([], [before]))
        assert _wait(lambda: heard.count(b"OpusHead") == 2)  # the new encoder's headers
    finally:
        stop.set()
        thread.join(10)


def _subsonic(live, user: str) -> dict[str, str]:
    salt = "s4lt"
    password = live.station.accounts.app_password(user)
    token = hashlib.md5((password + salt).encode()).hexdigest()
    return {"u": user, "t": token, "s": salt, "c": "tests", "v": "1.16.1", "f": "json"}


def test_a_listener_can_never_take_over_or_use_another_listeners_device(live):
    ann, _ = live.sign_in("ann")
    bob, bob_token = live.sign_in("bob")
    boss, _ = live.sign_in("boss")
    live.station.accounts.make_admin("boss")
    devices = f"{live.url}/api/v1/devices"
    assert httpx.post(devices, json=DESKTOP, headers=ann).status_code == 201
    # registering ann's id again: 409 for bob, stored owner and parameters untouched
    grab = httpx.post(devices, json={**DESKTOP, "network_type": "3g"}, headers=bob)
    assert grab.status_code == 409, grab.text
    assert grab.json()["error"] == "device_conflict" and grab.json()["detail"]
    assert live.station.parts.devices.registry.get("desk-1").user_id == "ann"
    assert [d.user_id for d in live.station.parts.store.devices.all()] == ["ann"]
    assert live.station.device_params("desk-1").bitrate_kbps == 320
    # bob can neither change nor read it, nor let it pick his stream or transcode
    update = httpx.patch(f"{devices}/desk-1", json={"network_type": "3g"}, headers=bob)
    assert update.status_code == 403 and update.json()["error"] == "forbidden"
    assert httpx.get(f"{devices}/desk-1/optimization", headers=bob).status_code == 403
    for url in (
        f"{live.url}/stream/main?device_id=desk-1",
        f"{live.url}/api/v1/listeners/bob/stream?device_id=desk-1",
        f"{live.url}/stream/main?device_id=desk-1&token={bob_token}",
    ):
        answer = httpx.get(url, headers=bob if "token=" not in url else None)
        assert answer.status_code == 403, (url, answer.text)
    assert "~bob" not in {m.name for m in live.station.radio.all_mounts()}  # none started
    decision = httpx.get(
        f"{live.url}/rest/getTranscodeDecision",
        params={**_subsonic(live, "bob"), "mediaId": "tr-1", "deviceId": "desk-1"},
    ).json()["subsonic-response"]
    assert decision["status"] == "failed" and decision["error"]["code"] == 50
    assert live.station.device_params("desk-1").bitrate_kbps == 320  # nothing changed
    # ann re-registering her own device is a plain 201; an admin may act for anyone
    assert (
        httpx.post(devices, json={**DESKTOP, "bandwidth_mbps": 20}, headers=ann).status_code == 201
    )
    moved = httpx.post(devices, json={**DESKTOP, "user_id": "bob"}, headers=boss)
    registry = live.station.parts.devices.registry
    assert moved.status_code == 201 and registry.get("desk-1").user_id == "bob"
    assert httpx.get(f"{devices}/desk-1/optimization", headers=ann).status_code == 403


def test_a_device_without_an_owner_is_changed_only_by_an_admin(live):
    ann, _ = live.sign_in("ann")
    boss, _ = live.sign_in("boss")
    live.station.accounts.make_admin("boss")
    live.station.register_device({**DESKTOP, "device_id": "kiosk"})  # no owner
    devices = f"{live.url}/api/v1/devices"
    change = {"network_type": "3g", "bandwidth_mbps": 0.5}
    assert httpx.patch(f"{devices}/kiosk", json=change, headers=ann).status_code == 403
    assert (
        httpx.post(devices, json={**DESKTOP, "device_id": "kiosk"}, headers=ann).status_code == 409
    )
    assert live.station.parts.devices.registry.get("kiosk").user_id is None
    assert httpx.patch(f"{devices}/kiosk", json=change, headers=boss).status_code == 200
