"""The devices listening right now and their streaming parameters, in memory.

A device id belongs to the listener who registered it first: registering the same id
for another listener raises :class:`DeviceConflict` (the API answers 409) unless the
caller asks for a ``takeover`` (admins acting for anyone), so no listener can move or
overwrite another's device by guessing its id.

The registry holds no storage of its own: the station persists devices in the store and
rebuilds the registry on start by registering them again. Every change (register, update,
remove) re-optimizes and is passed to the subscribed callbacks as a :class:`DeviceChange`;
:meth:`DeviceRegistry.follow` narrows that to one device's parameters, which is how a
running stream (``qfzz.broadcast.ListenerSession``) moves to the new bitrate at the next
track boundary without asking.

Thread safety: state is guarded by one lock that reads hold only briefly. Writers are also
serialised by a second, re-entrant lock held while the callbacks run, so callbacks see the
changes in the order they happened and never block readers. A callback must be quick; it
may read the registry, and an exception it raises is logged and ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from qfzz.edge._device import EdgeDeviceConfig
from qfzz.edge._names import NetworkType
from qfzz.edge._optimizer import StreamingParams, StreamingPreferences, optimize_streaming
from qfzz.errors import QfzzError

logger = logging.getLogger(__name__)

ChangeKind = Literal["registered", "updated", "removed"]


class UnknownDevice(QfzzError):
    """No device with this id is registered (the API answers 404)."""

    code = "unknown_device"


class DeviceConflict(QfzzError):
    """The device id is registered to another listener (the API answers 409)."""

    code = "device_conflict"


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    config: EdgeDeviceConfig
    user_id: str | None
    preferences: StreamingPreferences
    params: StreamingParams
    registered_at: float
    updated_at: float
    #: Starts at 1 and grows by one with every change of this device.
    version: int


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """One change, as given to callbacks. ``previous`` is None for a new device."""

    kind: ChangeKind
    device: RegisteredDevice
    previous: RegisteredDevice | None

    @property
    def device_id(self) -> str:
        return self.device.config.device_id

    @property
    def stream_changed(self) -> bool:
        """Whether the encoder the device should hear (codec, bitrate) is different now."""
        if self.previous is None or self.kind == "removed":
            return True
        old, new = self.previous.params, self.device.params
        return (old.codec, old.stream_bitrate_kbps) != (new.codec, new.stream_bitrate_kbps)


Callback = Callable[[DeviceChange], None]


class _Unset:
    """Marker for "leave as it is" where ``None`` is a meaningful value."""


UNSET: Final = _Unset()


class DeviceRegistry:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._devices: dict[str, RegisteredDevice] = {}
        self._callbacks: tuple[Callback, ...] = ()
        self._lock = threading.Lock()
        self._write = threading.RLock()

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback`` on every change from now on; returns the unsubscribe function."""
        with self._lock:
            self._callbacks = (*self._callbacks, callback)

        def unsubscribe() -> None:
            with self._lock:
                kept = list(self._callbacks)
                if callback in kept:
                    kept.remove(callback)
                self._callbacks = tuple(kept)

        return unsubscribe

    def follow(
        self,
        device_id: str,
        push: Callable[[StreamingParams | None], None],
        *,
        may_use: Callable[[str | None], bool] = lambda owner: True,
    ) -> Callable[[], None]:
        """Push one device's parameters now and after each of its changes; returns the
        unsubscribe function.

        This is how a running stream hears its device, instead of asking at every track
        boundary. ``None`` is pushed when the device is gone or its owner is one that
        ``may_use`` refuses (an admin moved it to another listener): the stream keeps what
        it plays. Subscribing and the first push happen under the writers' lock, so no
        change falls between them and every push comes after the ones before it. ``push``
        runs on the thread that made the change: it must be quick (hand the value over).
        """

        def on_change(change: DeviceChange) -> None:
            if change.device_id == device_id:
                push(_usable(change.device if change.kind != "removed" else None, may_use))

        with self._write:
            unsubscribe = self.subscribe(on_change)
            with self._lock:
                current = self._devices.get(device_id)
            try:
                push(_usable(current, may_use))
            except BaseException:
                unsubscribe()
                raise
        return unsubscribe

    @property
    def subscriber_count(self) -> int:
        """How many callbacks are subscribed (each following stream holds one)."""
        with self._lock:
            return len(self._callbacks)

    def register(
        self,
        config: EdgeDeviceConfig,
        user_id: str | None = None,
        *,
        preferences: Mapping[str, object] | StreamingPreferences | None = None,
        takeover: bool = False,
    ) -> StreamingParams:
        """Add a device, or replace one with the same id (a device registering again).

        Replacing is only for the same owner: an id registered to someone else (or to no
        one, when ``user_id`` is given, and the other way round) raises DeviceConflict and
        changes nothing, unless ``takeover`` says the caller may move the device.
        """
        prefs = _preferences(preferences)
        params = optimize_streaming(config, prefs)
        with self._write:
            with self._lock:
                now = self._clock()
                old = self._devices.get(config.device_id)
                if old is not None and old.user_id != user_id and not takeover:
                    raise DeviceConflict(
                        f"device {config.device_id!r} is registered to another listener"
                    )
                new = RegisteredDevice(
                    config,
                    user_id,
                    prefs,
                    params,
                    registered_at=now,
                    updated_at=now,
                    version=1 if old is None else old.version + 1,
                )
                self._devices[config.device_id] = new
            self._notify(DeviceChange("registered", new, old))
        return params

    def update(
        self,
        device_id: str,
        *,
        network_type: NetworkType | str | None = None,
        bandwidth_mbps: float | None = None,
        battery_level: float | None = None,
        battery_powered: bool | None = None,
        preferences: Mapping[str, object] | StreamingPreferences | _Unset | None = UNSET,
    ) -> StreamingParams:
        """Apply a network, battery or preference change and return the new parameters.

        ``None`` leaves a field as it is (``preferences=None`` clears them). Invalid values
        raise InvalidInput and change nothing; an update that changes nothing notifies no
        one.
        """
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("network_type", network_type),
                ("bandwidth_mbps", bandwidth_mbps),
                ("battery_level", battery_level),
                ("battery_powered", battery_powered),
            )
            if value is not None
        }
        new_prefs = None if isinstance(preferences, _Unset) else _preferences(preferences)
        with self._write:
            with self._lock:
                old = self._get(device_id)
            # Validation and optimization run outside the state lock: readers go on.
            config = dataclasses.replace(old.config, **changes) if changes else old.config
            prefs = old.preferences if new_prefs is None else new_prefs
            if config == old.config and prefs == old.preferences:
                return old.params
            params = optimize_streaming(config, prefs)
            with self._lock:
                new = dataclasses.replace(
                    old,
                    config=config,
                    preferences=prefs,
                    params=params,
                    updated_at=self._clock(),
                    version=old.version + 1,
                )
                self._devices[device_id] = new
            self._notify(DeviceChange("updated", new, old))
        return params

    def remove(self, device_id: str) -> None:
        with self._write:
            with self._lock:
                old = self._get(device_id)
                del self._devices[device_id]
            self._notify(DeviceChange("removed", old, old))

    def get(self, device_id: str) -> RegisteredDevice:
        with self._lock:
            return self._get(device_id)

    def params(self, device_id: str) -> StreamingParams:
        """The device's current parameters (computed at its last change)."""
        return self.get(device_id).params

    def for_user(self, user_id: str) -> list[RegisteredDevice]:
        """The devices bound to a listener, oldest registration first."""
        with self._lock:
            found = [d for d in self._devices.values() if d.user_id == user_id]
        return sorted(found, key=lambda d: (d.registered_at, d.config.device_id))

    def devices(self) -> list[RegisteredDevice]:
        with self._lock:
            return list(self._devices.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._devices)

    def __contains__(self, device_id: object) -> bool:
        with self._lock:
            return device_id in self._devices

    def _get(self, device_id: str) -> RegisteredDevice:
        found = self._devices.get(device_id)
        if found is None:
            raise UnknownDevice(f"no device registered with id {device_id!r}")
        return found

    def _notify(self, change: DeviceChange) -> None:
        for callback in self._callbacks:
            try:
                callback(change)
            except Exception:
                logger.exception("device change callback %r failed", callback)


def _usable(
    device: RegisteredDevice | None, may_use: Callable[[str | None], bool]
) -> StreamingParams | None:
    return device.params if device is not None and may_use(device.user_id) else None


def _preferences(
    preferences: Mapping[str, object] | StreamingPreferences | None,
) -> StreamingPreferences:
    if isinstance(preferences, StreamingPreferences):
        return preferences
    return StreamingPreferences.from_mapping(preferences)
