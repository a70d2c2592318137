"""DeviceRegistry: register, update (validated, re-optimized, notified), remove, threads."""

from __future__ import annotations

import logging
import threading

import pytest

from qfzz.edge import (
    DeviceConflict,
    DeviceRegistry,
    EdgeDeviceConfig,
    NetworkType,
    ProfileName,
    Quality,
    StreamingPreferences,
    UnknownDevice,
    optimize_streaming,
)
from qfzz.errors import InvalidInput, QfzzError


@pytest.fixture
def registry(clock):
    return DeviceRegistry(clock=clock)


@pytest.fixture
def changes(registry):
    seen = []
    registry.subscribe(seen.append)
    return seen


def phone(device_id="p1", **fields):
    base = {"network_type": "wifi", "bandwidth_mbps": 20, "battery_powered": True}
    return EdgeDeviceConfig(device_id, "smartphone", **{**base, **fields})


def test_register_returns_params_and_get_finds_the_device(registry, changes, clock):
    config = phone(codecs=["opus"])
    params = registry.register(config, user_id="ann")
    assert params == optimize_streaming(config)
    entry = registry.get("p1")
    assert (entry.config, entry.user_id, entry.params) == (config, "ann", params)
    assert entry.registered_at == entry.updated_at == clock()
    assert entry.version == 1
    assert "p1" in registry and len(registry) == 1
    assert registry.params("p1") == params
    [change] = changes
    assert (change.kind, change.device_id, change.previous) == ("registered", "p1", None)
    assert change.stream_changed


def test_unknown_device_is_a_qfzz_error_with_its_own_code(registry):
    with pytest.raises(UnknownDevice) as caught:
        registry.get("nope")
    assert isinstance(caught.value, QfzzError)
    assert not isinstance(caught.value, InvalidInput)
    assert caught.value.code == "unknown_device"
    for call in (
        lambda: registry.update("nope", bandwidth_mbps=1),
        lambda: registry.remove("nope"),
        lambda: registry.params("nope"),
    ):
        with pytest.raises(UnknownDevice):
            call()


def test_network_downgrade_reoptimizes_and_notifies(registry, changes, clock):
    registry.register(phone(codecs=["opus"]), user_id="ann")
    clock.advance(30)
    params = registry.update("p1", network_type=NetworkType.CELLULAR_3G, bandwidth_mbps=0.8)
    assert params.profile is ProfileName.BANDWIDTH_SAVE
    assert (params.quality, params.bitrate_kbps, params.codec) == (Quality.LOW, 96, "opus")
    assert params.buffer_seconds == 60.0
    entry = registry.get("p1")
    assert entry.params == params
    assert entry.config.network_type is NetworkType.CELLULAR_3G
    assert entry.updated_at == entry.registered_at + 30
    assert entry.version == 2
    change = changes[-1]
    assert change.kind == "updated"
    assert change.previous.params.bitrate_kbps == 256
    assert change.device.params.bitrate_kbps == 96
    assert change.stream_changed


def test_battery_update_moves_to_power_save(registry, changes):
    registry.register(phone())
    params = registry.update("p1", battery_level=0.2)
    assert params.profile is ProfileName.POWER_SAVE
    assert params.bitrate_kbps == 128
    assert registry.update("p1", battery_powered=False).profile is ProfileName.BALANCED
    assert [c.kind for c in changes] == ["registered", "updated", "updated"]


def test_an_invalid_update_changes_nothing_and_notifies_no_one(registry, changes):
    registry.register(phone())
    before = registry.get("p1")
    for bad in (
        {"battery_level": 1.5},
        {"bandwidth_mbps": -1},
        {"network_type": "2g"},
        {"battery_powered": "yes"},
        {"preferences": {"quality": "ultra"}},
    ):
        with pytest.raises(InvalidInput):
            registry.update("p1", **bad)
    assert registry.get("p1") == before
    assert len(changes) == 1


def test_an_update_that_changes_nothing_is_silent(registry, changes):
    params = registry.register(phone())
    assert registry.update("p1", bandwidth_mbps=20.0, network_type="wifi") == params
    assert registry.update("p1") == params
    assert len(changes) == 1
    assert registry.get("p1").version == 1


def test_small_changes_that_keep_the_encoder_say_so(registry, changes):
    registry.register(phone())
    registry.update("p1", bandwidth_mbps=30)
    assert changes[-1].kind == "updated"
    assert not changes[-1].stream_changed


def test_preferences_are_kept_across_updates_until_replaced(registry):
    params = registry.register(phone(), preferences={"quality": "medium"})
    assert params.quality is Quality.MEDIUM
    assert registry.get("p1").preferences == StreamingPreferences(quality=Quality.MEDIUM)
    assert registry.update("p1", network_type="5g").quality is Quality.MEDIUM
    assert registry.update("p1", preferences={"profile": "power_save"}).bitrate_kbps == 128
    assert registry.update("p1", preferences=None).profile is ProfileName.BALANCED
    with pytest.raises(InvalidInput):
        registry.register(phone("p2"), preferences={"profile": "turbo"})
    assert "p2" not in registry


def test_registering_again_replaces_the_device(registry, changes):
    registry.register(phone(), user_id="ann")
    params = registry.register(phone(network_type="4g"), user_id="ann")
    assert params.profile is ProfileName.BANDWIDTH_SAVE
    entry = registry.get("p1")
    assert (entry.user_id, entry.version) == ("ann", 2)
    assert changes[-1].kind == "registered"
    assert changes[-1].previous.user_id == "ann"
    assert len(registry) == 1


@pytest.mark.parametrize(("owner", "caller"), [("ann", "bob"), ("ann", None), (None, "bob")])
def test_another_listeners_device_id_is_a_conflict_and_changes_nothing(
    registry, changes, owner, caller
):
    registry.register(phone(), user_id=owner)
    before = registry.get("p1")
    with pytest.raises(DeviceConflict) as caught:
        registry.register(phone(network_type="4g"), user_id=caller)
    assert caught.value.code == "device_conflict" and isinstance(caught.value, QfzzError)
    assert registry.get("p1") == before
    assert len(changes) == 1  # no one was told of a change that did not happen


def test_a_takeover_moves_the_device(registry, changes):
    registry.register(phone(), user_id="ann")
    registry.register(phone(network_type="4g"), user_id="bob", takeover=True)
    entry = registry.get("p1")
    assert (entry.user_id, entry.version) == ("bob", 2)
    assert changes[-1].previous.user_id == "ann"


def test_remove_and_for_user(registry, changes, clock):
    registry.register(phone("b"), user_id="ann")
    clock.advance(1)
    registry.register(phone("a"), user_id="ann")
    registry.register(phone("c"), user_id="bob")
    registry.register(phone("d"))
    assert [d.config.device_id for d in registry.for_user("ann")] == ["b", "a"]
    registry.remove("b")
    assert changes[-1].kind == "removed"
    assert changes[-1].device_id == "b"
    assert [d.config.device_id for d in registry.for_user("ann")] == ["a"]
    assert sorted(d.config.device_id for d in registry.devices()) == ["a", "c", "d"]


def test_a_failing_callback_is_logged_and_the_others_still_run(registry, caplog):
    seen = []

    def broken(change):
        raise RuntimeError("boom")

    registry.subscribe(broken)
    registry.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="qfzz.edge._registry"):
        registry.register(phone())
    assert len(seen) == 1
    assert "callback" in caplog.text and "boom" in caplog.text


def test_unsubscribe(registry):
    seen = []
    unsubscribe = registry.subscribe(seen.append)
    registry.register(phone("a"))
    unsubscribe()
    unsubscribe()  # twice is harmless
    registry.register(phone("b"))
    assert [c.device_id for c in seen] == ["a"]


def test_a_callback_may_read_the_registry(registry):
    read = []
    registry.subscribe(lambda change: read.append(registry.params(change.device_id)))
    params = registry.register(phone())
    assert read == [params]


def test_concurrent_updates_are_all_applied_and_notified_in_order(registry):
    threads, rounds = 4, 300
    for t in range(threads):
        registry.register(phone(f"p{t}"))
    registry.register(phone("shared"))
    seen = []
    registry.subscribe(lambda c: seen.append((c.device_id, c.device.version)))

    def work(t):
        for i in range(rounds):
            registry.update(f"p{t}", bandwidth_mbps=1 + (i % 2) + t / 10)
            registry.update("shared", bandwidth_mbps=1000 + t * rounds + i)
            registry.get("shared")

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert len(seen) == 2 * threads * rounds
    for device_id in [*(f"p{t}" for t in range(threads)), "shared"]:
        versions = [v for d, v in seen if d == device_id]
        assert versions == list(range(2, len(versions) + 2))  # in order, none lost
    assert registry.get("shared").version == threads * rounds + 1


def test_follow_pushes_one_devices_params_now_and_on_each_change(registry):
    registry.register(phone("p1"), user_id="ann")
    registry.register(phone("p2"), user_id="ann")
    pushed = []
    unsubscribe = registry.follow("p1", pushed.append)
    assert pushed == [registry.params("p1")]  # what it is now, so no change is missed
    low = registry.update("p1", network_type=NetworkType.CELLULAR_3G, bandwidth_mbps=0.8)
    registry.update("p2", bandwidth_mbps=1)  # another device: not pushed
    registry.remove("p1")
    assert pushed[1:] == [low, None]  # removed: nothing to follow
    assert registry.subscriber_count == 1
    unsubscribe()
    assert registry.subscriber_count == 0
    registry.register(phone("p1"), user_id="ann")
    assert len(pushed) == 3


def test_follow_pushes_none_while_the_device_is_not_the_followers_to_use(registry):
    registry.register(phone("p1"), user_id="ann")
    pushed = []
    registry.follow("p1", pushed.append, may_use=lambda owner: owner in (None, "ann"))
    registry.register(phone("p1"), user_id="bob", takeover=True)  # an admin moved it
    registry.update("p1", bandwidth_mbps=1)
    registry.register(phone("p1"), user_id="ann", takeover=True)
    assert [p is None for p in pushed] == [False, True, True, False]


def test_follow_of_an_unknown_device_pushes_none_then_its_registration(registry):
    pushed = []
    registry.follow("p9", pushed.append)
    params = registry.register(phone("p9"))
    assert pushed == [None, params]


def test_a_follower_whose_first_push_fails_is_not_left_subscribed(registry):
    registry.register(phone("p1"))

    def broken(params):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        registry.follow("p1", broken)
    assert registry.subscriber_count == 0
